// Batch normalisation kernels, channels last. Every axis but the channels is
// folded into rows:
//   x, y, dy, dx   [M, C]    M = batch x pixels
//   per channel    [C]       mean, var (biased: divided by M), inv_std = 1 / sqrt(var + epsilon),
//                            gamma, beta (either may be null: 1 and 0)
// xhat = (x - mean) * inv_std;  y = gamma * xhat + beta.
// Sums over rows are taken in per-thread blocks combined in a fixed order, in
// double precision, so the result depends only on the thread count.
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

// The batch's mean and biased variance of each channel (two passes, for accuracy).
template <typename T>
void batch_norm_statistics(const T* x, std::int64_t M, std::int64_t C, T* mean, T* var);

// The two passes' sums, in double, for statistics gathered from several processes (which add
// their sums up between the passes): sums[c] = sum_r x[r, c], and squares[c] =
// sum_r (x[r, c] - center[c])^2.
template <typename T>
void batch_norm_channel_sums(const T* x, std::int64_t M, std::int64_t C, double* sums);
template <typename T>
void batch_norm_squared_deviations(const T* x, const double* center, std::int64_t M, std::int64_t C, double* squares);

template <typename T>
void batch_norm_forward(const T* x, const T* mean, const T* inv_std, const T* gamma, const T* beta, T* y,
                        std::int64_t M, std::int64_t C);

// sum_dy[c] = sum_r dy[r, c];  sum_dy_xhat[c] = sum_r dy[r, c] * xhat[r, c].
// (The gradients of beta and gamma.)
template <typename T>
void batch_norm_backward_sums(const T* x, const T* dy, const T* mean, const T* inv_std, T* sum_dy, T* sum_dy_xhat,
                              std::int64_t M, std::int64_t C);

// The input gradient. With batch statistics (training) the mean and variance
// depend on x too:  dx = gamma * inv_std * (dy - (sum_dy + xhat * sum_dy_xhat) / M);
// with fixed statistics (inference):  dx = gamma * inv_std * dy.
template <typename T>
void batch_norm_backward_input(const T* x, const T* dy, const T* mean, const T* inv_std, const T* gamma,
                               const T* sum_dy, const T* sum_dy_xhat, T* dx, std::int64_t M, std::int64_t C,
                               bool batch_statistics);

}  // namespace kiln::kernels::cpu
