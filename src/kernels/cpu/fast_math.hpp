// exp, sigmoid and tanh for the gate loops of recurrent cells.
//
// std::exp does not vectorise (glibc's vector variants need -ffast-math), so a
// loop of gate activations would run one value at a time. The float versions
// here are plain arithmetic that the compiler turns into SIMD: Cephes's expf
// (range reduction by powers of two, a degree-5 polynomial; about 2 ulp) on
// inputs clamped to where float stays finite. The double versions are the
// exact library functions: double is the reference path gradient checks use.
// Everything is forced inline so each target_clones copy of a caller gets its
// own vector code.
#pragma once
#include <cmath>
#include <cstdint>
#include <bit>

#define KILN_ALWAYS_INLINE inline __attribute__((always_inline))

// Put around the loops that call these functions. GCC's partial-redundancy elimination
// sees exp_approx's clamp as a branch to two constants and moves the arithmetic of those
// constant cases into the branches; the loop then has control flow and stays scalar in
// some target_clones copies (in the AVX2 one of the LSTM step: 40% of an LSTM's
// training time on a Zen 3). Turning that one pass off for the file keeps every copy
// vectorised.
#if defined(__GNUC__) && !defined(__clang__)
#define KILN_VECTOR_MATH_BEGIN _Pragma("GCC push_options") _Pragma("GCC optimize(\"no-tree-pre\")")
#define KILN_VECTOR_MATH_END _Pragma("GCC pop_options")
#else
#define KILN_VECTOR_MATH_BEGIN
#define KILN_VECTOR_MATH_END
#endif

namespace kiln::kernels::cpu {

KILN_ALWAYS_INLINE float exp_approx(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  // n = round(x / ln 2) by the 1.5 * 2^23 trick (no rounding instruction needed).
  const float shifter = 12582912.0f;
  const float n = (x * 1.44269504088896341f + shifter) - shifter;
  // r = x - n ln 2, with ln 2 split in two so r keeps its low bits (Cody-Waite).
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float e = p * (r * r) + r + 1.0f;
  // 2^n from the exponent bits; n is in [-126, 127] after the clamp.
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  return e * std::bit_cast<float>(bits);
}

KILN_ALWAYS_INLINE double exp_approx(double x) { return std::exp(x); }

template <typename T>
KILN_ALWAYS_INLINE T sigmoid_approx(T x) {
  return T(1) / (T(1) + exp_approx(-x));
}

// tanh(x) = 2 sigmoid(2x) - 1: absolute error ~1e-7 in float (no relative
// accuracy near 0 is needed: gates add these values to others of order one).
KILN_ALWAYS_INLINE float tanh_approx(float x) { return 2.0f / (1.0f + exp_approx(-2.0f * x)) - 1.0f; }
KILN_ALWAYS_INLINE double tanh_approx(double x) { return std::tanh(x); }

}  // namespace kiln::kernels::cpu
