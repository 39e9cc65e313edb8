// SimpleRNN, LSTM and GRU as single ops: forward over all time steps and
// backpropagation through time, side by side.
//
// Shape letters: B batch, T time steps, I input width, H units, G gates
// (1, 4, 3), GH = G * H. Everything is kept batch-major, [B, T, ...], indexed
// by input time t; one step is a strided slice of it (row stride T * width),
// which the GEMMs and the step kernels take directly, so nothing is transposed.
//
//   forward:  Z = X W                       one GEMM, [B*T, I] x [I, GH]
//             per step (t in processing order, reversed with go_backwards):
//               Z[:, t] += h U  (GRU: a separate h U)   one GEMM, [B, H] x [H, GH]
//               gates, new h (and c), output             one fused pass (kernels/cpu/recurrent.cpp)
//   backward: per step, last to first:
//               dZ[:, t], and the gradient carried to h and c  one fused pass
//               dh_prev += dZ[:, t] U^T                         one GEMM
//             dU = Hprev^T dZ, dW = X^T dZ, db = column sums of dZ, dX = dZ W^T: one GEMM each
// where Hprev[:, t] is the state h before step t.
//
// Mixed precision (options.compute = BFloat16, float32 tensors): every GEMM above
// multiplies bf16-rounded operands and sums in float32; U is rounded once per
// pass, not once per step. The gates, states and their gradients stay float32.
#include "kernels/cpu/recurrent.hpp"

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/cpu/bf16.hpp"
#include "kernels/cpu/bias_grad.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/parallel.hpp"
#include "kiln/ops/recurrent.hpp"
#include "ops/mixed_precision.hpp"
#include "ops/op_helpers.hpp"
#include "tensor/tensor_impl.hpp"

