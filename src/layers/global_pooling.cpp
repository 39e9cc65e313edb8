#include "kiln/layers/global_pooling.hpp"

#include <nlohmann/json.hpp>

#include "kiln/ops.hpp"
#include "layers/sequence_arguments.hpp"

namespace kiln::layers {

GlobalPooling::GlobalPooling(const char* base_name, const char* type, int spatial_axes, GlobalPoolingOptions options)
    : Layer(options.name.empty() ? unique_name(base_name) : options.name, type),
      spatial_axes_(spatial_axes),
      options_(std::move(options)) {
  layers_detail::check_data_format(describe(), options_.data_format);
}

Shape GlobalPooling::compute_output_shape(const Shape& in) const {
  if (static_cast<int>(in.size()) != spatial_axes_ + 1) {
    throw Error(describe() + ": expected inputs of shape " +
                (spatial_axes_ == 1 ? "[batch, steps, channels]" : "[batch, height, width, channels]") +
                ", got [batch" + (in.empty() ? std::string("]") : ", " + shape_str(in).substr(1)));
  }
  for (int i = 0; i < spatial_axes_; ++i) {
    if (in[i] <= 0) throw Error(describe() + ": cannot pool over an empty axis, input " + shape_str(in));
  }
  if (!options_.keepdims) return {in.back()};
  Shape out(in.size(), 1);
  out.back() = in.back();
  return out;
}

bool GlobalPooling::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == built.size() && actual.back() == built.back();
}

nlohmann::json GlobalPooling::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["data_format"] = options_.data_format;
  c["keepdims"] = options_.keepdims;
  return c;
}

Tensor GlobalPooling::finish(const Tensor& pooled) const {
  Shape out{pooled.size(0)};
  if (options_.keepdims) out.insert(out.end(), static_cast<std::size_t>(spatial_axes_), 1);
  out.push_back(pooled.size(-1));
  return reshape(pooled, out);
}

namespace {

// The maximum over whole images: one pooling window covering each image.
Tensor max_over_pixels(const Tensor& x4) {
  Pool2dParams p;
  p.pool_h = p.stride_h = x4.size(1);
  p.pool_w = p.stride_w = x4.size(2);
  return max_pool2d(x4, p);
}

}  // namespace

GlobalAveragePooling1D::GlobalAveragePooling1D(GlobalPoolingOptions options)
    : GlobalPooling("global_average_pooling1d", "GlobalAveragePooling1D", 1, std::move(options)) {}

Tensor GlobalAveragePooling1D::forward(const Tensor& x, bool) { return finish(mean(x, {1})); }

GlobalAveragePooling2D::GlobalAveragePooling2D(GlobalPoolingOptions options)
    : GlobalPooling("global_average_pooling2d", "GlobalAveragePooling2D", 2, std::move(options)) {}

Tensor GlobalAveragePooling2D::forward(const Tensor& x, bool) { return finish(mean(x, {1, 2})); }

GlobalMaxPooling1D::GlobalMaxPooling1D(GlobalPoolingOptions options)
    : GlobalPooling("global_max_pooling1d", "GlobalMaxPooling1D", 1, std::move(options)) {}

Tensor GlobalMaxPooling1D::forward(const Tensor& x, bool) {
  return finish(max_over_pixels(reshape(x, {x.size(0), 1, x.size(1), x.size(2)})));
}

GlobalMaxPooling2D::GlobalMaxPooling2D(GlobalPoolingOptions options)
    : GlobalPooling("global_max_pooling2d", "GlobalMaxPooling2D", 2, std::move(options)) {}

Tensor GlobalMaxPooling2D::forward(const Tensor& x, bool) { return finish(max_over_pixels(x)); }

}  // namespace kiln::layers
