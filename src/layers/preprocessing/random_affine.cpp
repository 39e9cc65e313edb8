#include "kiln/layers/preprocessing/random_affine.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>

#include "kiln/error.hpp"
#include "kiln/ops/image_transform.hpp"

namespace kiln::layers {

std::array<double, 8> translation_transform(double dy, double dx) { return {1, 0, -dx, 0, 1, -dy, 0, 0}; }

// Keras's rotation matrix: a turn about ((W - 1) / 2, (H - 1) / 2), output to input.
std::array<double, 8> rotation_transform(double angle, std::int64_t height, std::int64_t width) {
  const double c = std::cos(angle), s = std::sin(angle);
  const double w1 = double(width - 1), h1 = double(height - 1);
  const double x_offset = (w1 - (c * w1 - s * h1)) / 2.0;
  const double y_offset = (h1 - (s * w1 + c * h1)) / 2.0;
  return {c, -s, x_offset, s, c, y_offset, 0, 0};
}

std::array<double, 8> zoom_transform(double zoom_y, double zoom_x, std::int64_t height, std::int64_t width) {
  return {zoom_x, 0, double(width - 1) / 2.0 * (1.0 - zoom_x), 0, zoom_y, double(height - 1) / 2.0 * (1.0 - zoom_y),
          0,      0};
}

AffineAugmentation::AffineAugmentation(std::string base_name, std::string type, AffineAugmentationOptions options)
    : ImagePreprocessingLayer(options.name.empty() ? unique_name(base_name) : options.name, std::move(type), true,
                              options.seed),
      options_(std::move(options)) {
  const std::string& f = options_.fill_mode;
  if (f != "reflect" && f != "wrap" && f != "constant" && f != "nearest") {
    throw Error(describe() + ": fill_mode must be \"reflect\", \"wrap\", \"constant\" or \"nearest\", got \"" + f +
                "\"");
  }
  if (options_.interpolation != "bilinear" && options_.interpolation != "nearest") {
    throw Error(describe() + ": interpolation must be \"bilinear\" or \"nearest\", got \"" + options_.interpolation +
                "\"");
  }
  set_declared_input_shape(options_.input_shape);
}

nlohmann::json AffineAugmentation::affine_config() const {
  nlohmann::json c = image_config();
  c["fill_mode"] = options_.fill_mode;
  c["interpolation"] = options_.interpolation;
  c["fill_value"] = options_.fill_value;
  return c;
}

template <typename Draw>
Tensor AffineAugmentation::transform_each(const Tensor& x, Draw draw) {
  const std::int64_t n = x.size(0), h = x.size(1), w = x.size(2);
  std::vector<AffineTransform> transforms;
  transforms.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) transforms.push_back(draw(h, w));
  return affine_transform(x, transforms, options_.interpolation, options_.fill_mode, options_.fill_value);
}

RandomTranslation::RandomTranslation(Factor height_factor, Factor width_factor, AffineAugmentationOptions options)
    : AffineAugmentation("random_translation", "RandomTranslation", std::move(options)),
      height_factor_(std::move(height_factor)),
      width_factor_(std::move(width_factor)) {
  height_ = symmetric_range("height_factor", height_factor_, -1.0, 1.0);
  width_ = symmetric_range("width_factor", width_factor_, -1.0, 1.0);
}

Tensor RandomTranslation::forward(const Tensor& x, bool training) {
  if (!training) return x;
  return transform_each(x, [this](std::int64_t h, std::int64_t w) {
    const double dy = generator_.uniform(height_.first, height_.second) * double(h);
    const double dx = generator_.uniform(width_.first, width_.second) * double(w);
    return translation_transform(dy, dx);
  });
}

nlohmann::json RandomTranslation::get_config() const {
  nlohmann::json c = affine_config();
  c["height_factor"] = factor_to_json(height_factor_);
  c["width_factor"] = factor_to_json(width_factor_);
  return c;
}

RandomRotation::RandomRotation(Factor factor, AffineAugmentationOptions options)
    : AffineAugmentation("random_rotation", "RandomRotation", std::move(options)), factor_(std::move(factor)) {
  range_ = symmetric_range("factor", factor_, -1.0, 1.0);
}

Tensor RandomRotation::forward(const Tensor& x, bool training) {
  if (!training) return x;
  return transform_each(x, [this](std::int64_t h, std::int64_t w) {
    const double turns = generator_.uniform(range_.first, range_.second);
    return rotation_transform(turns * 2.0 * std::numbers::pi, h, w);
  });
}

nlohmann::json RandomRotation::get_config() const {
  nlohmann::json c = affine_config();
  c["factor"] = factor_to_json(factor_);
  return c;
}

RandomZoom::RandomZoom(Factor height_factor, std::optional<Factor> width_factor, AffineAugmentationOptions options)
    : AffineAugmentation("random_zoom", "RandomZoom", std::move(options)),
      height_factor_(std::move(height_factor)),
      width_factor_(std::move(width_factor)) {
  height_ = symmetric_range("height_factor", height_factor_, -1.0, 1.0);
  width_ = width_factor_ ? symmetric_range("width_factor", *width_factor_, -1.0, 1.0) : height_;
}

Tensor RandomZoom::forward(const Tensor& x, bool training) {
  if (!training) return x;
  return transform_each(x, [this](std::int64_t h, std::int64_t w) {
    const double zoom_y = 1.0 + generator_.uniform(height_.first, height_.second);
    const double zoom_x = width_factor_ ? 1.0 + generator_.uniform(width_.first, width_.second) : zoom_y;
    return zoom_transform(zoom_y, zoom_x, h, w);
  });
}

nlohmann::json RandomZoom::get_config() const {
  nlohmann::json c = affine_config();
  c["height_factor"] = factor_to_json(height_factor_);
  c["width_factor"] = width_factor_ ? factor_to_json(*width_factor_) : nlohmann::json(nullptr);
  return c;
}

}  // namespace kiln::layers
