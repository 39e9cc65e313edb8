#include "kernels/cpu/optimizer.hpp"

#include <cmath>

#include "kernels/cpu/multiversion.hpp"
#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {

namespace {

template <typename T>
KILN_MULTIVERSION void adam_range(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, T lr_t, T beta1, T beta2, T epsilon,
                                  std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) {
    const T gi = g[i];
    const T mi = m[i] = beta1 * m[i] + (T(1) - beta1) * gi;
    const T vi = v[i] = beta2 * v[i] + (T(1) - beta2) * gi * gi;
    p[i] -= lr_t * mi / (std::sqrt(vi) + epsilon);
  }
}

}  // namespace

template <typename T>
void adam_update(T* p, const T* g, T* m, T* v, std::int64_t n, T lr_t, T beta1, T beta2, T epsilon) {
  parallel_for(n, 8, [&](std::int64_t begin, std::int64_t end) {
    adam_range(p, g, m, v, lr_t, beta1, beta2, epsilon, begin, end);
  });
}

template <typename T>
void sgd_update(T* p, const T* g, T* v, std::int64_t n, T lr, T momentum, bool nesterov) {
  parallel_for(n, 4, [&](std::int64_t begin, std::int64_t end) {
    if (v == nullptr) {
      for (std::int64_t i = begin; i < end; ++i) p[i] -= lr * g[i];
      return;
    }
    for (std::int64_t i = begin; i < end; ++i) {
      const T vi = v[i] = momentum * v[i] - lr * g[i];
      p[i] += nesterov ? momentum * vi - lr * g[i] : vi;
    }
  });
}

template <typename T>
void rmsprop_update(T* p, const T* g, T* v, T* m, T* a, std::int64_t n, T lr, T rho, T momentum, T epsilon) {
  parallel_for(n, 8, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const T gi = g[i];
      const T vi = v[i] = rho * v[i] + (T(1) - rho) * gi * gi;
      T denominator = vi + epsilon;
      if (a) {
        const T ai = a[i] = rho * a[i] + (T(1) - rho) * gi;
        denominator = vi - ai * ai + epsilon;
      }
      const T increment = lr * gi / std::sqrt(denominator);
      if (m) {
        p[i] -= (m[i] = momentum * m[i] + increment);
      } else {
        p[i] -= increment;
      }
    }
  });
}

template void adam_update<float>(float*, const float*, float*, float*, std::int64_t, float, float, float, float);
template void adam_update<double>(double*, const double*, double*, double*, std::int64_t, double, double, double,
                                  double);
template void sgd_update<float>(float*, const float*, float*, std::int64_t, float, float, bool);
template void sgd_update<double>(double*, const double*, double*, std::int64_t, double, double, bool);
template void rmsprop_update<float>(float*, const float*, float*, float*, float*, std::int64_t, float, float, float,
                                    float);
template void rmsprop_update<double>(double*, const double*, double*, double*, double*, std::int64_t, double, double,
                                     double, double);

}  // namespace kiln::kernels::cpu
