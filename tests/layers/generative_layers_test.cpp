// The layers a DCGAN needs — Conv2DTranspose, UpSampling2D, BatchNormalization,
// LeakyReLU — on inputs small enough to compute by hand, and their errors.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "kiln/kiln.hpp"
#include "support/errors.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::expect_values;

using namespace kiln::layers;

using testing::error_of;

TEST(Conv2DTranspose, SpreadsEachPixelAsAScaledKernel) {
  // Stride 2, kernel 2x2, "valid": every input pixel paints its own 2x2 block.
  Conv2DTranspose deconv(1, 2, Conv2DTransposeOptions{.strides = 2});
  deconv.build({2, 2, 1});
  deconv.kernel().copy_(Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2, 1, 1}));
  deconv.bias().fill_(0.5);
  const Tensor y = deconv(Tensor::from_vector<float>({1, 10, 100, 1000}, {1, 2, 2, 1}));
  EXPECT_EQ(y.shape(), (Shape{1, 4, 4, 1}));
  expect_values(y, {1.5,   2.5,   10.5,   20.5,    //
                    3.5,   4.5,   30.5,   40.5,    //
                    100.5, 200.5, 1000.5, 2000.5,  //
                    300.5, 400.5, 3000.5, 4000.5});
}

TEST(Conv2DTranspose, OverlappingWindowsAdd) {
  // Stride 1, 2x2 kernel of ones on [1, 2]: the middle column gets both pixels.
  Conv2DTranspose deconv(1, 2, Conv2DTransposeOptions{.use_bias = false});
  deconv.build({1, 2, 1});
  deconv.kernel().fill_(1.0);
  expect_values(deconv(Tensor::from_vector<float>({1, 2}, {1, 1, 2, 1})), {1, 3, 2, 1, 3, 2});
}

TEST(Conv2DTranspose, OutputShapesAndParametersFollowKeras) {
  // The TensorFlow DCGAN tutorial's generator step: 7x7x128 -> 14x14x64.
  Conv2DTranspose up(64, 5, Conv2DTransposeOptions{.strides = 2, .padding = "same", .use_bias = false});
  up.build({7, 7, 128});
  EXPECT_EQ(up.output_shape(), (Shape{14, 14, 64}));
  EXPECT_EQ(up.kernel().shape(), (Shape{5, 5, 64, 128}));
  EXPECT_EQ(up.count_params(), 5 * 5 * 64 * 128);
  Conv2DTranspose valid(3, 3, Conv2DTransposeOptions{.strides = 2});
  EXPECT_EQ(valid.compute_output_shape({7, 5, 2}), (Shape{15, 11, 3}));  // 7 * 2 + (3 - 2)
  Conv2DTranspose small_kernel(3, 1, Conv2DTransposeOptions{.strides = 3});
  EXPECT_EQ(small_kernel.compute_output_shape({2, 2, 2}), (Shape{6, 6, 3}));
}

TEST(Conv2DTranspose, WrongChannelsNameTheLayer) {
  Conv2DTranspose deconv(4, 3, Conv2DTransposeOptions{.name = "upsample_1"});
  deconv(Tensor::zeros({1, 5, 5, 8}));
  const std::string msg = error_of([&] { deconv(Tensor::zeros({1, 5, 5, 3})); });
  EXPECT_NE(msg.find("upsample_1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[1, 5, 5, 3]"), std::string::npos) << msg;
  EXPECT_NE(error_of([] { Conv2DTranspose(4, 3, Conv2DTransposeOptions{.padding = "full"}); }).find("padding"),
            std::string::npos);
}

