// The gradient that reaches a layer's pre-activation, and its bias gradient,
// in one pass over [rows, channels] data (rows = batch x pixels).
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

// gz = relu ? gy * (y > 0) : gy, and gb[c] = sum over rows of gz[r, c].
// y is the layer's output after the ReLU. gz is required with relu; without
// it, gz may be null (only gb is wanted). gb may be null. Partial sums are combined in
// a fixed order, so the result depends only on the thread count.
template <typename T>
void activation_bias_backward(const T* y, const T* gy, T* gz, T* gb, std::int64_t rows, std::int64_t channels,
                              bool relu);

// y[r, c] += b[c] over [rows, channels] data: the bias of an op whose main
// kernel cannot add it (the transposed convolution runs a data gradient).
template <typename T>
void add_bias(T* y, const T* b, std::int64_t rows, std::int64_t channels);

}  // namespace kiln::kernels::cpu
