#include "kernels/cpu/optimizer.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/multiversion.hpp"
#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {

namespace {

template <typename T>
KILN_MULTIVERSION void adam_range(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v, T lr_t,
                                  T beta1, T beta2, T epsilon, std::int64_t begin, std::int64_t end) {
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

template <typename T>
void nadam_update(T* p, const T* g, T* m, T* v, std::int64_t n, T lr, T beta1, T beta2, T epsilon, T m_coef, T g_coef,
                  T v_coef) {
  parallel_for(n, 8, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const T gi = g[i];
      const T mi = m[i] += (gi - m[i]) * (T(1) - beta1);
      const T vi = v[i] += (gi * gi - v[i]) * (T(1) - beta2);
      p[i] -= lr * (m_coef * mi + g_coef * gi) / (std::sqrt(vi * v_coef) + epsilon);
    }
  });
}

template <typename T>
void adagrad_update(T* p, const T* g, T* a, std::int64_t n, T lr, T epsilon) {
  parallel_for(n, 8, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const T gi = g[i];
      const T ai = a[i] += gi * gi;
      p[i] -= lr * gi / std::sqrt(ai + epsilon);
    }
  });
}

template <typename T>
void adamax_update(T* p, const T* g, T* m, T* u, std::int64_t n, T lr_t, T beta1, T beta2, T epsilon) {
  parallel_for(n, 8, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const T gi = g[i];
      const T mi = m[i] += (gi - m[i]) * (T(1) - beta1);
      const T ui = u[i] = std::max(beta2 * u[i], std::abs(gi));
      p[i] -= lr_t * mi / (ui + epsilon);
    }
  });
}

template <typename T>
void lion_update(T* p, const T* g, T* m, std::int64_t n, T lr, T beta1, T beta2) {
  parallel_for(n, 8, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const T c = beta1 * m[i] + (T(1) - beta1) * g[i];
      p[i] -= lr * T((c > T(0)) - (c < T(0)));
      m[i] = beta2 * m[i] + (T(1) - beta2) * g[i];
    }
  });
}

template <typename T>
void decay_weights(T* p, std::int64_t n, T decay) {
  parallel_for(n, 4, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) p[i] -= p[i] * decay;
  });
}

template <typename T>
double sum_of_squares(const T* x, std::int64_t n) {
  // Serial: a fixed summation order keeps clipping deterministic whatever the thread count.
  double s = 0;
  for (std::int64_t i = 0; i < n; ++i) s += double(x[i]) * double(x[i]);
  return s;
}

template <typename T>
void scale_in_place(T* x, std::int64_t n, T scale) {
  parallel_for(n, 4, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) x[i] *= scale;
  });
}

template <typename T>
void clip_in_place(T* x, std::int64_t n, T limit) {
  parallel_for(n, 4, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) x[i] = std::min(std::max(x[i], -limit), limit);
  });
}

template <typename T>
void moving_average_update(T* a, const T* p, std::int64_t n, T momentum) {
  parallel_for(n, 4, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) a[i] = momentum * a[i] + (T(1) - momentum) * p[i];
  });
}

#define KILN_INSTANTIATE_OPTIMIZER_KERNELS(T)                                             \
  template void nadam_update<T>(T*, const T*, T*, T*, std::int64_t, T, T, T, T, T, T, T); \
  template void adagrad_update<T>(T*, const T*, T*, std::int64_t, T, T);                  \
  template void adamax_update<T>(T*, const T*, T*, T*, std::int64_t, T, T, T, T);         \
  template void lion_update<T>(T*, const T*, T*, std::int64_t, T, T, T);                  \
  template void decay_weights<T>(T*, std::int64_t, T);                                    \
  template double sum_of_squares<T>(const T*, std::int64_t);                              \
  template void scale_in_place<T>(T*, std::int64_t, T);                                   \
  template void clip_in_place<T>(T*, std::int64_t, T);                                    \
  template void moving_average_update<T>(T*, const T*, std::int64_t, T);
KILN_INSTANTIATE_OPTIMIZER_KERNELS(float)
KILN_INSTANTIATE_OPTIMIZER_KERNELS(double)
#undef KILN_INSTANTIATE_OPTIMIZER_KERNELS

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
