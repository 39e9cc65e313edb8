// One time step of a recurrent cell, over the B rows of a batch (T = float or double).
//
// The recurrent ops (src/ops/recurrent.cpp) keep whole sequences batch-major,
// [B, time, width], so one step is a strided slice: every array comes with its
// row stride `*_ld` in elements. Running states h and c are contiguous [B, H].
// Gate blocks lie side by side in Keras's order (see include/kiln/ops/recurrent.hpp).
//
// mask: one byte per row (stride mask_ld), or null when every step is real:
//   kRealStep     the step runs;
//   kZeroOutput   masked: the state is kept and the output is zero;
//   kRepeatOutput masked: the state is kept and the output repeats the
//                 previous step's, which is the kept h.
// The op decides which masked steps repeat (kiln/ops/recurrent.hpp). A masked
// step passes the state's gradient straight through to the previous step.
//
// Backward kernels take dh, the gradient reaching this step's h from later
// steps (a scratch buffer: the gradient of the step's output, dout, or null,
// is added into it), and write dh_prev, the part of the previous h's gradient
// that does not go through the recurrent kernel (the caller adds dz U^T with a
// GEMM).
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

inline constexpr std::uint8_t kZeroOutput = 0, kRealStep = 1, kRepeatOutput = 2;

// LSTM, gates i, f, c (candidate, "g"), o. z [B, 4H]: x W + h U without the
// bias; overwritten with the activations i, f, g, o.
template <typename T>
void lstm_step_forward(std::int64_t B, std::int64_t H, T* z, std::int64_t z_ld, const T* bias, T* h, T* c, T* out,
                       std::int64_t out_ld, const std::uint8_t* mask, std::int64_t mask_ld);

// act [B, 4H]: the step's activations; c_prev [B, H]: the cell state before the
// step. Writes dz [B, 4H] (gradient of the pre-activations, zero on masked
// rows); dc is updated in place from the gradient of c to that of c_prev.
template <typename T>
void lstm_step_backward(std::int64_t B, std::int64_t H, const T* act, std::int64_t act_ld, const T* c_prev,
                        std::int64_t c_ld, const T* dout, std::int64_t dout_ld, T* dh, T* dc, T* dz,
                        std::int64_t dz_ld, T* dh_prev, const std::uint8_t* mask, std::int64_t mask_ld);

// GRU with reset_after (Keras's TF2 default, and PyTorch's), gates z, r, h.
// zx [B, 3H]: x W; zr [B, 3H] (contiguous): h U; biases [3H] each (input, recurrent) or null.
// act [B, 4H] receives z, r, hh (the candidate) and u_h (h U_h + b_rh, kept for the backward).
template <typename T>
void gru_step_forward(std::int64_t B, std::int64_t H, const T* zx, std::int64_t zx_ld, const T* zr,
                      const T* bias_x, const T* bias_r, T* act, std::int64_t act_ld, T* h, T* out,
                      std::int64_t out_ld, const std::uint8_t* mask, std::int64_t mask_ld);

// Writes dzx [B, 3H] (gradient of x W + b_x) and dzr [B, 3H] (of h U + b_r);
// they differ in the candidate block, where the recurrent part is scaled by r.
template <typename T>
void gru_step_backward(std::int64_t B, std::int64_t H, const T* act, std::int64_t act_ld, const T* h_prev,
                       std::int64_t h_ld, const T* dout, std::int64_t dout_ld, T* dh, T* dzx, std::int64_t dzx_ld,
                       T* dzr, std::int64_t dzr_ld, T* dh_prev, const std::uint8_t* mask, std::int64_t mask_ld);

// SimpleRNN: h = activation(x W + h U + b), activation tanh (relu = false) or relu.
// z [B, H] is overwritten with the new h (what the backward needs).
template <typename T>
void rnn_step_forward(std::int64_t B, std::int64_t H, T* z, std::int64_t z_ld, const T* bias, bool relu, T* h, T* out,
                      std::int64_t out_ld, const std::uint8_t* mask, std::int64_t mask_ld);

template <typename T>
void rnn_step_backward(std::int64_t B, std::int64_t H, const T* act, std::int64_t act_ld, bool relu, const T* dout,
                       std::int64_t dout_ld, T* dh, T* dz, std::int64_t dz_ld, T* dh_prev,
                       const std::uint8_t* mask, std::int64_t mask_ld);

}  // namespace kiln::kernels::cpu
