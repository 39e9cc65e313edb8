// The float exp, sigmoid, tanh, softmax and activation kernels run fast_math.hpp's
// vectorised functions; these tests hold them to the accuracy and the edge cases of
// the library functions they replace, through the kernels' own entry points (so the
// copy the CPU dispatches to is the one tested; portable_cpu_* runs the others).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "kernels/cpu/activations.hpp"
#include "kernels/cpu/cross_entropy.hpp"
#include "kernels/cpu/elementwise.hpp"
#include "kernels/cpu/fast_math.hpp"
#include "kernels/cpu/softmax.hpp"
#include "kiln/random.hpp"

namespace kiln::kernels::cpu {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Distance from got to the exact value ref in units of the last place of ref's float
// (2^-149 at least: subnormal results count their own spacing).
double ulps(float got, double ref) {
  if (std::isnan(ref)) return std::isnan(got) ? 0 : 1e30;
  if (std::abs(ref) > std::numeric_limits<float>::max()) return std::isinf(got) && (got > 0) == (ref > 0) ? 0 : 1e30;
  int exponent = 0;
  std::frexp(ref, &exponent);
  const double ulp = std::ldexp(1.0, std::max(exponent - 24, -149));
  return std::abs(double(got) - ref) / ulp;
}

// Every 4093rd float bit pattern: a million values of both signs, every exponent,
// subnormals, infinities and NaNs.
std::vector<float> float_sweep() {
  std::vector<float> x;
  for (std::uint64_t bits = 0; bits <= 0xFFFFFFFFu; bits += 4093)
    x.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(bits)));
  for (float v : {0.0f, -0.0f, kInf, -kInf, kNaN, 88.72f, 88.73f, -87.4f, -103.9f, -104.5f, 0.625f, -0.625f})
    x.push_back(v);
  return x;
}

struct UnaryCase {
  Unary op;
  const char* name;
  double (*exact)(double);
  double max_ulps;
};

TEST(VectorMath, ExpLogSigmoidTanhAreWithinThreeUlpsOfTheExactValueForEveryKindOfFloat) {
  const UnaryCase cases[] = {
      {Unary::Exp, "exp", [](double x) { return std::exp(x); }, 1.5},
      {Unary::Sigmoid, "sigmoid", [](double x) { return 1.0 / (1.0 + std::exp(-x)); }, 3.0},
      {Unary::Tanh, "tanh", [](double x) { return std::tanh(x); }, 2.0},
      {Unary::Log, "log", [](double x) { return std::log(x); }, 2.0},
  };
  const std::vector<float> x = float_sweep();
  std::vector<float> y(x.size());
  for (const UnaryCase& c : cases) {
    unary<float>(c.op, x.data(), y.data(), static_cast<std::int64_t>(x.size()));
    double worst = 0;
    float worst_x = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const double e = ulps(y[i], c.exact(double(x[i])));
      if (e > worst) worst = e, worst_x = x[i];
    }
    EXPECT_LE(worst, c.max_ulps) << c.name << " at x = " << worst_x;
  }
}

// vector_erf has no kernel of its own (gelu uses it); this runs the header's
// function as compiled here, for baseline x86-64 (no FMA: one rounding more per step).
TEST(VectorMath, ErfIsWithinSixUlpsOfTheExactValueForEveryKindOfFloat) {
  double worst = 0, worst_absolute = 0;
  float worst_x = 0;
  for (float x : float_sweep()) {
    const double e = ulps(vector_erf(x), std::erf(double(x)));
    if (e > worst) worst = e, worst_x = x;
    if (!std::isnan(x)) worst_absolute = std::max(worst_absolute, std::abs(vector_erf(x) - std::erf(double(x))));
  }
  EXPECT_LE(worst, 6.0) << "erf at x = " << worst_x;
  EXPECT_LE(worst_absolute, 4e-7);
  EXPECT_TRUE(std::isnan(vector_erf(kNaN)));
  EXPECT_EQ(vector_erf(kInf), 1.0f);
  EXPECT_EQ(vector_erf(-kInf), -1.0f);
  EXPECT_TRUE(std::signbit(vector_erf(-0.0f)));
}

