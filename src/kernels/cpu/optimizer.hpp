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

// Keras's Nadam, m, v updated in place: m += (1 - beta1)(g - m); v += (1 - beta2)(g^2 - v);
// p -= lr (m_coef m + g_coef g) / (sqrt(v_coef v) + epsilon), where m_coef = u_{t+1} / (1 - prod u_1..u_{t+1}),
// g_coef = (1 - u_t) / (1 - prod u_1..u_t), v_coef = 1 / (1 - beta2^t).
template <typename T>
void nadam_update(T* p, const T* g, T* m, T* v, std::int64_t n, T lr, T beta1, T beta2, T epsilon, T m_coef, T g_coef,
                  T v_coef);

// Keras's Adagrad: a += g^2; p -= lr g / sqrt(a + epsilon).
template <typename T>
void adagrad_update(T* p, const T* g, T* a, std::int64_t n, T lr, T epsilon);

// Keras's Adamax: m += (1 - beta1)(g - m); u = max(beta2 u, |g|); p -= lr_t m / (u + epsilon),
// lr_t = lr / (1 - beta1^t).
template <typename T>
void adamax_update(T* p, const T* g, T* m, T* u, std::int64_t n, T lr_t, T beta1, T beta2, T epsilon);

// Keras's Lion: p -= lr sign(beta1 m + (1 - beta1) g); m = beta2 m + (1 - beta2) g.
template <typename T>
void lion_update(T* p, const T* g, T* m, std::int64_t n, T lr, T beta1, T beta2);

// --- the options every optimizer has ---

// Keras's decoupled weight decay: p -= p * (weight_decay * lr).
template <typename T>
void decay_weights(T* p, std::int64_t n, T decay);

// sum of x^2, accumulated in double (gradient norms for clipping).
template <typename T>
double sum_of_squares(const T* x, std::int64_t n);

// x *= scale.
template <typename T>
void scale_in_place(T* x, std::int64_t n, T scale);

// x = clip(x, -limit, limit).
template <typename T>
void clip_in_place(T* x, std::int64_t n, T limit);

// The weights' moving average: a = momentum a + (1 - momentum) p.
template <typename T>
void moving_average_update(T* a, const T* p, std::int64_t n, T momentum);

}  // namespace kiln::kernels::cpu
