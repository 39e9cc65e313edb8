// Keras's activation layers with arguments: ReLU, ELU, Softmax, and PReLU with learned slopes.
#pragma once
#include <limits>
#include <optional>
#include <vector>

#include "kiln/constraints.hpp"
#include "kiln/initializers.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/regularizers.hpp"

namespace kiln::layers {

// Keras's ReLU layer: min(x, max_value) above threshold, negative_slope * (x - threshold) at or
// below it. max_value unset: no upper clip. All three must be non-negative.
class ReLU : public Layer {
 public:
  explicit ReLU(std::optional<double> max_value = std::nullopt, double negative_slope = 0.0, double threshold = 0.0,
                std::string name = "");
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;
  bool accepts(const Shape&, const Shape&) const override { return true; }  // elementwise: any shape

 private:
  std::optional<double> max_value_;
  double negative_slope_, threshold_;
};

// x for x > 0, alpha (exp(x) - 1) otherwise.
class ELU : public Layer {
 public:
  explicit ELU(double alpha = 1.0, std::string name = "");
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;
  bool accepts(const Shape&, const Shape&) const override { return true; }

 private:
  double alpha_;
};

// softmax along `axis` (Keras counts the batch as axis 0; -1 is the last).
class Softmax : public Layer {
 public:
  explicit Softmax(int axis = -1, std::string name = "");
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  Tensor forward(const Tensor& x, bool training) override;
  bool accepts(const Shape&, const Shape&) const override { return true; }

 private:
  int axis_;
};

struct PReLUOptions {
  Initializer alpha_initializer = "zeros";
  regularizers::RegularizerArgument alpha_regularizer = {};
  constraints::ConstraintArgument alpha_constraint = {};
  // Axes (Keras's numbering: 1 is the first after the batch) along which one slope is shared,
  // e.g. {1, 2} for one slope per channel of NHWC images.
  std::vector<int> shared_axes = {};
  std::string name = "";
};

// Keras's PReLU: max(x, 0) + alpha * min(x, 0) with a learned alpha of the input's shape
// (batch excluded), of size 1 along the shared axes.
class PReLU : public Layer {
 public:
  explicit PReLU(PReLUOptions options = {});
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;
  std::vector<Tensor> regularization_losses() const override;
  void apply_constraints() override;
  const PReLUOptions& options() const { return options_; }
  const Tensor& alpha() const { return alpha_; }

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  PReLUOptions options_;
  Tensor alpha_;
};

}  // namespace kiln::layers
