// Reductions. A tensor reduced along one axis is viewed as [outer, r, inner].
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

// y[o, i] = sum_k x[o, k, i]
template <typename T>
void sum_axis(const T* x, T* y, std::int64_t outer, std::int64_t r, std::int64_t inner);
// y[o, i] = max_k x[o, k, i]
template <typename T>
void max_axis(const T* x, T* y, std::int64_t outer, std::int64_t r, std::int64_t inner);
// index of the first maximum along r
template <typename T>
void argmax_axis(const T* x, std::int64_t* y, std::int64_t outer, std::int64_t r, std::int64_t inner);
// Sum of n values in a fixed order (blocked, so the result does not depend on the thread count).
template <typename T>
T sum_all(const T* x, std::int64_t n);

}  // namespace kiln::kernels::cpu
