#include "kernels/cpu/activations.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "kernels/cpu/fast_math.hpp"
#include "kernels/cpu/multiversion.hpp"
#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {
KILN_VECTOR_MATH_BEGIN
namespace {

// vector_exp, vector_tanh, ... (fast_math.hpp): in float within 3 ulp (erf 5) and
// vectorisable, so that the loops below run on vector registers; in double the
// library functions.

// Keras's SELU constants (Klambauer et al.).
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
constexpr double kGeluTanhC = 0.044715;

template <typename T>
KILN_ALWAYS_INLINE T softplus(T x) {
  // max(x, 0) + log1p(exp(-|x|)): no overflow for large |x|.
  return std::max(x, T(0)) + vector_log1p(vector_exp(-std::abs(x)));
}

template <typename T>
KILN_ALWAYS_INLINE T forward_one(Activation kind, const ActivationParams& p, T x) {
  switch (kind) {
    case Activation::Gelu:
      return T(0.5) * x * (T(1) + vector_erf(x * T(std::numbers::sqrt2 / 2)));
    case Activation::GeluTanh: {
      const T k = T(std::sqrt(2.0 / std::numbers::pi));
      return T(0.5) * x * (T(1) + vector_tanh(k * (x + T(kGeluTanhC) * x * x * x)));
    }
    case Activation::Silu:
      return x * vector_sigmoid(x);
    case Activation::Elu:
      return x > 0 ? x : T(p.alpha) * vector_expm1(x);
    case Activation::Selu:
      return T(kSeluScale) * (x > 0 ? x : T(kSeluAlpha) * vector_expm1(x));
    case Activation::Softplus:
      return softplus(x);
    case Activation::Softsign:
      return x / (std::abs(x) + T(1));
    case Activation::HardSigmoid:
      return std::min(std::max(x + T(3), T(0)), T(6)) / T(6);
    case Activation::HardSilu:
      return x * std::min(std::max(x + T(3), T(0)), T(6)) / T(6);
    case Activation::Mish:
      return x * vector_tanh(softplus(x));
    case Activation::Exponential:
      return vector_exp(x);
    case Activation::Relu:
      // Keras: min(x, max_value) above the threshold, slope * (x - threshold) at or below it.
      return x > T(p.threshold) ? std::min(x, T(p.max_value)) : T(p.alpha) * (x - T(p.threshold));
  }
  return x;
}

// f'(x). At a kink the derivative is the one-sided value the frameworks' where(x > 0, ...)
// forms give: the left side's at 0 for elu, selu and relu.
template <typename T>
KILN_ALWAYS_INLINE T derivative_one(Activation kind, const ActivationParams& p, T x) {
  switch (kind) {
    case Activation::Gelu: {
      const T pdf = vector_exp(-T(0.5) * x * x) / T(std::sqrt(2.0 * std::numbers::pi));
      return T(0.5) * (T(1) + vector_erf(x * T(std::numbers::sqrt2 / 2))) + x * pdf;
    }
    case Activation::GeluTanh: {
      const T k = T(std::sqrt(2.0 / std::numbers::pi));
      const T th = vector_tanh(k * (x + T(kGeluTanhC) * x * x * x));
      return T(0.5) * (T(1) + th) + T(0.5) * x * (T(1) - th * th) * k * (T(1) + T(3 * kGeluTanhC) * x * x);
    }
    case Activation::Silu: {
      const T s = vector_sigmoid(x);
      return s * (T(1) + x * (T(1) - s));
    }
    case Activation::Elu:
      return x > 0 ? T(1) : T(p.alpha) * vector_exp(x);
    case Activation::Selu:
      return T(kSeluScale) * (x > 0 ? T(1) : T(kSeluAlpha) * vector_exp(x));
    case Activation::Softplus:
      return vector_sigmoid(x);
    case Activation::Softsign: {
      const T d = std::abs(x) + T(1);
      return T(1) / (d * d);
    }
    case Activation::HardSigmoid:
      return (x > T(-3) && x < T(3)) ? T(1) / T(6) : T(0);
    case Activation::HardSilu:
      if (x <= T(-3)) return T(0);
      if (x >= T(3)) return T(1);
      return (T(2) * x + T(3)) / T(6);
    case Activation::Mish: {
      const T th = vector_tanh(softplus(x));
      return th + x * (T(1) - th * th) * vector_sigmoid(x);
    }
    case Activation::Exponential:
      return vector_exp(x);
    case Activation::Relu:
      if (x > T(p.threshold)) return x < T(p.max_value) ? T(1) : T(0);
      return T(p.alpha);
  }
  return T(1);
}

// One loop per kind, so that forward_one and derivative_one fold to that kind's
// arithmetic and the loop vectorises (a switch per element would keep it scalar).
// params comes by value: read through a reference it kept elu's loop scalar (GCC 12).
#define KILN_FOR_EACH_ACTIVATION(X) \
  X(Gelu)                           \
  X(GeluTanh) X(Silu) X(Elu) X(Selu) X(Softplus) X(Softsign) X(HardSigmoid) X(HardSilu) X(Mish) X(Exponential) X(Relu)

template <typename T>
KILN_MULTIVERSION void activation_forward_range(Activation kind, ActivationParams params, const T* x, T* y,
                                                std::int64_t begin, std::int64_t end) {
  switch (kind) {
#define KILN_FORWARD_CASE(K)                                                                    \
  case Activation::K:                                                                           \
    for (std::int64_t i = begin; i < end; ++i) y[i] = forward_one(Activation::K, params, x[i]); \
    break;
    KILN_FOR_EACH_ACTIVATION(KILN_FORWARD_CASE)
#undef KILN_FORWARD_CASE
  }
}

template <typename T>
KILN_MULTIVERSION void activation_backward_range(Activation kind, ActivationParams params, const T* x, const T* gy,
                                                 T* gx, std::int64_t begin, std::int64_t end) {
  switch (kind) {
#define KILN_BACKWARD_CASE(K)                                                                               \
  case Activation::K:                                                                                       \
    for (std::int64_t i = begin; i < end; ++i) gx[i] = gy[i] * derivative_one(Activation::K, params, x[i]); \
    break;
    KILN_FOR_EACH_ACTIVATION(KILN_BACKWARD_CASE)
#undef KILN_BACKWARD_CASE
  }
}
#undef KILN_FOR_EACH_ACTIVATION

}  // namespace
KILN_VECTOR_MATH_END

template <typename T>
void activation_forward(Activation kind, const ActivationParams& params, const T* x, T* y, std::int64_t n) {
  parallel_for(n, 16,
               [&](std::int64_t begin, std::int64_t end) { activation_forward_range(kind, params, x, y, begin, end); });
}

template <typename T>
void activation_backward(Activation kind, const ActivationParams& params, const T* x, const T* gy, T* gx,
                         std::int64_t n) {
  parallel_for(n, 16, [&](std::int64_t begin, std::int64_t end) {
    activation_backward_range(kind, params, x, gy, gx, begin, end);
  });
}

template void activation_forward<float>(Activation, const ActivationParams&, const float*, float*, std::int64_t);
template void activation_forward<double>(Activation, const ActivationParams&, const double*, double*, std::int64_t);
template void activation_backward<float>(Activation, const ActivationParams&, const float*, const float*, float*,
                                         std::int64_t);
template void activation_backward<double>(Activation, const ActivationParams&, const double*, const double*, double*,
                                          std::int64_t);

}  // namespace kiln::kernels::cpu
