#include "kiln/layers/preprocessing/resizing.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "kiln/ops/image_transform.hpp"

namespace kiln::layers {

namespace {

void check_target_size(const std::string& layer, std::int64_t height, std::int64_t width) {
  if (height < 1) throw Error(layer + ": height must be at least 1, got " + std::to_string(height));
  if (width < 1) throw Error(layer + ": width must be at least 1, got " + std::to_string(width));
}

// Keras's smart_resize: the largest centred window of the target's aspect ratio, resized (bilinear).
Tensor smart_resize_images(const Tensor& x, std::int64_t height, std::int64_t width) {
  return resize_images(x, height, width, "bilinear", /*crop_to_aspect_ratio=*/true);
}

}  // namespace

Resizing::Resizing(std::int64_t height, std::int64_t width, ResizingOptions options)
    : ImagePreprocessingLayer(options.name.empty() ? unique_name("resizing") : options.name, "Resizing", false,
                              std::nullopt),
      height_(height),
      width_(width),
      options_(std::move(options)) {
  check_target_size(describe(), height_, width_);
  if (options_.interpolation != "bilinear" && options_.interpolation != "nearest") {
    throw Error(describe() +
                ": interpolation must be \"bilinear\" or \"nearest\" (Keras's bicubic, lanczos3, "
                "lanczos5 and area are not in Kiln), got \"" +
                options_.interpolation + "\"");
  }
  set_declared_input_shape(options_.input_shape);
}

Shape Resizing::compute_output_shape(const Shape& in) const {
  check_images(in);
  return {height_, width_, in[2]};
}

Tensor Resizing::forward(const Tensor& x, bool) {
  return resize_images(x, height_, width_, options_.interpolation, options_.crop_to_aspect_ratio);
}

nlohmann::json Resizing::get_config() const {
  nlohmann::json c = image_config();
  c["height"] = height_;
  c["width"] = width_;
  c["interpolation"] = options_.interpolation;
  c["crop_to_aspect_ratio"] = options_.crop_to_aspect_ratio;
  c["pad_to_aspect_ratio"] = false;
  c["fill_mode"] = "constant";
  c["fill_value"] = 0.0;
  return c;
}

CenterCrop::CenterCrop(std::int64_t height, std::int64_t width, Shape input_shape, std::string name)
    : ImagePreprocessingLayer(name.empty() ? unique_name("center_crop") : name, "CenterCrop", false, std::nullopt),
      height_(height),
      width_(width) {
  check_target_size(describe(), height_, width_);
  set_declared_input_shape(input_shape);
}

Shape CenterCrop::compute_output_shape(const Shape& in) const {
  check_images(in);
  return {height_, width_, in[2]};
}

Tensor CenterCrop::forward(const Tensor& x, bool) {
  const std::int64_t h = x.size(1), w = x.size(2);
  if (h < height_ || w < width_) return smart_resize_images(x, height_, width_);
  return narrow(narrow(x, 1, (h - height_) / 2, height_), 2, (w - width_) / 2, width_);
}

nlohmann::json CenterCrop::get_config() const {
  nlohmann::json c = image_config();
  c["height"] = height_;
  c["width"] = width_;
  return c;
}

RandomCrop::RandomCrop(std::int64_t height, std::int64_t width, std::optional<std::uint64_t> seed, Shape input_shape,
                       std::string name)
    : ImagePreprocessingLayer(name.empty() ? unique_name("random_crop") : name, "RandomCrop", true, seed),
      height_(height),
      width_(width) {
  check_target_size(describe(), height_, width_);
  set_declared_input_shape(input_shape);
}

Shape RandomCrop::compute_output_shape(const Shape& in) const {
  check_images(in);
  return {height_, width_, in[2]};
}

Tensor RandomCrop::forward(const Tensor& x, bool training) {
  const std::int64_t n = x.size(0), h = x.size(1), w = x.size(2);
  // Keras 3 crops at random only when the image is larger in both sides.
  if (!training || h <= height_ || w <= width_) return smart_resize_images(x, height_, width_);
  std::vector<Tensor> crops;
  crops.reserve(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const auto top = static_cast<std::int64_t>(generator_.below(static_cast<std::uint64_t>(h - height_ + 1)));
    const auto left = static_cast<std::int64_t>(generator_.below(static_cast<std::uint64_t>(w - width_ + 1)));
    crops.push_back(narrow(narrow(narrow(x, 0, i, 1), 1, top, height_), 2, left, width_));
  }
  return n == 1 ? crops[0] : concat(crops, 0);
}

nlohmann::json RandomCrop::get_config() const {
  nlohmann::json c = image_config();
  c["height"] = height_;
  c["width"] = width_;
  return c;
}

}  // namespace kiln::layers
