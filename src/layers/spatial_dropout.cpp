#include "kiln/layers/spatial_dropout.hpp"

#include <nlohmann/json.hpp>

#include "kiln/ops.hpp"
#include "layers/sequence_arguments.hpp"

namespace kiln::layers {

SpatialDropout::SpatialDropout(const char* base_name, const char* type, int spatial_axes, double rate,
                               std::optional<std::uint64_t> seed, std::string data_format, std::string name)
    : Layer(name.empty() ? unique_name(base_name) : name, type),
      spatial_axes_(spatial_axes),
      rate_(rate),
      seed_(seed),
      data_format_(std::move(data_format)) {
  if (!(rate_ >= 0.0 && rate_ < 1.0)) throw Error(describe() + ": rate must be in [0, 1), got " + std::to_string(rate));
  layers_detail::check_data_format(describe(), data_format_);
}

Shape SpatialDropout::compute_output_shape(const Shape& in) const {
  if (static_cast<int>(in.size()) != spatial_axes_ + 1) {
    throw Error(describe() + ": expected inputs of shape " +
                (spatial_axes_ == 1 ? "[batch, steps, channels]" : "[batch, height, width, channels]") +
                ", got [batch" + (in.empty() ? std::string("]") : ", " + shape_str(in).substr(1)));
  }
  return in;
}

bool SpatialDropout::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == built.size() && actual.back() == built.back();
}

nlohmann::json SpatialDropout::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["rate"] = rate_;
  c["seed"] = seed_ ? nlohmann::json(*seed_) : nlohmann::json(nullptr);
  if (spatial_axes_ == 2) c["data_format"] = data_format_;
  return c;
}

void SpatialDropout::build_weights(const Shape&, Generator& generator) {
  generator_.seed_with(seed_ ? *seed_ : generator.next_u64());
}

Tensor SpatialDropout::forward(const Tensor& x, bool training) {
  if (!training || rate_ == 0.0) return x;
  Shape mask_shape(x.shape().size(), 1);
  mask_shape.front() = x.size(0);
  mask_shape.back() = x.size(-1);
  Tensor mask = Tensor::empty(mask_shape, DType::Float64);
  double* m = mask.data<double>();
  const double scale = 1.0 / (1.0 - rate_);
  for (std::int64_t i = 0; i < mask.numel(); ++i) m[i] = generator_.uniform() < rate_ ? 0.0 : scale;
  return x * mask.to(x.dtype());
}

SpatialDropout1D::SpatialDropout1D(double rate, std::optional<std::uint64_t> seed, std::string name)
    : SpatialDropout("spatial_dropout1d", "SpatialDropout1D", 1, rate, seed, "channels_last", std::move(name)) {}

SpatialDropout2D::SpatialDropout2D(double rate, std::string data_format, std::optional<std::uint64_t> seed,
                                   std::string name)
    : SpatialDropout("spatial_dropout2d", "SpatialDropout2D", 2, rate, seed, std::move(data_format), std::move(name)) {}

}  // namespace kiln::layers
