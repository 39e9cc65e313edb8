// Keras's geometric augmentation layers, channels last (see image_preprocessing.hpp for shapes,
// seeds and training). In training each image gets its own transform, applied by
// kiln::affine_transform (kiln/ops/image_transform.hpp; TensorFlow's ImageProjectiveTransformV3):
// output pixel (x, y) reads the input at a transformed point, brought inside the image by
// fill_mode — "reflect" (d c b a | a b c d | d c b a, the default), "wrap" (a b c d | a b c d),
// "nearest" (a a | a b c d | d d) or "constant" (fill_value) — with "bilinear" (default) or
// "nearest" interpolation. Outside training images pass unchanged. Gradients pass to the input.
//
//   RandomTranslation(height_factor, width_factor)  shifts by dy = u * H, dx = v * W pixels, u and v
//       uniform in the factors' ranges (one number f: [-f, f]; each value in [-1, 1]); positive
//       moves the image down / right.
//   RandomRotation(factor)  turns by an angle uniform in [lower, upper] * 2 pi about the image's
//       centre ((W - 1) / 2, (H - 1) / 2); positive is counter-clockwise. One number f: [-f, f];
//       values in [-1, 1].
//   RandomZoom(height_factor, width_factor)  zooms by z = 1 + u per axis, u uniform in the factor's
//       range (values in [-1, 1]; negative zooms in: z = 0.5 shows the centre at twice the size);
//       without width_factor both axes take the height's zoom.
#pragma once
#include <array>

#include "kiln/layers/preprocessing/image_preprocessing.hpp"

namespace kiln::layers {

struct AffineAugmentationOptions {
  std::string fill_mode = "reflect";
  std::string interpolation = "bilinear";
  std::optional<std::uint64_t> seed;
  double fill_value = 0.0;
  Shape input_shape = {};
  std::string name;
};

// The layers' transforms, exposed so that tests and users can apply a fixed one with
// kiln::affine_transform: [a0, a1, a2, b0, b1, b2, c0, c1] as there.
std::array<double, 8> translation_transform(double dy, double dx);
std::array<double, 8> rotation_transform(double angle, std::int64_t height, std::int64_t width);  // radians
std::array<double, 8> zoom_transform(double zoom_y, double zoom_x, std::int64_t height, std::int64_t width);

// What the three layers share: the options, their checks and config, and applying the transforms.
class AffineAugmentation : public ImagePreprocessingLayer {
 public:
  const AffineAugmentationOptions& options() const { return options_; }

 protected:
  AffineAugmentation(std::string base_name, std::string type, AffineAugmentationOptions options);
  nlohmann::json affine_config() const;
  // Draws one transform per image of x [N, H, W, C] with `draw(H, W)` and applies them.
  template <typename Draw>
  Tensor transform_each(const Tensor& x, Draw draw);

  AffineAugmentationOptions options_;
};

class RandomTranslation : public AffineAugmentation {
 public:
  RandomTranslation(Factor height_factor, Factor width_factor, AffineAugmentationOptions options = {});
  nlohmann::json get_config() const override;
  std::pair<double, double> height_range() const { return height_; }
  std::pair<double, double> width_range() const { return width_; }

 protected:
  Tensor forward(const Tensor& x, bool training) override;

 private:
  Factor height_factor_, width_factor_;
  std::pair<double, double> height_, width_;
};

class RandomRotation : public AffineAugmentation {
 public:
  explicit RandomRotation(Factor factor, AffineAugmentationOptions options = {});
  nlohmann::json get_config() const override;
  // The angles drawn, as fractions of a full turn.
  std::pair<double, double> range() const { return range_; }

 protected:
  Tensor forward(const Tensor& x, bool training) override;

 private:
  Factor factor_;
  std::pair<double, double> range_;
};

class RandomZoom : public AffineAugmentation {
 public:
  RandomZoom(Factor height_factor, std::optional<Factor> width_factor = std::nullopt,
             AffineAugmentationOptions options = {});
  nlohmann::json get_config() const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;

 private:
  Factor height_factor_;
  std::optional<Factor> width_factor_;
  std::pair<double, double> height_, width_;
};

}  // namespace kiln::layers
