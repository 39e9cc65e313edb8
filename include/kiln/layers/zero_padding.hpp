// ZeroPadding1D and ZeroPadding2D: zeros added at the edges of sequences
// [batch, steps, channels] and images [batch, height, width, channels] (Keras's).
#pragma once
#include "kiln/layers/layer.hpp"
#include "kiln/layers/margins.hpp"

namespace kiln::layers {

class ZeroPadding1D : public Layer {
 public:
  explicit ZeroPadding1D(Margins1 padding = 1, std::string name = "");
  const Margins1& padding() const { return padding_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  bool accepts(const Shape& built, const Shape& actual) const override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  Margins1 padding_;
};

class ZeroPadding2D : public Layer {
 public:
  explicit ZeroPadding2D(Margins2 padding = 1, std::string data_format = "channels_last", std::string name = "");
  const Margins2& padding() const { return padding_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  bool accepts(const Shape& built, const Shape& actual) const override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  Margins2 padding_;
  std::string data_format_;
};

}  // namespace kiln::layers