// vector_log1p runs inside softplus and mish; here on its own, as compiled here.
TEST(VectorMath, Log1pKeepsRelativeAccuracyForTinyArguments) {
  double worst = 0;
  float worst_y = 0;
  for (float y : float_sweep()) {
    if (!(y > -1.0f) || std::isinf(y)) continue;
    const double e = ulps(vector_log1p(y), std::log1p(double(y)));
    if (e > worst) worst = e, worst_y = y;
  }
  EXPECT_LE(worst, 3.0) << "log1p at y = " << worst_y;
  EXPECT_EQ(vector_log1p(1e-30f), 1e-30f);  // 1 + y rounds to 1; log1p(y) is y
  EXPECT_EQ(vector_log1p(-1.0f), -kInf);
  EXPECT_EQ(vector_log1p(kInf), kInf);
  EXPECT_TRUE(std::isnan(vector_log1p(-2.0f)));
  EXPECT_TRUE(std::isnan(vector_log1p(kNaN)));
}

TEST(VectorMath, MaxOfEveryLengthSkipsNaNs) {
  Generator gen(3);
  std::vector<float> x(70);
  for (float& v : x) v = static_cast<float>(gen.normal());
  EXPECT_EQ(vector_max(x.data(), 0), -kInf);
  for (std::int64_t n = 1; n <= 70; ++n) {
    std::vector<float> row(x.begin(), x.begin() + n);
    const float expected = *std::max_element(row.begin(), row.end());
    ASSERT_EQ(vector_max(row.data(), n), expected) << "n = " << n;
    row[static_cast<std::size_t>(n / 2)] = kNaN;  // a NaN is skipped, wherever it falls
    if (n > 1) {
      float rest = -kInf;
      for (float v : row) rest = std::isnan(v) ? rest : std::max(rest, v);
      ASSERT_EQ(vector_max(row.data(), n), rest) << "n = " << n << " with a NaN";
    }
    row.assign(static_cast<std::size_t>(n), -kInf);
    ASSERT_EQ(vector_max(row.data(), n), -kInf);
    row[static_cast<std::size_t>(n - 1)] = kInf;
    ASSERT_EQ(vector_max(row.data(), n), kInf);
  }
}

TEST(VectorMath, EdgeCasesAreTheLibraryFunctions) {
  const std::vector<float> x = {kNaN, kInf, -kInf, 88.72f, 88.8f, -100.0f, -110.0f, 0.0f, -0.0f, 1e-30f, -1e-30f};
  std::vector<float> e(x.size()), s(x.size()), t(x.size());
  const auto n = static_cast<std::int64_t>(x.size());
  const std::vector<float> lx = {kNaN, kInf, -kInf, 0.0f, -0.0f, -1.0f, 1.0f, 1e-45f, 1e-40f};
  std::vector<float> l(lx.size());
  unary<float>(Unary::Log, lx.data(), l.data(), static_cast<std::int64_t>(lx.size()));
  EXPECT_TRUE(std::isnan(l[0]));
  EXPECT_EQ(l[1], kInf);
  EXPECT_TRUE(std::isnan(l[2]));
  EXPECT_EQ(l[3], -kInf);
  EXPECT_EQ(l[4], -kInf);  // log(-0) is -inf, not NaN
  EXPECT_TRUE(std::isnan(l[5]));
  EXPECT_EQ(l[6], 0.0f);
  EXPECT_NEAR(l[7], std::log(double(1e-45f)), 1e-5);  // the smallest subnormal
  EXPECT_NEAR(l[8], std::log(double(1e-40f)), 1e-5);
  unary<float>(Unary::Exp, x.data(), e.data(), n);
  unary<float>(Unary::Sigmoid, x.data(), s.data(), n);
  unary<float>(Unary::Tanh, x.data(), t.data(), n);
  EXPECT_TRUE(std::isnan(e[0]) && std::isnan(s[0]) && std::isnan(t[0]));
  EXPECT_EQ(e[1], kInf);
  EXPECT_EQ(s[1], 1.0f);
  EXPECT_EQ(t[1], 1.0f);
  EXPECT_EQ(e[2], 0.0f);
  EXPECT_EQ(s[2], 0.0f);
  EXPECT_EQ(t[2], -1.0f);
  EXPECT_TRUE(std::isfinite(e[3])) << e[3];    // exp(88.72) = 3.4e38 < FLT_MAX
  EXPECT_EQ(e[4], kInf);                       // exp(88.8) overflows
  EXPECT_NEAR(e[5], std::exp(-100.0), 1e-45);  // 3.7e-44, a subnormal, not 0
  EXPECT_GT(e[5], 0.0f);
  EXPECT_NEAR(s[5], std::exp(-100.0), 1e-45);  // sigmoid keeps its far left tail
  EXPECT_EQ(e[6], 0.0f);
  EXPECT_EQ(e[7], 1.0f);
  EXPECT_EQ(s[7], 0.5f);
  EXPECT_EQ(t[7], 0.0f);
  EXPECT_TRUE(std::signbit(t[8])) << "tanh(-0) is -0";
  EXPECT_EQ(t[9], 1e-30f);  // tanh is x to float precision this close to 0
  EXPECT_EQ(t[10], -1e-30f);
}

