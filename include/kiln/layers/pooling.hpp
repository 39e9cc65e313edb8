// MaxPooling2D and AveragePooling2D over [batch, height, width, channels].
#pragma once
#include <optional>

#include "kiln/layers/layer.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

struct Pooling2DOptions {
  std::optional<Size2> strides;  // defaults to pool_size, as in Keras
  std::string padding = "valid";
  std::string name;
};

class Pooling2D : public Layer {
 public:
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  Size2 pool_size() const { return pool_size_; }
  Size2 strides() const { return options_.strides.value_or(pool_size_); }
  const std::string& padding() const { return options_.padding; }
  // The op-level settings this layer passes to kiln::max_pool2d / avg_pool2d.
  Pool2dParams pool_params() const;

 protected:
  Pooling2D(const char* base_name, const char* type, Size2 pool_size, Pooling2DOptions options);

 private:
  Size2 pool_size_;
  Pooling2DOptions options_;
};

class MaxPooling2D : public Pooling2D {
 public:
  explicit MaxPooling2D(Size2 pool_size = 2, Pooling2DOptions options = {});

 protected:
  Tensor forward(const Tensor& x, bool training) override;
};

class AveragePooling2D : public Pooling2D {
 public:
  explicit AveragePooling2D(Size2 pool_size = 2, Pooling2DOptions options = {});

 protected:
  Tensor forward(const Tensor& x, bool training) override;
};

}  // namespace kiln::layers
