// Rescaling: y = x * scale + offset (Keras's preprocessing layer, e.g. 1/255).
#pragma once
#include "kiln/layers/layer.hpp"

namespace kiln::layers {

class Rescaling : public Layer {
 public:
  explicit Rescaling(double scale, double offset = 0.0, Shape input_shape = {}, std::string name = "");
  double scale() const { return scale_; }
  double offset() const { return offset_; }
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;

 private:
  double scale_, offset_;
};

}  // namespace kiln::layers
