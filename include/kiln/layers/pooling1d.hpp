// MaxPooling1D and AveragePooling1D over [batch, steps, channels] (Keras's).
// They run as 2-D pooling of height 1 on the same kernels; "same" padding
// averages over the real steps of each window only, as Keras does.
#pragma once
#include <optional>

#include "kiln/layers/layer.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

struct Pooling1DOptions {
  std::optional<std::int64_t> strides;  // defaults to pool_size, as in Keras
  std::string padding = "valid";        // or "same"
  std::string data_format = "channels_last";
  std::string name;
};

class Pooling1D : public Layer {
 public:
  std::int64_t pool_size() const { return pool_size_; }
  std::int64_t strides() const { return options_.strides.value_or(pool_size_); }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  Pooling1D(const char* base_name, const char* type, std::int64_t pool_size, Pooling1DOptions options);
  bool accepts(const Shape& built, const Shape& actual) const override;
  // The pooling as a 2-D one over [batch, 1, steps, channels].
  Pool2dParams pool_params() const;

 private:
  std::int64_t pool_size_;
  Pooling1DOptions options_;
};

class MaxPooling1D : public Pooling1D {
 public:
  explicit MaxPooling1D(std::int64_t pool_size = 2, Pooling1DOptions options = {});

 protected:
  Tensor forward(const Tensor& x, bool training) override;
};

class AveragePooling1D : public Pooling1D {
 public:
  explicit AveragePooling1D(std::int64_t pool_size = 2, Pooling1DOptions options = {});

 protected:
  Tensor forward(const Tensor& x, bool training) override;
};

}  // namespace kiln::layers
