// The bf16 kernels (mixed precision) against float64 loops.
//
// Error bound. bf16 has 8 significant bits, so rounding to nearest changes a value by
// at most u = 2^-8 of itself, and a product of two rounded operands is within
// 2u + u^2 = 2^-7 + 2^-16 of the exact product; the product itself is exact in float32
// (8 + 8 significant bits), and adding K terms in float32, in any order, errs by at
// most about K 2^-24 of the sum of their magnitudes. Hence, with S = sum_k |a_k b_k|
// (+ |bias|) and 1% of slack for the second-order terms:
//   |y_bf16 - y_exact|          <= (2^-7 + 2^-16 + 1.01 K 2^-24) S   (unrounded operands)
//   |y_bf16 - y_exact(rounded)| <= 1.01 K 2^-24 S                    (rounded ones)
// The second, tighter by 30x or more at these K, also shows that the operands were
// rounded to bf16: float32 products of the unrounded operands miss it.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/bf16.hpp"
#include "kernels/cpu/conv2d.hpp"
#include "kernels/cpu/gemm.hpp"
#include "support/common.hpp"

namespace kiln::kernels::cpu {
namespace {

using testing::random_vector;

std::vector<double> mp_widen(const std::vector<float>& v, bool round_to_bf16, bool magnitude = false) {
  std::vector<double> out(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    const float f = round_to_bf16 ? bf16_to_float(float_to_bf16(v[i])) : v[i];
    out[i] = magnitude ? std::abs(double(f)) : double(f);
  }
  return out;
}

// Every element of `actual` within the two bounds above, given the float64 results on
// the unrounded operands, on the rounded ones, and on the magnitudes (S).
void mp_expect_within_bounds(const std::vector<float>& actual, const std::vector<double>& exact,
                             const std::vector<double>& exact_rounded, const std::vector<double>& magnitude,
                             std::int64_t K, const char* what) {
  ASSERT_EQ(actual.size(), exact.size());
  const double sum_bound = 1.01 * double(K) * std::ldexp(1.0, -24);
  const double bf16_bound = std::ldexp(1.0, -7) + std::ldexp(1.0, -16) + sum_bound;
  int failures = 0;
  double largest_rounding_effect = 0;  // in units of the tight bound
  for (std::size_t i = 0; i < actual.size() && failures < 5; ++i) {
    const double a = actual[i];
    if (std::abs(a - exact[i]) > bf16_bound * magnitude[i] ||
        std::abs(a - exact_rounded[i]) > sum_bound * magnitude[i]) {
      ++failures;
      ADD_FAILURE() << what << "[" << i << "] = " << a << ": exact " << exact[i] << ", exact on bf16 operands "
                    << exact_rounded[i] << ", sum of magnitudes " << magnitude[i];
    }
    largest_rounding_effect =
        std::max(largest_rounding_effect, std::abs(exact[i] - exact_rounded[i]) / (sum_bound * magnitude[i]));
  }
  // Rounding random operands to bf16 moves some result past the tight bound, so passing it
  // means the kernel multiplied the rounded operands.
  EXPECT_GT(largest_rounding_effect, 4.0) << what;
}

TEST(MixedPrecisionKernels, RoundsToNearestEven) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(float_to_bf16(-2.0f), 0xC000);
  EXPECT_EQ(float_to_bf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);      // a tie: down to the even 1.0
  EXPECT_EQ(float_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82);  // a tie: up to the even 1 + 2^-6
  EXPECT_EQ(float_to_bf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 0x3F81);  // past the tie
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(float_to_bf16(-0.0f), 0x8000);
  EXPECT_EQ(float_to_bf16(std::numeric_limits<float>::max()), 0x7F80);  // rounds up to infinity
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  // A NaN whose payload sits only in the low bits must not round to infinity.
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::bit_cast<float>(0x7F800001u)))));
  EXPECT_EQ(bf16_to_float(0x3FC0), 1.5f);

  // The parallel, vectorised array form agrees with the scalar one.
  const auto v = random_vector(100003, 7);
  std::vector<std::uint16_t> packed(v.size());
  float_to_bf16(v.data(), packed.data(), std::int64_t(v.size()));
  std::vector<float> back(v.size());
  bf16_to_float(packed.data(), back.data(), std::int64_t(v.size()));
  for (std::size_t i = 0; i < v.size(); ++i) {
    ASSERT_EQ(packed[i], float_to_bf16(v[i])) << i;
    ASSERT_LE(std::abs(back[i] - v[i]), std::ldexp(std::abs(v[i]), -8)) << i;
  }
}

struct MpGemmCase {
  bool trans_a, trans_b, accumulate;
};

class MixedPrecisionGemm : public ::testing::TestWithParam<MpGemmCase> {};

