// Cropping1D and Cropping2D: entries removed at the edges of sequences
// [batch, steps, channels] and images [batch, height, width, channels] (Keras's).
#pragma once
#include "kiln/layers/layer.hpp"
#include "kiln/layers/margins.hpp"

namespace kiln::layers {

class Cropping1D : public Layer {
 public:
  explicit Cropping1D(Margins1 cropping = 1, std::string name = "");
  const Margins1& cropping() const { return cropping_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  bool accepts(const Shape& built, const Shape& actual) const override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  Margins1 cropping_;
};

class Cropping2D : public Layer {
 public:
  explicit Cropping2D(Margins2 cropping = 0, std::string data_format = "channels_last", std::string name = "");
  const Margins2& cropping() const { return cropping_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  bool accepts(const Shape& built, const Shape& actual) const override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  Margins2 cropping_;
  std::string data_format_;
};

}  // namespace kiln::layers
