// ActivityRegularization (Keras's): passes its input through unchanged and adds Keras's activity
// penalty on it to the loss, (l1 * sum(|x|) + l2 * sum(x^2)) / batch size, as an
// activity_regularizer = L1L2(l1, l2) on the layer before would.
//   model.add(Dense(64, "relu"));
//   model.add(ActivityRegularization(0.0, 1e-4));
#pragma once
#include "kiln/layers/layer.hpp"

namespace kiln::layers {

class ActivityRegularization : public Layer {
 public:
  explicit ActivityRegularization(double l1 = 0.0, double l2 = 0.0, std::string name = "");

  double l1() const { return l1_; }
  double l2() const { return l2_; }
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;
  // The penalty on the last call's input (none before a call).
  std::vector<Tensor> regularization_losses() const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;
  bool accepts(const Shape&, const Shape&) const override { return true; }  // any shape

 private:
  double l1_, l2_;
  Tensor activity_;
};

}  // namespace kiln::layers
