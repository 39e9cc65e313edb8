// exp, log, erf, sigmoid and tanh that vectorise: for the gate loops of recurrent
// cells (the *_approx functions) and for the elementwise ops, softmax and
// activations on whole tensors (the vector_* functions, with the library's
// accuracy and edge cases).
//
// std::exp does not vectorise (glibc's vector variants need -ffast-math), so a
// loop of them would run one value at a time. The float versions here are plain
// arithmetic that the compiler turns into SIMD: range reduction and a polynomial
// (Cephes's for exp and tanh, least-squares fits for log and erf). The double
// versions are the exact library functions: double is the reference path gradient
// checks use. Everything is forced inline so each target_clones copy of a caller
// gets its own vector code.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#define KILN_ALWAYS_INLINE inline __attribute__((always_inline))

// Put around the loops that call these functions. GCC's partial-redundancy elimination
// sees the clamp in exp_approx as a branch to two constants and moves the arithmetic
// of those cases into the branches; the loop then has control flow and stays scalar in
// some target_clones copies (in the AVX2 one of the LSTM step: 40% of an LSTM's
// training time on a Zen 3). Turning that one pass off for the file keeps every copy
// vectorised. The selects in vector_tanh and vector_expm1 need one more thing, set
// for the whole library in CMakeLists.txt: -fno-trapping-math, without which GCC may
// not compute both sides of a select unconditionally on AVX2 (no masked instructions).
// A per-function optimize("no-trapping-math") would not do: GCC then refuses to inline
// the std:: helpers these functions call.
#if defined(__GNUC__) && !defined(__clang__)
#define KILN_VECTOR_MATH_BEGIN _Pragma("GCC push_options") _Pragma("GCC optimize(\"no-tree-pre\")")
#define KILN_VECTOR_MATH_END _Pragma("GCC pop_options")
#else
#define KILN_VECTOR_MATH_BEGIN
#define KILN_VECTOR_MATH_END
#endif

