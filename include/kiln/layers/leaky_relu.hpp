// LeakyReLU: max(x, 0) + alpha * min(x, 0), as a layer (Keras's default alpha is 0.3).
#pragma once
#include "kiln/layers/layer.hpp"

namespace kiln::layers {

class LeakyReLU : public Layer {
 public:
  explicit LeakyReLU(double alpha = 0.3, std::string name = "");
  double alpha() const { return alpha_; }
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;
  bool accepts(const Shape&, const Shape&) const override { return true; }  // elementwise: any shape

 private:
  double alpha_;
};

}  // namespace kiln::layers
