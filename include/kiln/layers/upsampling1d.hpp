// UpSampling1D: repeats each step `size` times, [batch, steps, channels] ->
// [batch, steps * size, channels] (Keras's).
#pragma once
#include "kiln/layers/layer.hpp"

namespace kiln::layers {

class UpSampling1D : public Layer {
 public:
  explicit UpSampling1D(std::int64_t size = 2, std::string name = "");
  std::int64_t size() const { return size_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  bool accepts(const Shape& built, const Shape& actual) const override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  std::int64_t size_;
};

}  // namespace kiln::layers
