// GroupNormalization (Keras's; PyTorch's nn.GroupNorm): the channels (last axis)
// split into `groups` groups; each sample's group is normalised over its
// channels and every step or pixel to zero mean and unit (biased) variance,
//   y = (x - mean) / sqrt(var + epsilon) * gamma + beta,   gamma, beta [channels].
// groups = channels is InstanceNormalization; groups = 1 normalises whole samples.
#pragma once
#include "kiln/constraints.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/regularizers.hpp"

namespace kiln::layers {

struct GroupNormalizationOptions {
  std::int64_t groups = 32;
  int axis = -1;  // the channel axis; Kiln is channels last, so -1 only
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

class GroupNormalization : public Layer {
 public:
  explicit GroupNormalization(GroupNormalizationOptions options = {});
  const GroupNormalizationOptions& options() const { return options_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  std::vector<Tensor> regularization_losses() const override;
  void apply_constraints() override;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;
  // Any number of steps or pixels, the same channels.
  bool accepts(const Shape& built, const Shape& actual) const override;

 private:
  GroupNormalizationOptions options_;
  Tensor gamma_, beta_;
};

}  // namespace kiln::layers
