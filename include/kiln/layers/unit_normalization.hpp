// UnitNormalization: each sample divided by its L2 norm along `axis`
// (Keras's: x / sqrt(max(sum(x^2), 1e-12)), so zeros stay zeros).
#pragma once
#include <vector>

#include "kiln/layers/layer.hpp"

namespace kiln::layers {

class UnitNormalization : public Layer {
 public:
  // Axes counted as in Keras: the batch axis is 0, -1 the last.
  explicit UnitNormalization(int axis = -1, std::string name = "");
  explicit UnitNormalization(std::vector<int> axes, std::string name = "");
  const std::vector<int>& axes() const { return axes_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  bool accepts(const Shape& built, const Shape& actual) const override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  std::vector<int> axes_;
  bool list_ = false;  // written as a list in the config (Keras keeps the form it was given)
};

}  // namespace kiln::layers
