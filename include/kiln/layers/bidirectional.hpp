// Bidirectional: runs a recurrent layer forwards and a copy of it backwards over
// the sequence and merges their outputs (Keras's):
//   model.add(Bidirectional(LSTM(32, {.return_sequences = true})));   // [batch, time, 64]
// The forward layer is rebuilt from the given layer's config (named
// "forward_<name>"); the backward layer is the same config with go_backwards
// (named "backward_<name>") unless backward_layer is given. With
// return_sequences the backward outputs are put back in time order before the
// merge, and both layers output zeros at masked steps (zero_output_for_mask),
// as Keras sets them.
//   merge_mode "concat" (default): [..., 2 * units]; "sum", "mul", "ave": [..., units];
//   "" (Keras's None): no merge, both outputs from call() (forward() is then an Error).
// return_state (given to the wrapped layer): call_merged() gives Keras's
// [output, forward states..., backward states...]; forward() the output alone.
// Weights: the forward layer's, then the backward layer's; so are the regularization losses, and
// apply_constraints() applies both layers' constraints.
#pragma once
#include <concepts>
#include <memory>

#include "kiln/layers/recurrent.hpp"

namespace kiln::layers {

class Bidirectional : public Layer {
 public:
  explicit Bidirectional(const RNNLayer& layer, std::string merge_mode = "concat",
                         const RNNLayer* backward_layer = nullptr, std::string name = "");

  const std::string& merge_mode() const { return merge_mode_; }
  const std::shared_ptr<RNNLayer>& forward_layer() const { return forward_; }
  const std::shared_ptr<RNNLayer>& backward_layer() const { return backward_; }
  // {forward output, backward output (in time order)}, unmerged: what merge_mode None returns;
  // with return_state (Keras's), then the forward layer's final states and the backward
  // layer's ({h} each, {h, c} each for LSTM).
  std::vector<Tensor> call(const Tensor& x, bool training = false);
  // Keras's return value: the merged output (both outputs with merge_mode None), then with
  // return_state the forward states and the backward states.
  std::vector<Tensor> call_merged(const Tensor& x, bool training = false);

  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  std::vector<Tensor> regularization_losses() const override;
  void apply_constraints() override;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;
  // Any number of time steps, the same features.
  bool accepts(const Shape& built, const Shape& actual) const override;

 private:
  std::string merge_mode_;
  std::shared_ptr<RNNLayer> forward_, backward_;
};

}  // namespace kiln::layers
