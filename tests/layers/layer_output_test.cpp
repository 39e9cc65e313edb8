// Layer outputs on inputs small enough to compute by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "kiln/kiln.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::expect_values;

using namespace kiln::layers;

TEST(LayerOutput, DenseComputesXWPlusB) {
  Dense dense(2, "", {2});
  dense.build({2});
  dense.kernel().copy_(Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2}));
  dense.bias().copy_(Tensor::from_vector<float>({0.5f, -0.5f}));
  // [1, 2] x [[1, 2], [3, 4]] + [0.5, -0.5] = [7.5, 9.5]
  expect_values(dense(Tensor::from_vector<float>({1, 2}, {1, 2})), {7.5, 9.5});
}

TEST(LayerOutput, Conv2DSumsEachWindowPlusBias) {
  Conv2D conv(1, {2, 2}, "", {3, 3, 1});
  conv.build({3, 3, 1});
  conv.kernel().fill_(1.0);
  conv.bias().fill_(1.0);
  // Input 1..9 in a 3x3 grid; each 2x2 window sum plus 1.
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3, 1});
  expect_values(conv(x), {13, 17, 25, 29});
}

TEST(LayerOutput, Conv2DSamePaddingMatchesTensorFlowsRule) {
  // 4x4 input, 3x3 kernel, stride 2, "same": output 2x2, padding 0 before and 1 after.
  Conv2D conv(1, 3, Conv2DOptions{.strides = 2, .padding = "same", .use_bias = false});
  conv.build({4, 4, 1});
  conv.kernel().fill_(1.0);
  std::vector<float> ones(16, 1.0f);
  Tensor y = conv(Tensor::from_vector<float>(ones, {1, 4, 4, 1}));
  EXPECT_EQ(y.shape(), (Shape{1, 2, 2, 1}));
  expect_values(y, {9, 6, 6, 4});
}

TEST(LayerOutput, Conv2DKeepsChannelsLast) {
  // Two input channels, two filters: filter 0 reads channel 0, filter 1 reads channel 1 (times 10).
  Conv2D conv(2, 1, Conv2DOptions{.use_bias = false});
  conv.build({1, 2, 2});
  conv.kernel().copy_(Tensor::from_vector<float>({1, 0, 0, 10}, {1, 1, 2, 2}));
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4}, {1, 1, 2, 2});  // pixel 0: (1, 2), pixel 1: (3, 4)
  expect_values(conv(x), {1, 20, 3, 40});
}

TEST(LayerOutput, MaxPoolingTakesWindowMaxima) {
  MaxPooling2D pool(2);
  Tensor x = Tensor::from_vector<float>({1, 5, 2, 0, 3, 2, 9, 1, 0, 0, 0, 0, 4, 4, 4, 8}, {1, 4, 4, 1});
  expect_values(pool(x), {5, 9, 4, 8});
}

TEST(LayerOutput, MaxPoolingDropsTheOddRowWithValidPadding) {
  MaxPooling2D pool(2);
  Tensor x = Tensor::zeros({1, 5, 5, 3});
  EXPECT_EQ(pool(x).shape(), (Shape{1, 2, 2, 3}));
}

TEST(LayerOutput, FlattenKeepsHeightWidthChannelOrder) {
  Flatten flatten;
  Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8}, {1, 2, 2, 2});
  Tensor y = flatten(x);
  EXPECT_EQ(y.shape(), (Shape{1, 8}));
  expect_values(y, {1, 2, 3, 4, 5, 6, 7, 8});
}

TEST(LayerOutput, SoftmaxActivation) {
  Activation softmax_layer("softmax");
  Tensor y = softmax_layer(Tensor::from_vector<float>({0.0f, std::log(3.0f)}, {1, 2}));
  expect_values(y, {0.25, 0.75});
}

TEST(LayerOutput, GlorotUniformStaysWithinKerasLimit) {
  manual_seed(1);
  Conv2D conv(64, 3);
  conv.build({15, 15, 32});
  const double limit = std::sqrt(6.0 / (3 * 3 * 32 + 3 * 3 * 64));
  const auto w = conv.kernel().to_vector<double>();
  double max_abs = 0, sum_sq = 0;
  for (double v : w) max_abs = std::max(max_abs, std::abs(v)), sum_sq += v * v;
  EXPECT_LE(max_abs, limit);
  EXPECT_GT(max_abs, 0.99 * limit);
  // A uniform on [-l, l] has variance l^2 / 3.
  EXPECT_NEAR(sum_sq / double(w.size()), limit * limit / 3, 0.05 * limit * limit / 3);
  for (double b : conv.bias().to_vector<double>()) EXPECT_EQ(b, 0.0);
}

TEST(LayerOutput, RescalingScalesPixels) {
  Rescaling rescale(1.0 / 255);
  expect_values(rescale(Tensor::from_vector<float>({0, 255, 51}, {1, 3})), {0, 1, 0.2});
}

TEST(LayerOutput, DropoutIsIdentityAtInference) {
  Dropout drop(0.5, std::nullopt, 7);
  Tensor x = Tensor::ones({4, 8});
  expect_values(drop(x, false), std::vector<double>(32, 1.0));
  const auto trained = drop(x, true).to_vector<double>();
  int zeros = 0;
  for (double v : trained) {
    EXPECT_TRUE(v == 0.0 || v == 2.0);
    zeros += v == 0.0;
  }
  EXPECT_GT(zeros, 4);
  EXPECT_LT(zeros, 28);
}

}  // namespace
}  // namespace kiln
