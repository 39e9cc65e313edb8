// RepeatVector: [batch, features] -> [batch, n, features], the input repeated
// n times (Keras's; the bridge from an encoder's vector to a decoder's steps).
#pragma once
#include "kiln/layers/layer.hpp"

namespace kiln::layers {

class RepeatVector : public Layer {
 public:
  explicit RepeatVector(std::int64_t n, std::string name = "");
  std::int64_t n() const { return n_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;

 private:
  std::int64_t n_;
};

}  // namespace kiln::layers
