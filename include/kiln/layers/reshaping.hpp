// Layers that only change shape: Flatten and Reshape.
#pragma once
#include "kiln/layers/layer.hpp"

namespace kiln::layers {

// [batch, d1, d2, ...] -> [batch, d1 * d2 * ...]. Channels-last data flattens
// in (height, width, channel) order, as in Keras.
class Flatten : public Layer {
 public:
  explicit Flatten(std::string name = "");
  Shape compute_output_shape(const Shape& input_shape) const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;
};

// [batch, ...] -> [batch, target_shape...]; one entry of target_shape may be -1.
class Reshape : public Layer {
 public:
  explicit Reshape(Shape target_shape, std::string name = "");
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;

 private:
  Shape target_shape_;
};

}  // namespace kiln::layers
