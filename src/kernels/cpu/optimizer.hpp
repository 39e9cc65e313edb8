// Parameter updates, one fused pass over each parameter.
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

// Keras's Adam: m, v updated in place, then
// p -= lr_t * m / (sqrt(v) + epsilon), lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t).
template <typename T>
void adam_update(T* p, const T* g, T* m, T* v, std::int64_t n, T lr_t, T beta1, T beta2, T epsilon);

// Keras's SGD. Without momentum: p -= lr * g. With momentum (velocity v):
// v = momentum * v - lr * g; p += v, or with Nesterov p += momentum * v - lr * g.
template <typename T>
void sgd_update(T* p, const T* g, T* v, std::int64_t n, T lr, T momentum, bool nesterov);

}  // namespace kiln::kernels::cpu
