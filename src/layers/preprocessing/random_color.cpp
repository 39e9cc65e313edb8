#include "kiln/layers/preprocessing/random_color.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

namespace {

void check_value_range(const std::string& layer, const std::pair<double, double>& range) {
  if (!std::isfinite(range.first) || !std::isfinite(range.second) || !(range.first < range.second)) {
    throw Error(layer + ": value_range must be (low, high) with low < high, got (" + std::to_string(range.first) +
                ", " + std::to_string(range.second) + ")");
  }
}

// One number per image of x [N, H, W, C], as a tensor [N, 1, 1, 1] of x's dtype.
Tensor per_image(const std::vector<double>& values, DType dtype) {
  return Tensor::from_vector(values, {static_cast<std::int64_t>(values.size()), 1, 1, 1}).to(dtype);
}

}  // namespace

RandomContrast::RandomContrast(Factor factor, ColorAugmentationOptions options)
    : ImagePreprocessingLayer(options.name.empty() ? unique_name("random_contrast") : options.name, "RandomContrast",
                              true, options.seed),
      factor_(std::move(factor)),
      options_(std::move(options)) {
  const auto& v = factor_.values;
  if (v.size() != 1 && v.size() != 2) {
    throw Error(describe() + ": factor must be one number or two, got " + std::to_string(v.size()));
  }
  const double lower = v[0], upper = v.size() == 2 ? v[1] : v[0];
  // Keras: f in [1 - lower, 1 + upper], lower and upper in [0, 1] (not ordered: they bound different sides).
  check_range("factor's lower", lower, lower, 0.0, 1.0);
  check_range("factor's upper", upper, upper, 0.0, 1.0);
  range_ = {1.0 - lower, 1.0 + upper};
  check_value_range(describe(), options_.value_range);
  set_declared_input_shape(options_.input_shape);
}

Tensor RandomContrast::forward(const Tensor& x, bool training) {
  if (!training) return x;
  std::vector<double> f(static_cast<std::size_t>(x.size(0)));
  for (double& v : f) v = generator_.uniform(range_.first, range_.second);
  const Tensor m = mean(x, {1, 2}, /*keepdims=*/true);
  return clip((x - m) * per_image(f, x.dtype()) + m, options_.value_range.first, options_.value_range.second);
}

nlohmann::json RandomContrast::get_config() const {
  nlohmann::json c = image_config();
  c["factor"] = factor_to_json(factor_);
  c["value_range"] = {options_.value_range.first, options_.value_range.second};
  return c;
}

RandomBrightness::RandomBrightness(Factor factor, ColorAugmentationOptions options)
    : ImagePreprocessingLayer(options.name.empty() ? unique_name("random_brightness") : options.name,
                              "RandomBrightness", true, options.seed),
      factor_(std::move(factor)),
      options_(std::move(options)) {
  range_ = symmetric_range("factor", factor_, -1.0, 1.0);
  check_value_range(describe(), options_.value_range);
  set_declared_input_shape(options_.input_shape);
}

Tensor RandomBrightness::forward(const Tensor& x, bool training) {
  if (!training) return x;
  const double width = options_.value_range.second - options_.value_range.first;
  std::vector<double> d(static_cast<std::size_t>(x.size(0)));
  for (double& v : d) v = generator_.uniform(range_.first, range_.second) * width;
  return clip(x + per_image(d, x.dtype()), options_.value_range.first, options_.value_range.second);
}

nlohmann::json RandomBrightness::get_config() const {
  nlohmann::json c = image_config();
  c["factor"] = factor_to_json(factor_);
  c["value_range"] = {options_.value_range.first, options_.value_range.second};
  return c;
}

}  // namespace kiln::layers