TEST(VectorMath, SoftmaxRowsOfEveryLengthMatchDoublePrecision) {
  Generator gen(7);
  for (std::int64_t cols : {1, 2, 7, 8, 15, 16, 17, 31, 33, 100, 1000}) {
    const std::int64_t rows = 3;
    std::vector<float> x(static_cast<std::size_t>(rows * cols));
    for (float& v : x) v = static_cast<float>(gen.normal() * 8.0);
    if (cols > 1) {
      x[0] = -kInf;                                  // a masked-out logit
      x[static_cast<std::size_t>(cols + 1)] = 1e4f;  // a logit far above the rest
    }
    std::vector<double> xd(x.begin(), x.end());
    std::vector<float> y(x.size()), ly(x.size()), g(x.size()), gx(x.size());
    std::vector<double> yd(x.size()), lyd(x.size()), gd(x.size()), gxd(x.size());
    softmax<float>(x.data(), y.data(), rows, cols);
    softmax<double>(xd.data(), yd.data(), rows, cols);
    log_softmax<float>(x.data(), ly.data(), rows, cols);
    log_softmax<double>(xd.data(), lyd.data(), rows, cols);
    for (std::size_t i = 0; i < g.size(); ++i) gd[i] = g[i] = static_cast<float>(gen.normal());
    std::vector<double> lyd_from_float(ly.begin(), ly.end());
    log_softmax_backward<float>(ly.data(), g.data(), gx.data(), rows, cols);
    log_softmax_backward<double>(lyd_from_float.data(), gd.data(), gxd.data(), rows, cols);
    // float's x - max is off by up to 2^-24 |x - max| (|x - max| reaches ~60 here), so
    // the float result is off by that much relative to the exact one, whatever exp is.
    for (std::size_t i = 0; i < x.size(); ++i) {
      ASSERT_NEAR(y[i], yd[i], 5e-6 * yd[i] + 1e-37) << "softmax, cols " << cols << ", element " << i;
      if (std::isinf(lyd[i])) {
        ASSERT_EQ(ly[i], lyd[i]) << "log_softmax, cols " << cols << ", element " << i;
      } else {
        ASSERT_NEAR(ly[i], lyd[i], 1e-6 * (std::abs(lyd[i]) + 1)) << "log_softmax, cols " << cols << ", element " << i;
      }
      ASSERT_NEAR(gx[i], gxd[i], 2e-6 * (std::abs(gxd[i]) + 1)) << "log_softmax backward, cols " << cols;
    }
  }
}

TEST(VectorMath, CrossEntropyKernelsInFloatMatchTheirDoubleVersions) {
  Generator gen(11);
  for (std::int64_t C : {1, 7, 16, 33, 1000}) {
    const std::int64_t N = 5;
    std::vector<float> logits(static_cast<std::size_t>(N * C)), targets(logits.size()), lp(logits.size()),
        gx(logits.size()), gt(logits.size()), g(static_cast<std::size_t>(N));
    for (float& v : logits) v = static_cast<float>(gen.normal() * 4);
    for (float& v : targets) v = static_cast<float>(gen.uniform());
    for (float& v : g) v = static_cast<float>(gen.normal());
    std::vector<std::int64_t> labels(static_cast<std::size_t>(N));
    for (std::size_t i = 0; i < labels.size(); ++i)
      labels[i] = static_cast<std::int64_t>(gen.below(static_cast<std::uint64_t>(C)));
    log_softmax<float>(logits.data(), lp.data(), N, C);
    const std::vector<double> lpd(lp.begin(), lp.end()), td(targets.begin(), targets.end()), gd(g.begin(), g.end());
    std::vector<double> gxd(lpd.size()), gtd(lpd.size());
    sparse_softmax_cross_entropy_backward<float>(lp.data(), labels.data(), g.data(), gx.data(), N, C);
    sparse_softmax_cross_entropy_backward<double>(lpd.data(), labels.data(), gd.data(), gxd.data(), N, C);
    for (std::size_t k = 0; k < gx.size(); ++k)
      ASSERT_NEAR(gx[k], gxd[k], 1e-6 * (std::abs(gxd[k]) + 1)) << "sparse, C " << C;
    softmax_cross_entropy_backward<float>(lp.data(), targets.data(), g.data(), gx.data(), gt.data(), N, C);
    softmax_cross_entropy_backward<double>(lpd.data(), td.data(), gd.data(), gxd.data(), gtd.data(), N, C);
    for (std::size_t k = 0; k < gx.size(); ++k) {
      ASSERT_NEAR(gx[k], gxd[k], 2e-6 * (std::abs(gxd[k]) + 1)) << "categorical, C " << C;
      ASSERT_NEAR(gt[k], gtd[k], 1e-6 * (std::abs(gtd[k]) + 1)) << "categorical targets, C " << C;
    }
    std::vector<float> loss(logits.size());
    std::vector<double> lossd(logits.size());
    const std::vector<double> xd(logits.begin(), logits.end());
    sigmoid_cross_entropy<float>(logits.data(), targets.data(), loss.data(), N * C);
    sigmoid_cross_entropy<double>(xd.data(), td.data(), lossd.data(), N * C);
    for (std::size_t k = 0; k < loss.size(); ++k)
      ASSERT_NEAR(loss[k], lossd[k], 1e-6 * (lossd[k] + 1)) << "binary, C " << C;
  }
}

TEST(VectorMath, ActivationsInFloatMatchTheirDoubleVersions) {
  // x in [-40, 40], dense near 0 (where expm1 and tanh must keep relative accuracy),
  // at every length from 1 to 40 so that the vector loops' tails run too.
  std::vector<float> grid;
  for (int i = -400; i <= 400; ++i) grid.push_back(static_cast<float>(i) * 0.1f);
  for (int i = -60; i <= 60; ++i) grid.push_back(std::ldexp(1.0f, -std::abs(i) % 30) * (i < 0 ? -1.0f : 1.0f) * 0.3f);
  const std::pair<Activation, const char*> kinds[] = {{Activation::Silu, "silu"},
                                                      {Activation::Elu, "elu"},
                                                      {Activation::Selu, "selu"},
                                                      {Activation::Exponential, "exponential"},
                                                      {Activation::GeluTanh, "gelu (tanh)"},
                                                      {Activation::Gelu, "gelu"},
                                                      {Activation::Softplus, "softplus"},
                                                      {Activation::Mish, "mish"}};
  const ActivationParams params{.alpha = 0.7};
  for (const auto& [kind, name] : kinds) {
    for (std::size_t n :
         {std::size_t{1}, std::size_t{5}, std::size_t{8}, std::size_t{13}, std::size_t{40}, grid.size()}) {
      const std::vector<float> x(grid.end() - static_cast<std::ptrdiff_t>(n), grid.end());
      const std::vector<double> xd(x.begin(), x.end());
      std::vector<float> y(n), gx(n), gy(n, 1.0f);
      std::vector<double> yd(n), gxd(n), gyd(n, 1.0);
      const auto len = static_cast<std::int64_t>(n);
      activation_forward<float>(kind, params, x.data(), y.data(), len);
      activation_forward<double>(kind, params, xd.data(), yd.data(), len);
      activation_backward<float>(kind, params, x.data(), gy.data(), gx.data(), len);
      activation_backward<double>(kind, params, xd.data(), gyd.data(), gxd.data(), len);
      for (std::size_t i = 0; i < n; ++i) {
        // Relative accuracy, except that x (1 + tanh(...)) style sums may lose what
        // float cannot hold next to |x|.
        const double slack = 4e-7 * (std::abs(xd[i]) + 1);
        ASSERT_NEAR(y[i], yd[i], 4e-6 * std::abs(yd[i]) + slack) << name << " at x = " << x[i];
        ASSERT_NEAR(gx[i], gxd[i], 4e-6 * std::abs(gxd[i]) + slack) << name << "' at x = " << x[i];
      }
    }
  }
}

}  // namespace
}  // namespace kiln::kernels::cpu
