// Recurrent layers' computations as single ops over whole sequences.
//
// Each op runs every time step itself: one GEMM projects the inputs of all
// steps, then each step does one GEMM with the recurrent kernel and one fused
// pass over the gates. Its backward is backpropagation through time in the
// same form, with the weight gradients as single GEMMs over all steps. Nothing
// per step becomes an autograd node.
//
// Shapes: x [B, T, I] (batch first), states [B, H]. Weights in Keras's layout
// and gate order (kernel [I, G*H], recurrent_kernel [H, G*H], gate blocks side
// by side):
//   simple_rnn  G = 1   h = act(x W + h U + b)                 bias [H]
//   lstm        G = 4   gates i, f, c, o (PyTorch: i, f, g, o — the same order;
//                       one bias [4H], where PyTorch has b_ih + b_hh)
//   gru         G = 3   gates z, r, h with reset_after (Keras TF2's default:
//                       r multiplies h U_h + b_rh, as in PyTorch); bias [2, 3H]:
//                       row 0 for the input side, row 1 for the recurrent side.
//                       PyTorch orders the gates r, z, n.
// mask [B, T] (any dtype, nonzero = real step), as Keras's RNN layers: a
// masked step keeps the state and outputs the previous step's output — zero
// before the first real step (whatever the initial state), the kept h after
// it; with zero_output_for_mask it outputs zeros. Gradients follow the same
// paths.
#pragma once
#include <string>
#include <vector>

#include "kiln/compute_type.hpp"
#include "kiln/tensor.hpp"

namespace kiln {

struct RecurrentOptions {
  bool return_sequences = false;  // output [B, T, H] (every step) instead of [B, H] (the last)
  bool return_state = false;      // also return the final states
  bool go_backwards = false;      // process the sequence in reverse; outputs stay in processing order (Keras)
  bool zero_output_for_mask = false;
  std::string activation = "tanh";  // simple_rnn only: "tanh" or "relu"
  // Keras's recurrent_dropout: [B, H] factors (0 or 1 / (1 - rate)) multiplying the state where it
  // meets the recurrent kernel (h U), the same at every step; the state carried on (LSTM's c,
  // GRU's z h term) is not masked. Undefined: none. Not differentiated.
  Tensor recurrent_dropout_mask;
  // BFloat16: the input and recurrent GEMMs (forward and backward) in mixed precision; the
  // gates, states and their gradients stay float32.
  ComputeType compute = ComputeType::Float32;
};

struct RecurrentResult {
  Tensor output;               // [B, T, H] with return_sequences, else [B, H]
  std::vector<Tensor> states;  // with return_state: {h} (simple_rnn, gru) or {h, c} (lstm), each [B, H]
};

// initial_state: empty (zeros) or one [B, H] tensor per state. bias and mask may be undefined.
// Every output, including the states, is differentiable with respect to x,
// the weights and the initial states.
RecurrentResult simple_rnn(const Tensor& x, const Tensor& kernel, const Tensor& recurrent_kernel, const Tensor& bias,
                           const std::vector<Tensor>& initial_state = {}, const Tensor& mask = Tensor(),
                           const RecurrentOptions& options = {});
RecurrentResult lstm(const Tensor& x, const Tensor& kernel, const Tensor& recurrent_kernel, const Tensor& bias,
                     const std::vector<Tensor>& initial_state = {}, const Tensor& mask = Tensor(),
                     const RecurrentOptions& options = {});
RecurrentResult gru(const Tensor& x, const Tensor& kernel, const Tensor& recurrent_kernel, const Tensor& bias,
                    const std::vector<Tensor>& initial_state = {}, const Tensor& mask = Tensor(),
                    const RecurrentOptions& options = {});

}  // namespace kiln
