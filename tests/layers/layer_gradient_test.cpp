// Every layer's gradients (input and weights), in float64, against finite differences.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "support/gradcheck.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;

using testing::LayerGradCase;

std::vector<LayerGradCase> layer_cases() {
  return {
      {"dense_relu", [] { return std::make_shared<Dense>(4, "relu"); }, {3, 5}},
      {"dense_softmax", [] { return std::make_shared<Dense>(3, "softmax"); }, {2, 4}},
      {"dense_3d_input", [] { return std::make_shared<Dense>(2, "tanh"); }, {2, 3, 4}},
      {"dense_no_bias", [] { return std::make_shared<Dense>(3, DenseOptions{.activation = "sigmoid", .use_bias = false}); }, {2, 4}},
      {"conv2d_relu", [] { return std::make_shared<Conv2D>(3, Size2{3, 3}, "relu"); }, {2, 6, 5, 2}},
      {"conv2d_same_strided", [] { return std::make_shared<Conv2D>(2, Size2{3, 2}, Conv2DOptions{.strides = 2, .padding = "same"}); }, {2, 7, 6, 3}},
      {"conv2d_dilated", [] { return std::make_shared<Conv2D>(2, 3, Conv2DOptions{.dilation_rate = 2}); }, {1, 7, 7, 1}},
      {"max_pooling2d", [] { return std::make_shared<MaxPooling2D>(2); }, {2, 4, 5, 3}},
      {"max_pooling2d_same", [] { return std::make_shared<MaxPooling2D>(3, Pooling2DOptions{.strides = Size2(2), .padding = "same"}); }, {1, 5, 5, 2}},
      {"average_pooling2d", [] { return std::make_shared<AveragePooling2D>(Size2{2, 3}); }, {2, 4, 6, 2}},
      {"flatten", [] { return std::make_shared<Flatten>(); }, {2, 3, 2, 2}},
      {"reshape", [] { return std::make_shared<Reshape>(Shape{2, -1}); }, {2, 3, 4}},
      {"activation_tanh", [] { return std::make_shared<Activation>("tanh"); }, {2, 5}},
      {"activation_leaky_relu", [] { return std::make_shared<Activation>("leaky_relu"); }, {2, 5}},
      {"rescaling", [] { return std::make_shared<Rescaling>(0.5, 0.25); }, {2, 5}},
      {"conv2d_transpose_same_strided", [] { return std::make_shared<Conv2DTranspose>(3, 3, Conv2DTransposeOptions{.strides = 2, .padding = "same", .activation = "tanh"}); }, {2, 3, 2, 2}},
      {"conv2d_transpose_valid", [] { return std::make_shared<Conv2DTranspose>(2, Size2{2, 3}); }, {2, 3, 3, 2}},
      {"up_sampling2d", [] { return std::make_shared<UpSampling2D>(Size2{2, 3}); }, {2, 2, 3, 2}},
      {"leaky_relu_layer", [] { return std::make_shared<LeakyReLU>(0.2); }, {2, 3, 4}},
      {"batch_normalization_training", [] { return std::make_shared<BatchNormalization>(); }, {4, 3, 2, 3}},
      {"batch_normalization_dense_training", [] { return std::make_shared<BatchNormalization>(BatchNormalizationOptions{.center = false}); }, {5, 4}},
      {"batch_normalization_inference", [] { return std::make_shared<BatchNormalization>(); }, {4, 3, 2, 3}, false},
  };
}

class LayerGradient : public ::testing::TestWithParam<LayerGradCase> {};

TEST_P(LayerGradient, MatchesFiniteDifferences) { testing::expect_layer_gradients_match(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Layers, LayerGradient, ::testing::ValuesIn(layer_cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace kiln
