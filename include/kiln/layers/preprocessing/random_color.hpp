// Keras's colour augmentation layers, channels last (see image_preprocessing.hpp for shapes,
// seeds and training). In training each image gets its own random factor; the result is clipped
// to value_range (default [0, 255], the pixels' range). Outside training images pass unchanged.
//   RandomContrast(factor)    y = (x - mean) * f + mean, mean per image and channel over height and
//       width, f uniform in [1 - lower, 1 + upper]; one number means lower = upper (Keras's
//       documented reading); each in [0, 1].
//   RandomBrightness(factor)  y = x + d * (value_range[1] - value_range[0]), d uniform in the
//       factor's range (one number f: [-f, f]; values in [-1, 1]).
// Both pass gradients to their input (zero where the clip cuts).
#pragma once
#include <utility>

#include "kiln/layers/preprocessing/image_preprocessing.hpp"

namespace kiln::layers {

struct ColorAugmentationOptions {
  std::pair<double, double> value_range = {0.0, 255.0};
  std::optional<std::uint64_t> seed;
  Shape input_shape = {};
  std::string name;
};

class RandomContrast : public ImagePreprocessingLayer {
 public:
  explicit RandomContrast(Factor factor, ColorAugmentationOptions options = {});
  nlohmann::json get_config() const override;
  // The range the contrast factor f is drawn from.
  std::pair<double, double> range() const { return range_; }

 protected:
  Tensor forward(const Tensor& x, bool training) override;

 private:
  Factor factor_;
  ColorAugmentationOptions options_;
  std::pair<double, double> range_;
};

class RandomBrightness : public ImagePreprocessingLayer {
 public:
  explicit RandomBrightness(Factor factor, ColorAugmentationOptions options = {});
  nlohmann::json get_config() const override;
  // The range d is drawn from (before scaling by the value range's width).
  std::pair<double, double> range() const { return range_; }

 protected:
  Tensor forward(const Tensor& x, bool training) override;

 private:
  Factor factor_;
  ColorAugmentationOptions options_;
  std::pair<double, double> range_;
};

}  // namespace kiln::layers