namespace kiln::kernels::cpu {

// c0 x^n + c1 x^(n-1) + ... + cn by Horner's rule, highest power first.
KILN_ALWAYS_INLINE float horner(float, float c) { return c; }
template <typename... Rest>
KILN_ALWAYS_INLINE float horner(float x, float c0, float c1, Rest... rest) {
  return horner(x, c0 * x + c1, rest...);
}

// exp(n ln 2 + r) / 2^n = e^r for the integer n nearest x / ln 2: r = x - n ln 2, with
// ln 2 split in two so r keeps its low bits (Cody-Waite), then Cephes's degree-5
// polynomial for e^r on |r| <= ln 2 / 2.
KILN_ALWAYS_INLINE float exp_reduced(float x, float n) {
  const float r = (x - n * 0.693359375f) + n * 2.12194440e-4f;
  const float p = horner(r, 1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f,
                         5.0000001201e-1f);
  return p * (r * r) + r + 1.0f;
}

// n = round(x / ln 2) by the 1.5 * 2^23 trick (no rounding instruction needed):
// x / ln 2 + kRoundShifter holds n in its low mantissa bits.
constexpr float kRoundShifter = 12582912.0f;

KILN_ALWAYS_INLINE float exp_approx(float x) {
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  const float n = (x * 1.44269504088896341f + kRoundShifter) - kRoundShifter;
  // 2^n from the exponent bits; n is in [-126, 127] after the clamp.
  const std::int32_t bits = (static_cast<std::int32_t>(n) + 127) << 23;
  return exp_reduced(x, n) * std::bit_cast<float>(bits);
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

// exp(x) for any float, with the library's edge cases: +inf above 88.72, subnormal
// results down to -103.9 and 0 below, NaN for NaN; within 2 ulp elsewhere. The
// same e^r as exp_approx; 2^n is applied as two powers of two so that n may
// leave the normal exponent range, and n is read from the bits of the rounded
// float (no float-to-int conversion, which is undefined for NaN).
KILN_ALWAYS_INLINE float vector_exp(float x) {
  x = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x);
  const float shifted = x * 1.44269504088896341f + kRoundShifter;
  const float n = shifted - kRoundShifter;
  // n in [-150, 129]: halves n1, n2 with n1 + n2 = n each give a normal power of two.
  const std::int32_t n_int =
      static_cast<std::int32_t>(std::bit_cast<std::uint32_t>(shifted) - std::bit_cast<std::uint32_t>(kRoundShifter));
  const std::int32_t n1 = n_int / 2, n2 = n_int - n1;
  const float two_n1 = std::bit_cast<float>(static_cast<std::uint32_t>(n1 + 127) << 23);
  const float two_n2 = std::bit_cast<float>(static_cast<std::uint32_t>(n2 + 127) << 23);
  return exp_reduced(x, n) * two_n1 * two_n2;
}

// exp(x) - 1 with relative accuracy near 0, where the difference would cancel:
// its Taylor series up to x^8 for |x| < 0.25 (truncation below 2e-10 relative).
KILN_ALWAYS_INLINE float vector_expm1(float x) {
  const float p =
      horner(x, 1.0f / 40320.0f, 1.0f / 5040.0f, 1.0f / 720.0f, 1.0f / 120.0f, 1.0f / 24.0f, 1.0f / 6.0f, 0.5f);
  const float small = p * (x * x) + x;
  const float large = vector_exp(x) - 1.0f;
  return (x > -0.25f && x < 0.25f) ? small : large;
}

// log(x) within 2 ulp, with the library's edge cases (log 0 = -inf, log of a
// negative number or NaN = NaN, log inf = inf; subnormals exact). x = m 2^e with m
// in [sqrt(1/2), sqrt(2)), read from the bits; log(m) = f + f^2 P(f), f = m - 1, P a
// least-squares fit (scripts/fit_vector_math.py); e ln 2 in two parts as in exp.
KILN_ALWAYS_INLINE float vector_log(float x) {
  const bool subnormal = x < 1.17549435e-38f;
  const float scaled = subnormal ? x * 8388608.0f : x;  // 2^23: into the normal range
  // Subtracting the bits of sqrt(1/2) makes the exponent field count from there.
  const std::uint32_t offset = std::bit_cast<std::uint32_t>(scaled) - 0x3f3504f3u;
  const float e = static_cast<float>(static_cast<std::int32_t>(offset) >> 23) - (subnormal ? 23.0f : 0.0f);
  const float f = std::bit_cast<float>((offset & 0x007fffffu) + 0x3f3504f3u) - 1.0f;
  const float p = horner(f, -7.866649330e-02f, 1.282195300e-01f, -1.310174018e-01f, 1.418897659e-01f, -1.662758589e-01f,
                         2.000197023e-01f, -2.500077188e-01f, 3.333332241e-01f, -4.999999702e-01f);
  const float r = (f * f * p + e * -2.12194440e-4f) + f + e * 0.693359375f;
  const float inf = std::numeric_limits<float>::infinity();
  const float finite = x == inf ? inf : (x == 0.0f ? -inf : r);
  return x >= 0.0f ? finite : std::numeric_limits<float>::quiet_NaN();  // negative or NaN
}

// log(1 + y) with relative accuracy for small y (where 1 + y rounds): log(u) of
// u = 1 + y, corrected by the rounding error of u (Kahan's trick).
KILN_ALWAYS_INLINE float vector_log1p(float y) {
  const float u = 1.0f + y;
  const float log_u = vector_log(u);
  const float corrected = log_u - ((u - 1.0f) - y) / u;
  return (u == 0.0f || u == std::numeric_limits<float>::infinity()) ? log_u : corrected;
}

// 1 / (1 + exp(-x)) computed from exp(-|x|) so that neither side overflows: the
// tails keep their relative accuracy (sigmoid(-100) is 3.7e-44, not 0).
KILN_ALWAYS_INLINE float vector_sigmoid(float x) {
  const float e = vector_exp(x < 0.0f ? x : -x);
  return (x < 0.0f ? e : 1.0f) / (1.0f + e);
}

// erf within 5 ulp (3e-7 absolute; relative accuracy near 0) from one rational
// function, x P(s) / Q(s) with s = x^2 / 16, on |x| <= 4 (past 3.92 erf is 1 in
// float): no exp, no branch. gelu's 1 + erf needs no more. P and Q are a weighted
// least-squares fit (scripts/fit_vector_math.py prints them and the error).
KILN_ALWAYS_INLINE float vector_erf(float x) {
  const float c = x < -4.0f ? -4.0f : (x > 4.0f ? 4.0f : x);
  const float s = c * c * 0.0625f;
  const float p = horner(s, -2.241516411e-01f, 4.944201469e+00f, 2.496008492e+01f, 1.579613876e+01f, 1.391463184e+01f,
                         2.964478254e+00f, 1.128379226e+00f);
  const float q =
      horner(s, 6.648384857e+01f, 8.589761353e+01f, 6.340547180e+01f, 2.918758583e+01f, 7.960535049e+00f, 1.0f);
  const float r = c * p / q;
  const float clamped = r < -1.0f ? -1.0f : (r > 1.0f ? 1.0f : r);
  return std::fabs(c) >= 3.92f ? std::copysign(1.0f, x) : clamped;  // erf rounds to +-1 from 3.9192 on
}

// tanh with relative accuracy everywhere (a few ulp): Cephes's odd polynomial for
// |x| < 0.625, where 1 - 2 / (exp(2|x|) + 1) would cancel, and that formula
// beyond. Both are computed on |x| and one is selected, so the loop has no branch;
// the sign is x's (tanh is odd; tanh(-0) is -0).
KILN_ALWAYS_INLINE float vector_tanh(float x) {
  const float a = std::fabs(x);
  const float z = a * a;
  const float p =
      horner(z, -5.70498872745e-3f, 2.06390887954e-2f, -5.37397155531e-2f, 1.33314422036e-1f, -3.33332819422e-1f);
  const float small = p * z * a + a;
  const float large = 1.0f - 2.0f / (vector_exp(2.0f * a) + 1.0f);
  return std::copysign(a < 0.625f ? small : large, x);
}

// The same names in double are the library functions, so that a kernel written
// once for T = float or double calls vector_exp(x) and gets the vector version in
// float and the exact one in double (the reference gradient checks use).
KILN_ALWAYS_INLINE double vector_exp(double x) { return std::exp(x); }
KILN_ALWAYS_INLINE double vector_expm1(double x) { return std::expm1(x); }
KILN_ALWAYS_INLINE double vector_log(double x) { return std::log(x); }
KILN_ALWAYS_INLINE double vector_log1p(double x) { return std::log1p(x); }
KILN_ALWAYS_INLINE double vector_erf(double x) { return std::erf(x); }
KILN_ALWAYS_INLINE double vector_tanh(double x) { return std::tanh(x); }
KILN_ALWAYS_INLINE double vector_sigmoid(double x) {
  return x >= 0 ? 1 / (1 + std::exp(-x)) : std::exp(x) / (1 + std::exp(x));
}

// The largest of x[0..n) (-inf for n = 0; NaNs are skipped). A plain max loop
// stays scalar: without -ffinite-math-only GCC will not turn it into vector maxima.
// Two 8-float vectors (GCC's vector extension, which clang also takes) do it in
// each target_clones copy: AVX registers there, SSE pairs in the baseline.
KILN_ALWAYS_INLINE float vector_max(const float* x, std::int64_t n) {
  using Float8 = float __attribute__((vector_size(32)));
  constexpr float kLowest = -std::numeric_limits<float>::infinity();
  Float8 a = {kLowest, kLowest, kLowest, kLowest, kLowest, kLowest, kLowest, kLowest}, b = a;
  std::int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    Float8 u, w;
    std::memcpy(&u, x + i, sizeof u);
    std::memcpy(&w, x + i + 8, sizeof w);
    a = u > a ? u : a;
    b = w > b ? w : b;
  }
  a = b > a ? b : a;
  float m = kLowest;
  for (int k = 0; k < 8; ++k) m = a[k] > m ? a[k] : m;
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// In double, the same result one value at a time (the reference path).
KILN_ALWAYS_INLINE double vector_max(const double* x, std::int64_t n) {
  double m = -std::numeric_limits<double>::infinity();
  for (std::int64_t i = 0; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

}  // namespace kiln::kernels::cpu
