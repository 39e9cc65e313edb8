#include "kiln/layers/pooling.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "layers/image_arguments.hpp"
#include "ops/padding.hpp"

namespace kiln::layers {

Pooling2D::Pooling2D(const char* base_name, const char* type, Size2 pool_size, Pooling2DOptions options)
    : Layer(options.name.empty() ? unique_name(base_name) : options.name, type),
      pool_size_(pool_size),
      options_(std::move(options)) {
  if (pool_size_.h <= 0 || pool_size_.w <= 0) throw Error(describe() + ": pool_size must be positive");
  if (strides().h <= 0 || strides().w <= 0) throw Error(describe() + ": strides must be positive");
  layers_detail::check_padding(describe(), options_.padding);
}

Shape Pooling2D::compute_output_shape(const Shape& in) const {
  layers_detail::check_image_sample(describe(), in);
  const std::string where = describe();
  const auto h = ops_detail::window_1d(in[0], pool_size_.h, strides().h, options_.padding, where.c_str());
  const auto w = ops_detail::window_1d(in[1], pool_size_.w, strides().w, options_.padding, where.c_str());
  return {h.out, w.out, in[2]};
}

nlohmann::json Pooling2D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["pool_size"] = {pool_size_.h, pool_size_.w};
  c["strides"] = {strides().h, strides().w};
  c["padding"] = options_.padding;
  return c;
}

Pool2dParams Pooling2D::pool_params() const {
  Pool2dParams p;
  p.pool_h = pool_size_.h, p.pool_w = pool_size_.w;
  p.stride_h = strides().h, p.stride_w = strides().w;
  p.padding = options_.padding;
  return p;
}

MaxPooling2D::MaxPooling2D(Size2 pool_size, Pooling2DOptions options)
    : Pooling2D("max_pooling2d", "MaxPooling2D", pool_size, std::move(options)) {}

Tensor MaxPooling2D::forward(const Tensor& x, bool) { return max_pool2d(x, pool_params()); }

AveragePooling2D::AveragePooling2D(Size2 pool_size, Pooling2DOptions options)
    : Pooling2D("average_pooling2d", "AveragePooling2D", pool_size, std::move(options)) {}

Tensor AveragePooling2D::forward(const Tensor& x, bool) { return avg_pool2d(x, pool_params()); }

}  // namespace kiln::layers
