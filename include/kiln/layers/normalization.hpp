// LayerNormalization: normalises each sample's last axis to zero mean and
// unit variance, then scales by gamma and shifts by beta (Keras's defaults:
// axis -1, epsilon 1e-3, center and scale on). PyTorch's nn.LayerNorm is the
// same computation with epsilon 1e-5.
#pragma once
#include "kiln/constraints.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/regularizers.hpp"

namespace kiln::layers {

struct LayerNormalizationOptions {
  double epsilon = 1e-3;
  bool center = true;  // learn beta
  bool scale = true;   // learn gamma
  Initializer beta_initializer = "zeros";
  Initializer gamma_initializer = "ones";
  regularizers::RegularizerArgument beta_regularizer = {};
  regularizers::RegularizerArgument gamma_regularizer = {};
  constraints::ConstraintArgument beta_constraint = {};
  constraints::ConstraintArgument gamma_constraint = {};
  Shape input_shape = {};
  std::string name;
};

class LayerNormalization : public Layer {
 public:
  explicit LayerNormalization(LayerNormalizationOptions options = {});

  const LayerNormalizationOptions& options() const { return options_; }
  Tensor gamma() const;  // [features], undefined without scale
  Tensor beta() const;   // [features], undefined without center
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  std::vector<Tensor> regularization_losses() const override;
  void apply_constraints() override;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;
  // Any leading shape, the same last axis.
  bool accepts(const Shape& built, const Shape& actual) const override;

 private:
  LayerNormalizationOptions options_;
  Tensor gamma_, beta_;
};

}  // namespace kiln::layers
