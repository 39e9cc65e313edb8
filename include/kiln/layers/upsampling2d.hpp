// UpSampling2D: repeats every pixel as a size.h x size.w block (nearest
// neighbour), [batch, h, w, c] -> [batch, h * size.h, w * size.w, c].
#pragma once
#include "kiln/layers/layer.hpp"

namespace kiln::layers {

class UpSampling2D : public Layer {
 public:
  // Keras also offers interpolation="bilinear"; Kiln has "nearest" only, and
  // says so for anything else.
  explicit UpSampling2D(Size2 size = 2, std::string interpolation = "nearest", std::string name = "");
  Size2 size() const { return size_; }
  const std::string& interpolation() const { return interpolation_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;
  bool accepts(const Shape& built, const Shape& actual) const override;

 private:
  Size2 size_;
  std::string interpolation_;
};

}  // namespace kiln::layers
