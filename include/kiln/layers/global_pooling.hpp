// Global pooling: the mean or maximum over every step (1-D: [batch, steps,
// channels]) or pixel (2-D: [batch, height, width, channels]) of each channel,
// as Keras's GlobalAveragePooling1D/2D and GlobalMaxPooling1D/2D.
// Output [batch, channels], or with keepdims [batch, 1, channels] / [batch, 1, 1, channels].
#pragma once
#include "kiln/layers/layer.hpp"

namespace kiln::layers {

struct GlobalPoolingOptions {
  std::string data_format = "channels_last";  // the only layout Kiln has
  bool keepdims = false;
  std::string name;
};

class GlobalPooling : public Layer {
 public:
  bool keepdims() const { return options_.keepdims; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  GlobalPooling(const char* base_name, const char* type, int spatial_axes, GlobalPoolingOptions options);
  // Any number of steps or pixels, the same channels.
  bool accepts(const Shape& built, const Shape& actual) const override;
  int spatial_axes() const { return spatial_axes_; }
  // Reshapes [batch, channels] (or the keepdims form) into this layer's output.
  Tensor finish(const Tensor& pooled) const;

 private:
  int spatial_axes_;
  GlobalPoolingOptions options_;
};

class GlobalAveragePooling1D : public GlobalPooling {
 public:
  explicit GlobalAveragePooling1D(GlobalPoolingOptions options = {});

 protected:
  Tensor forward(const Tensor& x, bool training) override;
};

class GlobalAveragePooling2D : public GlobalPooling {
 public:
  explicit GlobalAveragePooling2D(GlobalPoolingOptions options = {});

 protected:
  Tensor forward(const Tensor& x, bool training) override;
};

class GlobalMaxPooling1D : public GlobalPooling {
 public:
  explicit GlobalMaxPooling1D(GlobalPoolingOptions options = {});

 protected:
  Tensor forward(const Tensor& x, bool training) override;
};

class GlobalMaxPooling2D : public GlobalPooling {
 public:
  explicit GlobalMaxPooling2D(GlobalPoolingOptions options = {});

 protected:
  Tensor forward(const Tensor& x, bool training) override;
};

}  // namespace kiln::layers
