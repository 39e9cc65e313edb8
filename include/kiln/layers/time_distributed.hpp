// TimeDistributed: applies one layer to every step of a sequence, with the
// same weights at every step (Keras's): [batch, time, ...] -> [batch, time, ...out].
//   model.add(TimeDistributed(Dense(8)));          // a Dense per step
//   model.add(TimeDistributed(Conv2D(16, 3)));     // over [batch, frames, h, w, c]
// It runs the layer once on [batch * time, ...], so it is as fast as the layer itself.
// The layer's regularization losses and constraints are the wrapper's. Its activity penalty sees
// that [batch * time, ...] output (divided by batch * time); Keras's TimeDistributed runs the
// layer's call() directly, which adds none.
#pragma once
#include <concepts>
#include <memory>

#include "kiln/layers/layer.hpp"

namespace kiln::layers {

class TimeDistributed : public Layer {
 public:
  explicit TimeDistributed(std::shared_ptr<Layer> layer, std::string name = "");
  template <typename L>
  requires(std::derived_from<L, Layer> &&
           !std::same_as<L, TimeDistributed>) explicit TimeDistributed(L layer, std::string name = "")
      : TimeDistributed(std::make_shared<L>(std::move(layer)), std::move(name)) {}

  const std::shared_ptr<Layer>& layer() const { return layer_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  std::vector<Generator*> generators() override { return layer_->generators(); }
  std::vector<Tensor> regularization_losses() const override { return layer_->regularization_losses(); }
  void apply_constraints() override { layer_->apply_constraints(); }

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;
  // Any number of steps.
  bool accepts(const Shape& built, const Shape& actual) const override;

 private:
  std::shared_ptr<Layer> layer_;
};

}  // namespace kiln::layers
