// Dense: y = activation(x W + b), applied to the last axis.
#pragma once
#include "kiln/constraints.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/regularizers.hpp"

namespace kiln::layers {

struct DenseOptions {
  std::string activation;  // "" = linear
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer bias_initializer = "zeros";
  regularizers::RegularizerArgument kernel_regularizer = {};
  regularizers::RegularizerArgument bias_regularizer = {};
  regularizers::RegularizerArgument activity_regularizer = {};  // on the layer's output
  constraints::ConstraintArgument kernel_constraint = {};
  constraints::ConstraintArgument bias_constraint = {};
  Shape input_shape = {};  // only needed on a model's first layer
  std::string name;
};

class Dense : public Layer {
 public:
  explicit Dense(std::int64_t units, std::string activation = "", Shape input_shape = {});
  Dense(std::int64_t units, DenseOptions options);

  std::int64_t units() const { return units_; }
  const DenseOptions& options() const { return options_; }
  // Weights exist once the layer is built (from an input_shape or a first call).
  Tensor kernel() const;  // [in, units]
  Tensor bias() const;        // [units]
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  std::vector<Tensor> regularization_losses() const override;
  void apply_constraints() override;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;
  bool accepts(const Shape& built, const Shape& actual) const override;

 private:
  std::int64_t units_;
  DenseOptions options_;
  Tensor kernel_, bias_;
  Tensor activity_;  // the last output, kept only with an activity_regularizer
};

}  // namespace kiln::layers