TEST_P(MixedPrecisionGemm, WithinBf16Bounds) {
  if (!native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  // Named copies, not a structured binding: the lambda below captures them (clang's C++20 refuses
  // captured bindings).
  const bool ta = GetParam().trans_a, tb = GetParam().trans_b, acc = GetParam().accumulate;
  const std::int64_t M = 37, N = 45, K = 300, lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
  const auto A = random_vector(std::size_t((ta ? K : M) * lda), 1);
  const auto B = random_vector(std::size_t((tb ? N : K) * ldb), 2);
  const auto C0 = random_vector(std::size_t(M * ldc), 3);
  std::vector<float> C = C0;
  gemm_bf16(ta, tb, M, N, K, A.data(), lda, B.data(), ldb, acc, C.data(), ldc);

  const double beta = acc ? 1.0 : 0.0;
  auto exact = [&](bool rounded, bool magnitude) {
    const auto a = mp_widen(A, rounded, magnitude), b = mp_widen(B, rounded, magnitude);
    auto c = mp_widen(C0, false, magnitude);
    gemm_reference<double>(ta, tb, M, N, K, 1.0, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
    return c;
  };
  mp_expect_within_bounds(C, exact(false, false), exact(true, false), exact(false, true), K + 1, "C");
  // Padding between C's rows is left alone.
  for (std::int64_t i = 0; i < M; ++i) EXPECT_EQ(C[i * ldc + N], C0[i * ldc + N]);
}

INSTANTIATE_TEST_SUITE_P(Transposes, MixedPrecisionGemm,
                         ::testing::Values(MpGemmCase{false, false, false}, MpGemmCase{true, false, false},
                                           MpGemmCase{false, true, true}, MpGemmCase{true, true, true}));

Conv2dGeometry mp_geometry(std::int64_t C, std::int64_t stride, std::int64_t pad) {
  Conv2dGeometry g{};
  g.N = 3, g.H = 11, g.W = 9, g.C = C, g.KH = 3, g.KW = 3, g.O = 24;
  g.stride_h = g.stride_w = stride;
  g.pad_top = g.pad_left = g.pad_bottom = g.pad_right = pad;
  g.OH = (g.H + 2 * pad - 3) / stride + 1;
  g.OW = (g.W + 2 * pad - 3) / stride + 1;
  return g;
}

class MixedPrecisionConv : public ::testing::TestWithParam<Conv2dGeometry> {};

TEST_P(MixedPrecisionConv, ForwardAndBackwardWithinBf16Bounds) {
  if (!native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  const Conv2dGeometry g = GetParam();
  const auto x = random_vector(std::size_t(g.N * g.H * g.W * g.C), 11);
  const auto w = random_vector(std::size_t(g.KH * g.KW * g.C * g.O), 12);
  const auto b = random_vector(std::size_t(g.O), 13);
  const auto gy = random_vector(std::size_t(g.N * g.OH * g.OW * g.O), 14);

  std::vector<float> y(gy.size()), gx(x.size()), gw(w.size());
  conv2d_forward_bf16(x.data(), w.data(), b.data(), y.data(), g);
  conv2d_backward_bf16(x.data(), gy.data(), w.data(), gx.data(), gw.data(), g);

  // float64 references on the unrounded operands, the rounded ones and the magnitudes.
  struct Reference {
    std::vector<double> y, gx, gw;
  };
  auto reference = [&](bool rounded, bool magnitude) {
    const auto xd = mp_widen(x, rounded, magnitude), wd = mp_widen(w, rounded, magnitude);
    const auto gyd = mp_widen(gy, rounded, magnitude), bd = mp_widen(b, false, magnitude);
    Reference r{std::vector<double>(y.size()), std::vector<double>(x.size()), std::vector<double>(w.size())};
    conv2d_forward_reference<double>(xd.data(), wd.data(), bd.data(), r.y.data(), g);
    conv2d_backward_data_reference<double>(gyd.data(), wd.data(), r.gx.data(), g);
    conv2d_backward_weights_reference<double>(xd.data(), gyd.data(), r.gw.data(), nullptr, g);
    return r;
  };
  const Reference exact = reference(false, false), rounded = reference(true, false), size = reference(false, true);
  mp_expect_within_bounds(y, exact.y, rounded.y, size.y, g.KH * g.KW * g.C + 1, "y");
  mp_expect_within_bounds(gx, exact.gx, rounded.gx, size.gx, g.KH * g.KW * g.O, "gx");
  mp_expect_within_bounds(gw, exact.gw, rounded.gw, size.gw, g.N * g.OH * g.OW, "gw");

  // Either gradient alone gives the same values (gy is rounded once, for both or one).
  std::vector<float> gx_only(x.size()), gw_only(w.size());
  conv2d_backward_bf16(x.data(), gy.data(), w.data(), gx_only.data(), nullptr, g);
  conv2d_backward_bf16(x.data(), gy.data(), w.data(), nullptr, gw_only.data(), g);
  EXPECT_EQ(gx_only, gx);
  EXPECT_EQ(gw_only, gw);
}

INSTANTIATE_TEST_SUITE_P(Geometries, MixedPrecisionConv,
                         ::testing::Values(mp_geometry(16, 1, 0), mp_geometry(32, 2, 1), mp_geometry(8, 1, 1)));

}  // namespace
}  // namespace kiln::kernels::cpu
