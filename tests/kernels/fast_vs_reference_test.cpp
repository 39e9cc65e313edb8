// The fast float32 kernels (oneDNN) against the readable reference loops.
#include <gtest/gtest.h>

#include <algorithm>
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
                                           ConvCase{"dilated", make(2, 11, 11, 3, 3, 4, 1, 2, 0, 0)},
                                           // First layers of every width the direct kernels take
                                           // (filters 8 to 64), with rows that end in partial blocks.
                                           ConvCase{"first_layer_8", make(2, 10, 13, 2, 3, 8, 1, 1, 0, 0)},
                                           ConvCase{"first_layer_16", make(2, 9, 17, 1, 3, 16, 1, 1, 0, 0)},
                                           ConvCase{"first_layer_24", make(2, 12, 12, 4, 2, 24, 1, 1, 0, 0)},
                                           ConvCase{"first_layer_48", make(2, 11, 11, 3, 3, 48, 1, 1, 0, 0)},
                                           ConvCase{"first_layer_64", make(2, 10, 10, 3, 3, 64, 1, 1, 0, 0)}),
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
  int ran = 0;
  for (auto [C, O, H] : {std::tuple{3, 32, 32}, std::tuple{1, 32, 28}, std::tuple{2, 48, 9}, std::tuple{1, 24, 28},
                         std::tuple{3, 16, 11}, std::tuple{4, 8, 10}}) {
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
    // Each CPU takes some of these widths (AVX-512: multiples of 16; AVX2: of 8 up to 32).
    if (!conv2d_max_pool2d_small_channels(x.data(), w.data(), b.data(), pooled.data(), where.data(), g, pg, true)) {
      continue;
    }
    ++ran;
    conv2d_forward_reference(x.data(), w.data(), b.data(), y.data(), g);
    for (auto& v : y) v = std::max(v, 0.0f);
    max_pool2d_forward(y.data(), expected.data(), expected_where.data(), pg);
    expect_close(pooled, expected, 1e-4, "pooled values");
    std::size_t moved = 0;
    for (std::size_t i = 0; i < pooled_size; ++i) moved += where[i] != expected_where[i] && expected[i] > 1e-3f;
    EXPECT_EQ(moved, 0u) << "argmax differs (C=" << C << ", O=" << O << ")";
  }
  if (ran == 0) GTEST_SKIP() << "this CPU has neither AVX-512 nor AVX2; oneDNN runs instead";
}

}  // namespace
}  // namespace kiln::kernels::cpu

namespace kiln::kernels::cpu {
namespace {

// Max pooling by the definition, one window at a time: the first strict maximum
// wins, a NaN wins and then only a later NaN replaces it.
void max_pool_by_definition(const std::vector<float>& x, const Pool2dGeometry& g, std::vector<float>& y,
                            std::vector<std::int32_t>& where) {
  for (std::int64_t n = 0; n < g.N; ++n) {
    for (std::int64_t oh = 0; oh < g.OH; ++oh) {
      for (std::int64_t ow = 0; ow < g.OW; ++ow) {
        for (std::int64_t c = 0; c < g.C; ++c) {
          bool first = true;
          float best = 0;
          std::int32_t at = -1;
          for (std::int64_t ih = oh * g.stride_h; ih < std::min(oh * g.stride_h + g.KH, g.H); ++ih) {
            for (std::int64_t iw = ow * g.stride_w; iw < std::min(ow * g.stride_w + g.KW, g.W); ++iw) {
              const float v = x[std::size_t(((n * g.H + ih) * g.W + iw) * g.C + c)];
              if (first || v > best || std::isnan(v)) best = v, at = std::int32_t(ih * g.W + iw);
              first = false;
            }
          }
          const std::size_t o = std::size_t(((n * g.OH + oh) * g.OW + ow) * g.C + c);
          y[o] = best, where[o] = at;
        }
      }
    }
  }
}

// MaxPooling2D's default (2x2, stride 2) against the definition. Odd sizes leave a row
// and a column that no window covers, whose gradient must be zero, not left over.
TEST(MaxPool, TwoByTwoMatchesTheDefinitionWithTiesNaNsAndOddSizes) {
  for (auto [H, W, C] : {std::tuple{6, 8, 3}, std::tuple{7, 5, 17}, std::tuple{13, 13, 64}, std::tuple{3, 2, 1}}) {
    Pool2dGeometry g{};
    g.N = 2, g.H = H, g.W = W, g.C = C, g.KH = g.KW = 2, g.stride_h = g.stride_w = 2;
    g.OH = H / 2, g.OW = W / 2;
    auto x = random_vector(std::size_t(g.N * H * W * C), 21);
    // Ties inside windows (the first must win) and NaNs (they must win).
    for (std::size_t i = 0; i + 1 < x.size(); i += 7) x[i + 1] = x[i];
    for (std::size_t i = 5; i < x.size(); i += 29) x[i] = std::nanf("");
    const std::size_t out = std::size_t(g.N * g.OH * g.OW * C);
    std::vector<float> y(out), y_def(out), y_no_argmax(out);
    std::vector<std::int32_t> where(out), where_def(out);
    max_pool2d_forward(x.data(), y.data(), where.data(), g);
    max_pool2d_forward(x.data(), y_no_argmax.data(), nullptr, g);
    max_pool_by_definition(x, g, y_def, where_def);
    for (std::size_t i = 0; i < out; ++i) {
      ASSERT_TRUE(y[i] == y_def[i] || (std::isnan(y[i]) && std::isnan(y_def[i]))) << "value " << i << " H=" << H;
      ASSERT_TRUE(y_no_argmax[i] == y[i] || (std::isnan(y[i]) && std::isnan(y_no_argmax[i]))) << i;
      ASSERT_EQ(where[i], where_def[i]) << "argmax " << i << " H=" << H << " W=" << W;
    }
    // Backward: each window's gradient lands on its argmax, every other pixel is zero
    // (the buffer starts full of garbage to catch pixels left unwritten).
    const auto gy = random_vector(out, 22);
    std::vector<float> gx(x.size(), 123.0f), gx_def(x.size(), 0.0f);
    max_pool2d_backward(gy.data(), where.data(), gx.data(), g);
    for (std::int64_t n = 0; n < g.N; ++n) {
      for (std::int64_t p = 0; p < g.OH * g.OW; ++p) {
        for (std::int64_t c = 0; c < C; ++c) {
          const std::size_t o = std::size_t((n * g.OH * g.OW + p) * C + c);
          gx_def[std::size_t((n * H * W + where_def[o]) * C + c)] += gy[o];
        }
      }
    }
    EXPECT_EQ(gx, gx_def) << "H=" << H << " W=" << W << " C=" << C;
  }
}

}  // namespace
}  // namespace kiln::kernels::cpu
