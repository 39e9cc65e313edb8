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

// Keras's RMSprop, v (and m, a when given) updated in place:
// v = rho v + (1 - rho) g^2; centered (a != nullptr): a = rho a + (1 - rho) g;
// inc = lr g / sqrt(v - a^2 + epsilon); with momentum (m != nullptr)
// m = momentum m + inc, p -= m; otherwise p -= inc.
template <typename T>
void rmsprop_update(T* p, const T* g, T* v, T* m, T* a, std::int64_t n, T lr, T rho, T momentum, T epsilon);

}  // namespace kiln::kernels::cpu
