// Layer normalisation over the last axis of a [rows, cols] array:
//   y = (x - mean) / sqrt(var + eps) * gamma + beta, var the biased (population) variance.
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

// gamma/beta [cols] may be null (scale 1, offset 0). Keeps each row's mean and
// 1/sqrt(var + eps) in mean[rows] and rstd[rows] for the backward pass.
template <typename T>
void layer_norm_forward(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* rstd, std::int64_t rows,
                        std::int64_t cols, T eps);

// gx [rows, cols], ggamma/gbeta [cols]; any of them may be null (not wanted).
// Column sums are combined from per-thread partials in a fixed order.
template <typename T>
void layer_norm_backward(const T* x, const T* gamma, const T* mean, const T* rstd, const T* gy, T* gx, T* ggamma,
                         T* gbeta, std::int64_t rows, std::int64_t cols);

}  // namespace kiln::kernels::cpu
