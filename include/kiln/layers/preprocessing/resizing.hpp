// Keras's sizing layers, channels last (see image_preprocessing.hpp for the shapes they take):
//   Resizing(height, width)   every image resized to [height, width] (tf.image.resize: bilinear or
//                             nearest, half-pixel centres, no antialiasing), in training and inference;
//                             crop_to_aspect_ratio first crops the largest centred window of the
//                             target's aspect ratio (Keras's smart_resize).
//   CenterCrop(height, width) the centred [height, width] window (offsets int((H - height) / 2),
//                             int((W - width) / 2)); an image smaller than that in either side is
//                             smart-resized instead, as Keras does.
//   RandomCrop(height, width) in training, a window at a random offset (uniform over
//                             [0, H - height] x [0, W - width], one per image) when the image is
//                             larger in both sides; otherwise, and in inference, smart_resize —
//                             what Keras documents (so the output is [height, width] either way).
// All three pass gradients to their input (cropping and resizing are linear).
#pragma once
#include "kiln/layers/preprocessing/image_preprocessing.hpp"

namespace kiln::layers {

struct ResizingOptions {
  std::string interpolation = "bilinear";  // or "nearest"
  bool crop_to_aspect_ratio = false;
  Shape input_shape = {};
  std::string name;
};

class Resizing : public ImagePreprocessingLayer {
 public:
  Resizing(std::int64_t height, std::int64_t width, ResizingOptions options = {});
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;

 private:
  std::int64_t height_, width_;
  ResizingOptions options_;
};

class CenterCrop : public ImagePreprocessingLayer {
 public:
  CenterCrop(std::int64_t height, std::int64_t width, Shape input_shape = {}, std::string name = "");
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;

 private:
  std::int64_t height_, width_;
};

class RandomCrop : public ImagePreprocessingLayer {
 public:
  RandomCrop(std::int64_t height, std::int64_t width, std::optional<std::uint64_t> seed = std::nullopt,
             Shape input_shape = {}, std::string name = "");
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;

 private:
  std::int64_t height_, width_;
};

}  // namespace kiln::layers
