#include "kiln/layers/pooling1d.hpp"

#include <nlohmann/json.hpp>

#include "kiln/ops.hpp"
#include "layers/image_arguments.hpp"
#include "layers/sequence_arguments.hpp"
#include "ops/padding.hpp"

namespace kiln::layers {

Pooling1D::Pooling1D(const char* base_name, const char* type, std::int64_t pool_size, Pooling1DOptions options)
    : Layer(options.name.empty() ? unique_name(base_name) : options.name, type),
      pool_size_(pool_size),
      options_(std::move(options)) {
  if (pool_size_ <= 0) throw Error(describe() + ": pool_size must be positive, got " + std::to_string(pool_size_));
  if (strides() <= 0) throw Error(describe() + ": strides must be positive, got " + std::to_string(strides()));
  layers_detail::check_padding(describe(), options_.padding);
  layers_detail::check_data_format(describe(), options_.data_format);
}

Shape Pooling1D::compute_output_shape(const Shape& in) const {
  const std::string who = describe();
  layers_detail::check_sequence_sample(who, in);
  const auto w = ops_detail::window_1d(in[0], pool_size_, strides(), options_.padding, who.c_str());
  return {w.out, in[1]};
}

bool Pooling1D::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == 2 && actual[1] == built[1];
}

nlohmann::json Pooling1D::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["pool_size"] = {pool_size_};
  c["strides"] = {strides()};
  c["padding"] = options_.padding;
  c["data_format"] = options_.data_format;
  return c;
}

Pool2dParams Pooling1D::pool_params() const {
  Pool2dParams p;
  p.pool_h = p.stride_h = 1;
  p.pool_w = pool_size_, p.stride_w = strides();
  p.padding = options_.padding;
  return p;
}

namespace {

Tensor as_image(const Tensor& x) { return reshape(x, {x.size(0), 1, x.size(1), x.size(2)}); }
Tensor as_sequence(const Tensor& y) { return reshape(y, {y.size(0), y.size(2), y.size(3)}); }

}  // namespace

MaxPooling1D::MaxPooling1D(std::int64_t pool_size, Pooling1DOptions options)
    : Pooling1D("max_pooling1d", "MaxPooling1D", pool_size, std::move(options)) {}

Tensor MaxPooling1D::forward(const Tensor& x, bool) { return as_sequence(max_pool2d(as_image(x), pool_params())); }

AveragePooling1D::AveragePooling1D(std::int64_t pool_size, Pooling1DOptions options)
    : Pooling1D("average_pooling1d", "AveragePooling1D", pool_size, std::move(options)) {}

Tensor AveragePooling1D::forward(const Tensor& x, bool) { return as_sequence(avg_pool2d(as_image(x), pool_params())); }

}  // namespace kiln::layers