TEST(UpSampling2D, RepeatsPixelsAsBlocks) {
  UpSampling2D up(Size2{2, 3});
  const Tensor y = up(Tensor::from_vector<float>({1, 2, 3, 4}, {1, 2, 2, 1}));
  EXPECT_EQ(y.shape(), (Shape{1, 4, 6, 1}));
  expect_values(y, {1, 1, 1, 2, 2, 2,  //
                    1, 1, 1, 2, 2, 2,  //
                    3, 3, 3, 4, 4, 4,  //
                    3, 3, 3, 4, 4, 4});
  const std::string msg = error_of([] { UpSampling2D(2, "bilinear", "up"); });
  EXPECT_NE(msg.find("'up'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bilinear"), std::string::npos) << msg;
}

TEST(LeakyReLU, DefaultsToKerasSlope) {
  LeakyReLU layer;
  EXPECT_DOUBLE_EQ(layer.alpha(), 0.3);
  expect_values(layer(Tensor::from_vector<float>({-2, 0, 3}, {1, 3})), {-0.6, 0, 3});
  expect_values(LeakyReLU(0.2)(Tensor::from_vector<float>({-1, 1}, {1, 2})), {-0.2, 1});
  EXPECT_THROW(LeakyReLU(-1.0), Error);
}

TEST(BatchNormalization, TrainingNormalisesWithTheBatchAndMovesTheStatistics) {
  BatchNormalization bn;  // momentum 0.99, epsilon 1e-3
  // One channel holding 1 and 3: mean 2, biased variance 1.
  const Tensor x = Tensor::from_vector<float>({1, 3}, {2, 1});
  const double s = 1.0 / std::sqrt(1.0 + 1e-3);
  expect_values(bn(x, /*training=*/true), {-s, s});
  expect_values(bn.moving_mean(), {0.01 * 2});              // 0.99 * 0 + 0.01 * 2
  expect_values(bn.moving_variance(), {0.99 * 1 + 0.01 * 1});
  // Inference uses the moving statistics: (x - 0.02) / sqrt(1 + 1e-3).
  expect_values(bn(x, /*training=*/false), {(1 - 0.02) * s, (3 - 0.02) * s});
  expect_values(bn.moving_mean(), {0.02});  // unchanged by inference
}

TEST(BatchNormalization, FrozenLayerRunsInInferenceMode) {
  BatchNormalization bn;
  const Tensor x = Tensor::from_vector<float>({1, 3, 5, 7}, {2, 2});
  bn(x, true);
  const auto mean = bn.moving_mean().to_vector<float>();
  bn.set_trainable(false);
  const Tensor frozen = bn(x, /*training=*/true);
  EXPECT_EQ(bn.moving_mean().to_vector<float>(), mean);
  EXPECT_EQ(frozen.to_vector<float>(), bn(x, false).to_vector<float>());
}

TEST(BatchNormalization, MovingStatisticsAreNonTrainableWeights) {
  Sequential model;
  model.add(Dense(8, "", {4}));
  model.add(BatchNormalization());
  std::ostringstream out;
  model.summary(out);
  EXPECT_NE(out.str().find("Trainable params: 56"), std::string::npos) << out.str();      // 40 + gamma, beta
  EXPECT_NE(out.str().find("Non-trainable params: 16"), std::string::npos) << out.str();  // moving stats
  EXPECT_EQ(model.trainable_weights().size(), 4u);
  const auto& w = model.layers()[1]->weights();
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0].name, "gamma");
  EXPECT_EQ(w[3].name, "moving_variance");
  EXPECT_FALSE(w[2].trainable);
}

TEST(BatchNormalization, WrongChannelCountNamesTheLayer) {
  BatchNormalization bn(BatchNormalizationOptions{.name = "bn_1"});
  bn(Tensor::zeros({2, 4, 4, 8}), true);
  const std::string msg = error_of([&] { bn(Tensor::zeros({2, 4, 4, 3}), true); });
  EXPECT_NE(msg.find("bn_1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2, 4, 4, 3]"), std::string::npos) << msg;
  EXPECT_NE(error_of([] { BatchNormalization(BatchNormalizationOptions{.momentum = 1.5}); }).find("momentum"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln
