// Recurrent layers: SimpleRNN, LSTM and GRU over [batch, time, features].
//
// Keras's names, arguments and defaults: glorot_uniform kernels, orthogonal
// recurrent kernels, zero biases (LSTM: the forget gate's bias starts at 1,
// unit_forget_bias), return_sequences/return_state/go_backwards. Each layer
// runs as one op over the whole sequence (kiln/ops/recurrent.hpp).
//
// Weights, in Keras's layout and gate order (PyTorch's differ; see the op header):
//   kernel [features, G * units], recurrent_kernel [units, G * units], bias
//   SimpleRNN G = 1, bias [units]
//   LSTM      G = 4, gates i, f, c, o, one bias [4 * units]
//             (PyTorch: i, f, g, o with b_ih + b_hh; Kiln's bias is their sum)
//   GRU       G = 3, gates z, r, h, reset_after = true (TF2's default), bias
//             [2, 3 * units]: input bias, recurrent bias (PyTorch: r, z, n)
//
// In a Sequential model the layer takes one input and returns one output:
// the last step's output [batch, units], or every step's [batch, time, units]
// with return_sequences. call() adds what Keras passes as extra arguments:
//   auto [output, states] = lstm.call(x, {.mask = m, .initial_state = {h0, c0}});
// Masks are explicit (nonzero = real step) and follow Keras: a masked step
// keeps the state and repeats the previous step's output (zero before the
// first real step), or outputs zeros with zero_output_for_mask. Sequences of
// any length are accepted once built.
#pragma once
#include <optional>
#include <vector>

#include "kiln/constraints.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/ops/recurrent.hpp"
#include "kiln/regularizers.hpp"

namespace kiln::layers {

struct RNNOptions {
  std::string activation =
      "tanh";  // SimpleRNN: "tanh" or "relu"; LSTM and GRU use tanh and sigmoid, as Keras's defaults
  bool use_bias = true;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer recurrent_initializer = "orthogonal";
  Initializer bias_initializer = "zeros";
  bool unit_forget_bias = true;  // LSTM: the forget gate's bias starts at 1 (the rest from bias_initializer)
  regularizers::RegularizerArgument kernel_regularizer = {};
  regularizers::RegularizerArgument recurrent_regularizer = {};  // on recurrent_kernel
  regularizers::RegularizerArgument bias_regularizer = {};
  // On the output and, with return_state, each final state (what Keras's call returns).
  regularizers::RegularizerArgument activity_regularizer = {};
  constraints::ConstraintArgument kernel_constraint = {};
  constraints::ConstraintArgument recurrent_constraint = {};
  constraints::ConstraintArgument bias_constraint = {};
  // Keras's dropout: while training, each input feature is dropped with this probability (the rest
  // scaled by 1 / (1 - dropout)), with one mask per sequence, the same at every time step.
  double dropout = 0.0;
  // Keras's recurrent_dropout: while training, each unit of the state h is dropped with this
  // probability where it meets the recurrent kernel (h U), the rest scaled by 1 / (1 - rate), with
  // one mask per sequence, the same at every time step. The state carried on is not masked.
  double recurrent_dropout = 0.0;
  std::optional<std::uint64_t> seed;  // for the dropout masks; without one, drawn from kiln's default generator
  bool return_sequences = false;
  bool return_state = false;
  bool go_backwards = false;
  bool zero_output_for_mask = false;
  Shape input_shape = {};  // [time, features], only on a model's first layer
  std::string name;
};

// What Keras passes to an RNN's call besides the inputs.
struct RNNCallArgs {
  Tensor mask;                        // [batch, time], nonzero = real step; undefined = every step real
  std::vector<Tensor> initial_state;  // empty (zeros) or {h} ({h, c} for LSTM), each [batch, units]
  bool training = false;
};

class RNNLayer : public Layer {
 public:
  std::int64_t units() const { return units_; }
  const RNNOptions& options() const { return options_; }
  // Output and, with return_state, the final states ({h} or {h, c}).
  RecurrentResult call(const Tensor& x, const RNNCallArgs& args = {});

  Tensor kernel() const;            // [features, G * units]
  Tensor recurrent_kernel() const;  // [units, G * units]
  Tensor bias() const;              // undefined without use_bias

  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  std::vector<Tensor> regularization_losses() const override;
  void apply_constraints() override;
  // Only a layer with dropout draws random numbers (checkpoints of other models are unchanged).
  std::vector<Generator*> generators() override {
    return draws_masks() ? std::vector<Generator*>{&generator_} : std::vector<Generator*>{};
  }

 protected:
  RNNLayer(std::int64_t units, RNNOptions options, const char* type, const char* base_name, int gates);
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;
  // Any number of time steps, the same features.
  bool accepts(const Shape& built, const Shape& actual) const override;
  virtual RecurrentResult run(const Tensor& x, const Tensor& mask, const std::vector<Tensor>& initial_state) = 0;
  virtual std::size_t state_count() const { return 1; }
  RecurrentOptions op_options() const;
  bool draws_masks() const { return options_.dropout > 0.0 || options_.recurrent_dropout > 0.0; }

  Tensor kernel_, recurrent_kernel_, bias_;

 private:
  std::int64_t units_;
  RNNOptions options_;
  int gates_;
  Generator generator_;           // draws the dropout masks
  Tensor state_mask_;             // the recurrent dropout mask of the call in progress, for op_options()
  std::vector<Tensor> activity_;  // the last call's outputs, kept only with an activity_regularizer
};

class SimpleRNN : public RNNLayer {
 public:
  explicit SimpleRNN(std::int64_t units, RNNOptions options = {});

 protected:
  RecurrentResult run(const Tensor& x, const Tensor& mask, const std::vector<Tensor>& initial_state) override;
};

class LSTM : public RNNLayer {
 public:
  explicit LSTM(std::int64_t units, RNNOptions options = {});

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  RecurrentResult run(const Tensor& x, const Tensor& mask, const std::vector<Tensor>& initial_state) override;
  std::size_t state_count() const override { return 2; }
};

class GRU : public RNNLayer {
 public:
  explicit GRU(std::int64_t units, RNNOptions options = {});

 protected:
  RecurrentResult run(const Tensor& x, const Tensor& mask, const std::vector<Tensor>& initial_state) override;
};

}  // namespace kiln::layers
