// The fast float32 kernels (oneDNN) against the readable reference loops.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "kernels/cpu/conv2d.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/pool2d.hpp"
#include "kiln/random.hpp"
#include "support/common.hpp"

namespace kiln::kernels::cpu {
namespace {

using testing::random_vector;

void expect_close(const std::vector<float>& a, const std::vector<float>& b, double tol, const char* what) {
  ASSERT_EQ(a.size(), b.size());
  double worst = 0;
  for (std::size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(double(a[i]) - double(b[i])));
  EXPECT_LT(worst, tol) << what;
}

struct ConvCase {
  const char* name;
  Conv2dGeometry g;
};

Conv2dGeometry make(std::int64_t N, std::int64_t H, std::int64_t W, std::int64_t C, std::int64_t K, std::int64_t O,
                    std::int64_t stride, std::int64_t dilation, std::int64_t pad_before, std::int64_t pad_after) {
  Conv2dGeometry g{};
  g.N = N, g.H = H, g.W = W, g.C = C, g.KH = K, g.KW = K, g.O = O;
  g.stride_h = g.stride_w = stride;
  g.dilation_h = g.dilation_w = dilation;
  g.pad_top = g.pad_left = pad_before;
  g.pad_bottom = g.pad_right = pad_after;
  const std::int64_t k_eff = (K - 1) * dilation + 1;
  g.OH = (H + pad_before + pad_after - k_eff) / stride + 1;
  g.OW = (W + pad_before + pad_after - k_eff) / stride + 1;
  return g;
}

void PrintTo(const ConvCase& c, std::ostream* os) { *os << c.name; }

class ConvFastPath : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvFastPath, MatchesReference) {
  const Conv2dGeometry g = GetParam().g;
  const auto x = random_vector(std::size_t(g.N * g.H * g.W * g.C), 1);
  const auto w = random_vector(std::size_t(g.KH * g.KW * g.C * g.O), 2);
  const auto b = random_vector(std::size_t(g.O), 3);
  const auto gy = random_vector(std::size_t(g.N * g.OH * g.OW * g.O), 4);
  const double tol = 1e-4 * std::sqrt(double(g.KH * g.KW * g.C));

  std::vector<float> y_fast(gy.size()), y_ref(gy.size());
  conv2d_forward(x.data(), w.data(), b.data(), y_fast.data(), g);
  conv2d_forward_reference(x.data(), w.data(), b.data(), y_ref.data(), g);
  expect_close(y_fast, y_ref, tol, "forward");

  std::vector<float> relu_fast(gy.size());
  conv2d_forward(x.data(), w.data(), b.data(), relu_fast.data(), g, /*fuse_relu=*/true);
  for (auto& v : y_ref) v = std::max(v, 0.0f);
  expect_close(relu_fast, y_ref, tol, "forward with fused relu");

  std::vector<float> gx_fast(x.size()), gx_ref(x.size());
  conv2d_backward_data(gy.data(), w.data(), gx_fast.data(), g);
  conv2d_backward_data_reference(gy.data(), w.data(), gx_ref.data(), g);
  expect_close(gx_fast, gx_ref, tol * 4, "backward data");

