// Softmax and log-softmax over the last axis of a [rows, cols] array.
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

template <typename T>
void softmax(const T* x, T* y, std::int64_t rows, std::int64_t cols);
template <typename T>
void log_softmax(const T* x, T* y, std::int64_t rows, std::int64_t cols);
// gx = y * (gy - sum(gy * y)), from the softmax output y
template <typename T>
void softmax_backward(const T* y, const T* gy, T* gx, std::int64_t rows, std::int64_t cols);
// gx = gy - softmax * sum(gy), from the log-softmax output y
template <typename T>
void log_softmax_backward(const T* y, const T* gy, T* gx, std::int64_t rows, std::int64_t cols);

}  // namespace kiln::kernels::cpu