namespace kiln {
namespace {

using ops_detail::dispatch_floating;

enum class Cell { SimpleRNN, LSTM, GRU };

const char* op_name(Cell cell) {
  switch (cell) {
    case Cell::SimpleRNN: return "simple_rnn";
    case Cell::LSTM: return "lstm";
    case Cell::GRU: return "gru";
  }
  return "";
}

int gate_count(Cell cell) { return cell == Cell::LSTM ? 4 : cell == Cell::GRU ? 3 : 1; }
std::size_t state_count(Cell cell) { return cell == Cell::LSTM ? 2 : 1; }

struct Dims {
  std::int64_t B, T, I, H, GH;
};

struct Flags {
  bool return_sequences, return_state, go_backwards, zero_output_for_mask, relu;
  bool bf16;  // float32 tensors with bf16 products
};

// C[M, N] = op(A) op(B) (+ C when accumulating), in T or with bf16 products.
template <typename T>
void recurrent_product(bool bf16, bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                       const T* A, std::int64_t lda, const T* B, std::int64_t ldb, bool accumulate, T* C,
                       std::int64_t ldc) {
  if constexpr (std::is_same_v<T, float>) {
    if (bf16) {
      kernels::cpu::gemm_bf16(trans_a, trans_b, M, N, K, A, lda, B, ldb, accumulate, C, ldc);
      return;
    }
  }
  kernels::cpu::gemm<T>(trans_a, trans_b, M, N, K, T(1), A, lda, B, ldb, accumulate ? T(1) : T(0), C, ldc);
}

// One step's product with the recurrent kernel: C[n, N] (+)= A[n, K] U (U^T when trans_u), U
// being [H, GH] (row stride GH). Under bf16 it reads u_bf16, U rounded once for the whole pass,
// and rounds only A, into `scratch`.
template <typename T>
void recurrent_step_product(bool bf16, bool trans_u, std::int64_t n, std::int64_t N, std::int64_t K, const T* A,
                            std::int64_t lda, const T* U, const std::uint16_t* u_bf16, std::int64_t GH, bool accumulate,
                            T* C, std::int64_t ldc, std::vector<std::uint16_t>& scratch) {
  if constexpr (std::is_same_v<T, float>) {
    if (bf16) {
      scratch.resize(static_cast<std::size_t>(n * K));
      for (std::int64_t r = 0; r < n; ++r) kernels::cpu::float_to_bf16(A + r * lda, scratch.data() + r * K, K);
      kernels::cpu::gemm_bf16_rounded(false, trans_u, n, N, K, scratch.data(), K, u_bf16, GH, accumulate, C, ldc);
      return;
    }
  }
  kernels::cpu::gemm<T>(false, trans_u, n, N, K, T(1), A, lda, U, GH, accumulate ? T(1) : T(0), C, ldc);
}

void check_shape(const Tensor& t, const Shape& expected, const std::string& op, const std::string& what) {
  if (t.shape() != expected) {
    throw Error(op + ": " + what + " must have shape " + shape_str(expected) + ", got " + shape_str(t.shape()));
  }
}

Dims check_arguments(Cell cell, const Tensor& x, const Tensor& kernel, const Tensor& recurrent, const Tensor& bias,
                     const std::vector<Tensor>& initial_state, const Tensor& mask) {
  const std::string op = op_name(cell);
  ops_detail::check_defined(x, op.c_str(), "input");
  ops_detail::check_defined(kernel, op.c_str(), "kernel");
  ops_detail::check_defined(recurrent, op.c_str(), "recurrent_kernel");
  if (x.ndim() != 3) {
    throw Error(op + ": expected input of shape [batch, time, features], got " + shape_str(x.shape()));
  }
  Dims d{x.size(0), x.size(1), x.size(2), recurrent.ndim() == 2 ? recurrent.size(0) : -1, 0};
  if (d.T == 0) throw Error(op + ": the sequence has no time steps (input shape " + shape_str(x.shape()) + ")");
  const std::int64_t G = gate_count(cell);
  d.GH = G * d.H;
  if (recurrent.ndim() != 2 || recurrent.size(1) != d.GH) {
    throw Error(op + ": recurrent_kernel must have shape [units, " + std::to_string(G) + " * units], got " +
                shape_str(recurrent.shape()));
  }
  check_shape(kernel, {d.I, d.GH}, op, "kernel (for inputs of width " + std::to_string(d.I) + ")");
  for (const Tensor* t : {&kernel, &recurrent}) ops_detail::check_same_dtype(x, *t, op.c_str());
  if (bias.defined()) {
    ops_detail::check_same_dtype(x, bias, op.c_str());
    check_shape(bias, cell == Cell::GRU ? Shape{2, d.GH} : Shape{d.GH}, op, "bias");
  }
  if (!initial_state.empty()) {
    if (initial_state.size() != state_count(cell)) {
      throw Error(op + ": expected " + std::to_string(state_count(cell)) + " initial state tensor(s) (" +
                  (cell == Cell::LSTM ? "h and c" : "h") + "), got " + std::to_string(initial_state.size()));
    }
    for (std::size_t i = 0; i < initial_state.size(); ++i) {
      const std::string what = std::string("initial state ") + (i == 0 ? "h" : "c");
      ops_detail::check_defined(initial_state[i], op.c_str(), what.c_str());
      ops_detail::check_same_dtype(x, initial_state[i], op.c_str());
      check_shape(initial_state[i], {d.B, d.H}, op, what);
    }
  }
  if (mask.defined()) check_shape(mask, {d.B, d.T}, op, "mask");
  return d;
}

// What each step does, as the step kernels' codes [B, T] (by input time).
// Keras's rule: a masked step outputs the previous step's output, which
// before any real step is zero (not the initial state), and after one is the
// kept h; with zero_output_for_mask it outputs zero.
Tensor step_kinds(const Tensor& mask, const Flags& f) {
  if (!mask.defined()) return Tensor();
  const auto values = mask.to_vector<double>();
  const std::int64_t B = mask.size(0), T = mask.size(1);
  Tensor kinds = Tensor::empty(mask.shape(), DType::UInt8);
  std::uint8_t* out = kinds.data<std::uint8_t>();
  for (std::int64_t b = 0; b < B; ++b) {
    bool seen_real = false;
    for (std::int64_t s = 0; s < T; ++s) {
      const std::int64_t k = b * T + (f.go_backwards ? T - 1 - s : s);
      if (values[k] != 0.0) {
        out[k] = kernels::cpu::kRealStep;
        seen_real = true;
      } else {
        out[k] = f.zero_output_for_mask || !seen_real ? kernels::cpu::kZeroOutput : kernels::cpu::kRepeatOutput;
      }
    }
  }
  return kinds;
}

// What the forward keeps for the backward.
struct Saved {
  Tensor x, kernel, recurrent;  // detached, contiguous
  Tensor act;                   // [B, T, GH] activations (LSTM, SimpleRNN) or [B, T, 4H] (GRU: z, r, hh, u_h)
  Tensor h_prev;                // [B, T, H]: h before each step
  Tensor c_prev;                // [B, T, H]: c before each step (LSTM)
  Tensor mask;                  // [B, T] step kinds (kernels/cpu/recurrent.hpp) or undefined
  Tensor state_mask;            // [B, H] recurrent dropout factors, or undefined
  std::vector<std::uint16_t> recurrent_bf16;  // under bf16: the recurrent kernel rounded, [H, GH]
};

template <typename T>
void copy_rows(const T* src, std::int64_t src_ld, T* dst, std::int64_t dst_ld, std::int64_t rows, std::int64_t width) {
  for (std::int64_t r = 0; r < rows; ++r) std::copy(src + r * src_ld, src + r * src_ld + width, dst + r * dst_ld);
}

// Batch rows never interact through time, so the rows are split over the
// threads once for the whole sequence: each thread runs every step for its
// rows (its own one-thread GEMMs and gate passes) with no synchronisation
// between steps. A per-step split would need several barriers per step, and
// on a busy machine every barrier waits for a descheduled thread. The split
// depends only on the thread count, so results stay deterministic.
template <typename Fn>
void for_row_blocks(std::int64_t B, const Dims& d, Fn&& fn) {
  kernels::cpu::parallel_for(B, d.T * d.H * d.GH * 4, fn);
}

// Runs the sequence; writes the output (and, with return_state, h and c after
// it) into `packed` and fills `saved`.
template <typename T>
void run_forward(Cell cell, const Dims& d, const Flags& f, const Tensor& bias, const std::vector<Tensor>& init,
                 Saved& saved, Tensor& packed) {
  const std::int64_t B = d.B, TT = d.T, H = d.H, GH = d.GH;
  const DType dtype = saved.x.dtype();
  // Z = X W for every step at once.
  Tensor z = Tensor::empty({B, TT, GH}, dtype);
  recurrent_product<T>(f.bf16, false, false, B * TT, GH, d.I, saved.x.data<T>(), d.I, saved.kernel.data<T>(), GH, false,
                       z.data<T>(), GH);
  if (f.bf16) {
    saved.recurrent_bf16.resize(static_cast<std::size_t>(H * GH));
    if constexpr (std::is_same_v<T, float>) {
      kernels::cpu::float_to_bf16(saved.recurrent.data<float>(), saved.recurrent_bf16.data(), H * GH);
    }
  }
  const std::uint16_t* u_bf16 = saved.recurrent_bf16.data();
  Tensor act = cell == Cell::GRU ? Tensor::empty({B, TT, 4 * H}, dtype) : z;
  Tensor zr = cell == Cell::GRU ? Tensor::empty({B, GH}, dtype) : Tensor();
  saved.h_prev = Tensor::empty({B, TT, H}, dtype);
  if (cell == Cell::LSTM) saved.c_prev = Tensor::empty({B, TT, H}, dtype);
  Tensor h = init.empty() ? Tensor::zeros({B, H}, dtype) : init[0].contiguous().clone();
  Tensor c;
  if (cell == Cell::LSTM) c = init.empty() ? Tensor::zeros({B, H}, dtype) : init[1].contiguous().clone();

  const T* U = saved.recurrent.data<T>();
  const T* b = bias.defined() ? bias.data<T>() : nullptr;
  const std::uint8_t* mask = saved.mask.defined() ? saved.mask.data<std::uint8_t>() : nullptr;
  T* out = packed.data<T>();
  const std::int64_t out_ld = f.return_sequences ? TT * H : H;
  for_row_blocks(B, d, [&](std::int64_t b0, std::int64_t b1) {
    const std::int64_t n = b1 - b0;
    T* hp = h.data<T>() + b0 * H;
    T* cp = c.defined() ? c.data<T>() + b0 * H : nullptr;
    // With recurrent dropout the GEMM with U reads the masked state hu; hp stays the real state.
    const T* state_mask = saved.state_mask.defined() ? saved.state_mask.data<T>() + b0 * H : nullptr;
    std::vector<T> masked(state_mask ? static_cast<std::size_t>(n * H) : 0);
    const T* hu = state_mask ? masked.data() : hp;
    std::vector<std::uint16_t> rounded;  // hu in bf16, under bf16
    for (std::int64_t s = 0; s < TT; ++s) {
      for (std::size_t i = 0; i < masked.size(); ++i) masked[i] = hp[i] * state_mask[i];
      const std::int64_t t = f.go_backwards ? TT - 1 - s : s;
      const std::int64_t row_t = b0 * TT + t;  // row b0 of the [B, T, ...] arrays, at time t
      copy_rows(hp, H, saved.h_prev.data<T>() + row_t * H, TT * H, n, H);
      T* out_s = f.return_sequences ? out + b0 * out_ld + s * H : (s == TT - 1 ? out + b0 * out_ld : nullptr);
      const std::uint8_t* mask_t = mask ? mask + row_t : nullptr;
      T* z_t = z.data<T>() + row_t * GH;
      switch (cell) {
        case Cell::LSTM:
          copy_rows(cp, H, saved.c_prev.data<T>() + row_t * H, TT * H, n, H);
          recurrent_step_product<T>(f.bf16, false, n, GH, H, hu, H, U, u_bf16, GH, true, z_t, TT * GH, rounded);
          kernels::cpu::lstm_step_forward<T>(n, H, z_t, TT * GH, b, hp, cp, out_s, out_ld, mask_t, TT);
          break;
        case Cell::SimpleRNN:
          recurrent_step_product<T>(f.bf16, false, n, GH, H, hu, H, U, u_bf16, GH, true, z_t, TT * GH, rounded);
          kernels::cpu::rnn_step_forward<T>(n, H, z_t, TT * GH, b, f.relu, hp, out_s, out_ld, mask_t, TT);
          break;
        case Cell::GRU: {
          T* zr_rows = zr.data<T>() + b0 * GH;
          recurrent_step_product<T>(f.bf16, false, n, GH, H, hu, H, U, u_bf16, GH, false, zr_rows, GH, rounded);
          kernels::cpu::gru_step_forward<T>(n, H, z_t, TT * GH, zr_rows, b, b ? b + GH : nullptr,
                                            act.data<T>() + row_t * 4 * H, TT * 4 * H, hp, out_s, out_ld, mask_t,
                                            TT);
          break;
        }
      }
    }
  });
  saved.act = act;
  if (f.return_state) {
    const std::int64_t out_n = f.return_sequences ? B * TT * H : B * H;
    std::copy(h.data<T>(), h.data<T>() + B * H, out + out_n);
    if (cell == Cell::LSTM) std::copy(c.data<T>(), c.data<T>() + B * H, out + out_n + B * H);
  }
}

struct Needs {
  bool x, kernel, recurrent, bias, h0, c0;
};

// Gradients, in the op's input order: x, kernel, recurrent_kernel, bias, h0, c0.
template <typename T>
std::vector<Tensor> run_recurrent_backward(Cell cell, const Dims& d, const Flags& f, const Saved& saved, const Needs& need,
                                 const Tensor& g_packed) {
  const std::int64_t B = d.B, TT = d.T, H = d.H, GH = d.GH;
  const DType dtype = g_packed.dtype();
  const T* g = g_packed.data<T>();
  const std::int64_t out_n = f.return_sequences ? B * TT * H : B * H;
  Tensor dh = Tensor::zeros({B, H}, dtype), dh_prev = Tensor::empty({B, H}, dtype);
  Tensor dc = cell == Cell::LSTM ? Tensor::zeros({B, H}, dtype) : Tensor();
  if (f.return_state) {
    std::copy(g + out_n, g + out_n + B * H, dh.data<T>());
    if (cell == Cell::LSTM) std::copy(g + out_n + B * H, g + out_n + 2 * B * H, dc.data<T>());
  }
  // dzx: gradient of x W (+ input bias); dzr: of h U (+ recurrent bias). The same tensor except for GRU.
  Tensor dzx = Tensor::empty({B, TT, GH}, dtype);
  Tensor dzr = cell == Cell::GRU ? Tensor::empty({B, TT, GH}, dtype) : dzx;
  const T* U = saved.recurrent.data<T>();
  const std::uint8_t* mask = saved.mask.defined() ? saved.mask.data<std::uint8_t>() : nullptr;
  const std::int64_t dout_ld = f.return_sequences ? TT * H : H;
  for_row_blocks(B, d, [&](std::int64_t b0, std::int64_t b1) {
    const std::int64_t n = b1 - b0;
    T* dh_a = dh.data<T>() + b0 * H;
    T* dh_b = dh_prev.data<T>() + b0 * H;
    T* dcr = dc.defined() ? dc.data<T>() + b0 * H : nullptr;
    const T* state_mask = saved.state_mask.defined() ? saved.state_mask.data<T>() + b0 * H : nullptr;
    std::vector<T> through_u(state_mask ? static_cast<std::size_t>(n * H) : 0);
    std::vector<std::uint16_t> rounded;  // dZ_t in bf16, under bf16
    for (std::int64_t s = TT - 1; s >= 0; --s) {
      const std::int64_t t = f.go_backwards ? TT - 1 - s : s;
      const std::int64_t row_t = b0 * TT + t;
      const T* dout = f.return_sequences ? g + b0 * dout_ld + s * H : (s == TT - 1 ? g + b0 * dout_ld : nullptr);
      const std::uint8_t* mask_t = mask ? mask + row_t : nullptr;
      switch (cell) {
        case Cell::LSTM:
          kernels::cpu::lstm_step_backward<T>(n, H, saved.act.data<T>() + row_t * GH, TT * GH,
                                              saved.c_prev.data<T>() + row_t * H, TT * H, dout, dout_ld, dh_a, dcr,
                                              dzx.data<T>() + row_t * GH, TT * GH, dh_b, mask_t, TT);
          break;
        case Cell::SimpleRNN:
          kernels::cpu::rnn_step_backward<T>(n, H, saved.act.data<T>() + row_t * GH, TT * GH, f.relu, dout, dout_ld,
                                             dh_a, dzx.data<T>() + row_t * GH, TT * GH, dh_b, mask_t, TT);
          break;
        case Cell::GRU:
          kernels::cpu::gru_step_backward<T>(n, H, saved.act.data<T>() + row_t * 4 * H, TT * 4 * H,
                                             saved.h_prev.data<T>() + row_t * H, TT * H, dout, dout_ld, dh_a,
                                             dzx.data<T>() + row_t * GH, TT * GH, dzr.data<T>() + row_t * GH, TT * GH,
                                             dh_b, mask_t, TT);
          break;
      }
      // The recurrent path: dh_prev += dZ_t U^T (times the dropout mask the forward applied to h).
      if (state_mask) {
        recurrent_step_product<T>(f.bf16, true, n, H, GH, dzr.data<T>() + row_t * GH, TT * GH, U,
                                  saved.recurrent_bf16.data(), GH, false, through_u.data(), H, rounded);
        for (std::size_t i = 0; i < through_u.size(); ++i) dh_b[i] += through_u[i] * state_mask[i];
      } else {
        recurrent_step_product<T>(f.bf16, true, n, H, GH, dzr.data<T>() + row_t * GH, TT * GH, U,
                                  saved.recurrent_bf16.data(), GH, true, dh_b, H, rounded);
      }
      std::swap(dh_a, dh_b);
    }
    // After T swaps the gradient of h0 is in dh_a; keep it in `dh`.
    if (dh_a != dh.data<T>() + b0 * H) std::copy(dh_a, dh_a + n * H, dh.data<T>() + b0 * H);
  });
  Tensor gx, gw, gu, gb, gh0, gc0;
  const std::int64_t rows = B * TT;
  if (need.x) {
    gx = Tensor::empty({B, TT, d.I}, dtype);
    recurrent_product<T>(f.bf16, false, true, rows, d.I, GH, dzx.data<T>(), GH, saved.kernel.data<T>(), GH, false,
                         gx.data<T>(), d.I);
  }
  if (need.kernel) {
    gw = Tensor::empty({d.I, GH}, dtype);
    recurrent_product<T>(f.bf16, true, false, d.I, GH, rows, saved.x.data<T>(), d.I, dzx.data<T>(), GH, false,
                         gw.data<T>(), GH);
  }
  if (need.recurrent) {
    // dU = (Hprev * mask)^T dZ: U met the masked state.
    Tensor h_used = saved.h_prev;
    if (saved.state_mask.defined()) {
      h_used = Tensor::empty({B, TT, H}, dtype);
      const T* hp = saved.h_prev.data<T>();
      const T* m = saved.state_mask.data<T>();
      T* out = h_used.data<T>();
      for (std::int64_t i = 0; i < B * TT * H; ++i) out[i] = hp[i] * m[(i / (TT * H)) * H + i % H];
    }
    gu = Tensor::empty({H, GH}, dtype);
    recurrent_product<T>(f.bf16, true, false, H, GH, rows, h_used.data<T>(), H, dzr.data<T>(), GH, false, gu.data<T>(),
                         GH);
  }
  if (need.bias) {
    gb = Tensor::empty(cell == Cell::GRU ? Shape{2, GH} : Shape{GH}, dtype);
    kernels::cpu::activation_bias_backward<T>(nullptr, dzx.data<T>(), nullptr, gb.data<T>(), rows, GH, false);
    if (cell == Cell::GRU) {
      kernels::cpu::activation_bias_backward<T>(nullptr, dzr.data<T>(), nullptr, gb.data<T>() + GH, rows, GH, false);
    }
  }
  if (need.h0) gh0 = dh;
  if (need.c0) gc0 = dc;
  return {gx, gw, gu, gb, gh0, gc0};
}

// A view of `length` elements of the flat tensor `packed`, starting at
// `offset`, with shape `shape`. Its gradient is placed into a zero tensor of
// packed's size: this is how one op hands out several differentiable outputs.
Tensor part_of(const Tensor& packed, std::int64_t offset, const Shape& shape) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = packed.impl()->storage;
  impl->offset = packed.impl()->offset + offset;
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = packed.dtype();
  Tensor out(std::move(impl));
  if (autograd::needs_grad({&packed})) {
    const std::int64_t total = packed.numel();
    autograd::record(out, "recurrent_output", {packed}, [offset, total](const Tensor& g) -> std::vector<Tensor> {
      Tensor full = Tensor::zeros({total}, g.dtype());
      const Tensor gc = g.contiguous();
      const std::size_t elem = dtype_size(g.dtype());
      std::memcpy(static_cast<char*>(full.raw_data()) + offset * elem, gc.raw_data(), gc.numel() * elem);
      return {full};
    });
  }
  return out;
}

RecurrentResult run(Cell cell, const Tensor& x_in, const Tensor& kernel_in, const Tensor& recurrent_in,
                    const Tensor& bias_in, const std::vector<Tensor>& initial_state, const Tensor& mask,
                    const RecurrentOptions& options) {
  const Dims d = check_arguments(cell, x_in, kernel_in, recurrent_in, bias_in, initial_state, mask);
  if (cell == Cell::SimpleRNN && options.activation != "tanh" && options.activation != "relu") {
    throw Error("simple_rnn: activation must be \"tanh\" or \"relu\", got \"" + options.activation + "\"");
  }
  const Flags f{options.return_sequences,     options.return_state,
                options.go_backwards,         options.zero_output_for_mask,
                options.activation == "relu", ops_detail::runs_bf16(x_in.dtype(), options.compute)};
  auto saved = std::make_shared<Saved>();
  saved->x = x_in.contiguous().detach();
  saved->kernel = kernel_in.contiguous().detach();
  saved->recurrent = recurrent_in.contiguous().detach();
  saved->mask = step_kinds(mask, f);
  if (const Tensor& m = options.recurrent_dropout_mask; m.defined()) {
    check_shape(m, {d.B, d.H}, op_name(cell), "recurrent_dropout_mask");
    saved->state_mask = m.to(x_in.dtype()).contiguous().detach();
  }
  const Tensor bias = bias_in.defined() ? bias_in.contiguous() : Tensor();
  const Shape out_shape = f.return_sequences ? Shape{d.B, d.T, d.H} : Shape{d.B, d.H};
  const std::int64_t out_n = shape_numel(out_shape), states = f.return_state ? std::int64_t(state_count(cell)) : 0;
  Tensor packed = Tensor::empty(states ? Shape{out_n + states * d.B * d.H} : out_shape, x_in.dtype());
  dispatch_floating(x_in.dtype(), op_name(cell),
                    [&]<typename T>() { run_forward<T>(cell, d, f, bias, initial_state, *saved, packed); });

  std::vector<Tensor> inputs{x_in, kernel_in, recurrent_in, bias_in};
  for (std::size_t i = 0; i < 2; ++i) inputs.push_back(i < initial_state.size() ? initial_state[i] : Tensor());
  if (autograd::needs_grad(inputs)) {
    auto wants = [&](std::size_t i) { return inputs[i].defined() && inputs[i].requires_grad(); };
    const Needs need{wants(0), wants(1), wants(2), wants(3), wants(4), wants(5)};
    autograd::record(packed, op_name(cell), inputs, [cell, d, f, saved, need](const Tensor& g) {
      const Tensor gc = g.contiguous();
      return dispatch_floating(gc.dtype(), op_name(cell), [&]<typename T>() {
        return run_recurrent_backward<T>(cell, d, f, *saved, need, gc);
      });
    });
  }
  if (!f.return_state) return {packed, {}};
  RecurrentResult result{part_of(packed, 0, out_shape), {}};
  for (std::int64_t i = 0; i < states; ++i) result.states.push_back(part_of(packed, out_n + i * d.B * d.H, {d.B, d.H}));
  return result;
}

}  // namespace

RecurrentResult simple_rnn(const Tensor& x, const Tensor& kernel, const Tensor& recurrent_kernel, const Tensor& bias,
                           const std::vector<Tensor>& initial_state, const Tensor& mask,
                           const RecurrentOptions& options) {
  return run(Cell::SimpleRNN, x, kernel, recurrent_kernel, bias, initial_state, mask, options);
}

RecurrentResult lstm(const Tensor& x, const Tensor& kernel, const Tensor& recurrent_kernel, const Tensor& bias,
                     const std::vector<Tensor>& initial_state, const Tensor& mask, const RecurrentOptions& options) {
  return run(Cell::LSTM, x, kernel, recurrent_kernel, bias, initial_state, mask, options);
}

RecurrentResult gru(const Tensor& x, const Tensor& kernel, const Tensor& recurrent_kernel, const Tensor& bias,
                    const std::vector<Tensor>& initial_state, const Tensor& mask, const RecurrentOptions& options) {
  return run(Cell::GRU, x, kernel, recurrent_kernel, bias, initial_state, mask, options);
}

}  // namespace kiln