  std::vector<float> gw_fast(w.size()), gw_ref(w.size()), gb_ref(b.size());
  conv2d_backward_weights(x.data(), gy.data(), gw_fast.data(), g);
  conv2d_backward_weights_reference(x.data(), gy.data(), gw_ref.data(), gb_ref.data(), g);
  const double tol_w = 1e-4 * std::sqrt(double(g.N * g.OH * g.OW));
  expect_close(gw_fast, gw_ref, tol_w, "backward weights");
}

INSTANTIATE_TEST_SUITE_P(Kernels, ConvFastPath,
                         ::testing::Values(ConvCase{"article_conv1", make(4, 32, 32, 3, 3, 32, 1, 1, 0, 0)},
                                           ConvCase{"article_conv2", make(4, 15, 15, 32, 3, 64, 1, 1, 0, 0)},
                                           ConvCase{"fashion_conv1", make(3, 28, 28, 1, 3, 32, 1, 1, 0, 0)},
                                           ConvCase{"fashion_conv2", make(4, 13, 13, 32, 3, 64, 1, 1, 0, 0)},
                                           ConvCase{"same_stride2", make(2, 9, 9, 5, 3, 7, 2, 1, 1, 1)},
                                           ConvCase{"asymmetric_pad", make(2, 8, 8, 4, 2, 3, 2, 1, 0, 1)},
                                           ConvCase{"dilated", make(2, 11, 11, 3, 3, 4, 1, 2, 0, 0)}),
                         [](const auto& info) { return info.param.name; });

TEST(GemmFastPath, MatchesReferenceForEveryTransposition) {
  const std::int64_t M = 37, N = 29, K = 53;
  const auto a = random_vector(std::size_t(M * K), 5);
  const auto b = random_vector(std::size_t(K * N), 6);
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const std::int64_t lda = ta ? M : K, ldb = tb ? K : N;
      auto c_fast = random_vector(std::size_t(M * N), 7), c_ref = c_fast;
      gemm<float>(ta, tb, M, N, K, 0.5f, a.data(), lda, b.data(), ldb, 2.0f, c_fast.data(), N);
      gemm_reference<float>(ta, tb, M, N, K, 0.5f, a.data(), lda, b.data(), ldb, 2.0f, c_ref.data(), N);
      expect_close(c_fast, c_ref, 1e-4, ta ? (tb ? "TT" : "TN") : (tb ? "NT" : "NN"));
    }
  }
}

}  // namespace
}  // namespace kiln::kernels::cpu

namespace kiln::kernels::cpu {
namespace {

// The one-sweep convolution + max-pool kernel against reference convolution
// then reference pooling, including where each maximum came from.
TEST(ConvPoolFastPath, MatchesReferenceConvThenPool) {
  for (auto [C, O, H] : {std::tuple{3, 32, 32}, std::tuple{1, 32, 28}, std::tuple{2, 48, 9}}) {
    const Conv2dGeometry g = make(3, H, H, C, 3, O, 1, 1, 0, 0);
    Pool2dGeometry pg{};
    pg.N = g.N, pg.H = g.OH, pg.W = g.OW, pg.C = O, pg.KH = pg.KW = 2, pg.stride_h = pg.stride_w = 2;
    pg.OH = g.OH / 2, pg.OW = g.OW / 2;
    const auto x = random_vector(std::size_t(g.N * g.H * g.W * g.C), 11);
    const auto w = random_vector(std::size_t(g.KH * g.KW * g.C * g.O), 12);
    const auto b = random_vector(std::size_t(g.O), 13);
    const std::size_t pooled_size = std::size_t(pg.N * pg.OH * pg.OW * pg.C);
    std::vector<float> pooled(pooled_size), y(std::size_t(g.N * g.OH * g.OW * g.O)), expected(pooled_size);
    std::vector<std::int32_t> where(pooled_size), expected_where(pooled_size);
    if (!conv2d_max_pool2d_small_channels(x.data(), w.data(), b.data(), pooled.data(), where.data(), g, pg, true)) {
      GTEST_SKIP() << "this CPU has no AVX-512; oneDNN runs instead";
    }
    conv2d_forward_reference(x.data(), w.data(), b.data(), y.data(), g);
    for (auto& v : y) v = std::max(v, 0.0f);
    max_pool2d_forward(y.data(), expected.data(), expected_where.data(), pg);
    expect_close(pooled, expected, 1e-4, "pooled values");
    std::size_t moved = 0;
    for (std::size_t i = 0; i < pooled_size; ++i) moved += where[i] != expected_where[i] && expected[i] > 1e-3f;
    EXPECT_EQ(moved, 0u) << "argmax differs (C=" << C << ")";
  }
}

}  // namespace
}  // namespace kiln::kernels::cpu
