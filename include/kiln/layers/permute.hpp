// Permute: reorders the axes of each sample (Keras's). dims lists, for each
// output axis, the input axis it takes, counting from 1 (the batch axis, 0,
// stays first): Permute({2, 1}) turns [batch, steps, features] into
// [batch, features, steps].
#pragma once
#include <vector>

#include "kiln/layers/layer.hpp"

namespace kiln::layers {

class Permute : public Layer {
 public:
  explicit Permute(std::vector<int> dims, std::string name = "");
  const std::vector<int>& dims() const { return dims_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;

 private:
  std::vector<int> dims_;
};

}  // namespace kiln::layers
