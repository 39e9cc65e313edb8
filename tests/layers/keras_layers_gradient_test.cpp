// The Keras-parity layers' gradients (input and weights), in float64, against finite differences.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "support/gradcheck.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;

using testing::LayerGradCase;

std::vector<LayerGradCase> keras_layer_cases() {
  return {
      {"global_average_pooling1d", [] { return std::make_shared<GlobalAveragePooling1D>(); }, {2, 4, 3}},
      {"global_average_pooling2d_keepdims",
       [] { return std::make_shared<GlobalAveragePooling2D>(GlobalPoolingOptions{.keepdims = true}); },
       {2, 3, 2, 3}},
      {"global_max_pooling1d", [] { return std::make_shared<GlobalMaxPooling1D>(); }, {2, 5, 3}},
      {"global_max_pooling2d", [] { return std::make_shared<GlobalMaxPooling2D>(); }, {2, 3, 4, 2}},
      // Softmax over another axis than the last (moved there and back): once cut off from the
      // gradient by a copy outside autograd.
      {"softmax_axis_1", [] { return std::make_shared<Softmax>(1); }, {2, 4, 3}},
      {"softmax_axis_2_of_4", [] { return std::make_shared<Softmax>(2); }, {2, 3, 4, 2}},
      {"conv1d_same_strided",
       [] { return std::make_shared<Conv1D>(3, 3, Conv1DOptions{.strides = 2, .padding = "same"}); },
       {2, 7, 2}},
      {"conv1d_causal_dilated_tanh",
       [] {
         return std::make_shared<Conv1D>(2, 2,
                                         Conv1DOptions{.padding = "causal", .dilation_rate = 2, .activation = "tanh"});
       },
       {2, 5, 3}},
      {"conv1d_groups", [] { return std::make_shared<Conv1D>(4, 3, Conv1DOptions{.groups = 2}); }, {2, 5, 4}},
      {"max_pooling1d_same",
       [] { return std::make_shared<MaxPooling1D>(3, Pooling1DOptions{.strides = 2, .padding = "same"}); },
       {2, 6, 2}},
      {"average_pooling1d",
       [] { return std::make_shared<AveragePooling1D>(2, Pooling1DOptions{.strides = 1}); },
       {2, 5, 3}},
      {"up_sampling1d", [] { return std::make_shared<UpSampling1D>(3); }, {2, 3, 2}},
      {"conv2d_groups",
       [] {
         return std::make_shared<Conv2D>(4, 3, Conv2DOptions{.padding = "same", .groups = 2, .activation = "relu"});
       },
       {2, 4, 4, 4}},
      {"depthwise_conv2d",
       [] {
         return std::make_shared<DepthwiseConv2D>(Size2{3, 2}, DepthwiseConv2DOptions{.depth_multiplier = 2});
       },
       {2, 4, 5, 3}},
      {"depthwise_conv2d_same_strided",
       [] {
         return std::make_shared<DepthwiseConv2D>(
             3, DepthwiseConv2DOptions{.strides = 2, .padding = "same", .use_bias = false});
       },
       {1, 5, 5, 2}},
      {"separable_conv2d",
       [] {
         return std::make_shared<SeparableConv2D>(
             3, 3, SeparableConv2DOptions{.padding = "same", .depth_multiplier = 2, .activation = "tanh"});
       },
       {2, 4, 4, 2}},
      {"zero_padding1d",
       [] {
         return std::make_shared<ZeroPadding1D>(Margins1{1, 2});
       },
       {2, 3, 2}},
      {"zero_padding2d",
       [] {
         return std::make_shared<ZeroPadding2D>(Margins2{1, 0, 2, 1});
       },
       {2, 2, 3, 2}},
      {"cropping1d",
       [] {
         return std::make_shared<Cropping1D>(Margins1{1, 2});
       },
       {2, 6, 2}},
      {"cropping2d",
       [] {
         return std::make_shared<Cropping2D>(Margins2{1, 0, 0, 2});
       },
       {2, 4, 5, 2}},
      {"permute",
       [] {
         return std::make_shared<Permute>(std::vector<int>{3, 1, 2});
       },
       {2, 2, 3, 4}},
      {"repeat_vector", [] { return std::make_shared<RepeatVector>(3); }, {2, 4}},
      {"spatial_dropout1d", [] { return std::make_shared<SpatialDropout1D>(0.5, 3); }, {3, 4, 5}},
      {"spatial_dropout2d", [] { return std::make_shared<SpatialDropout2D>(0.5, "channels_last", 3); }, {2, 3, 2, 4}},
      {"gaussian_noise", [] { return std::make_shared<GaussianNoise>(0.5, 3); }, {2, 5}},
      {"gaussian_dropout", [] { return std::make_shared<GaussianDropout>(0.4, 3); }, {2, 5}},
      {"group_normalization",
       [] {
         return std::make_shared<GroupNormalization>(GroupNormalizationOptions{
             .groups = 2, .beta_initializer = "random_normal", .gamma_initializer = "random_normal"});
       },
       {2, 3, 2, 4}},
      {"group_normalization_sequence",
       [] { return std::make_shared<GroupNormalization>(GroupNormalizationOptions{.groups = 3, .epsilon = 1e-5}); },
       {2, 4, 6}},
      {"unit_normalization", [] { return std::make_shared<UnitNormalization>(); }, {3, 4}},
      {"time_distributed_dense", [] { return std::make_shared<TimeDistributed>(Dense(3, "tanh")); }, {2, 3, 4}},
      {"time_distributed_conv2d", [] { return std::make_shared<TimeDistributed>(Conv2D(2, 2)); }, {2, 2, 3, 3, 2}},
      {"bidirectional_gru_concat",
       [] { return std::make_shared<Bidirectional>(GRU(3, RNNOptions{.return_sequences = true})); },
       {2, 4, 3}},
      {"bidirectional_lstm_mul", [] { return std::make_shared<Bidirectional>(LSTM(2), "mul"); }, {2, 3, 2}},
      {"lstm_input_dropout",
       [] { return std::make_shared<LSTM>(3, RNNOptions{.dropout = 0.4, .seed = 2, .return_sequences = true}); },
       {3, 4, 5}},
      {"unit_normalization_two_axes",
       [] {
         return std::make_shared<UnitNormalization>(std::vector<int>{1, 2});
       },
       {2, 3, 4}},
  };
}

class KerasLayerGradient : public ::testing::TestWithParam<LayerGradCase> {};

TEST_P(KerasLayerGradient, MatchesFiniteDifferences) { testing::expect_layer_gradients_match(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Layers, KerasLayerGradient, ::testing::ValuesIn(keras_layer_cases()),
                         [](const auto& info) { return info.param.name; });

// Dot and the elementwise merges, through the list call.
struct MergeCase {
  std::string name;
  std::function<std::shared_ptr<MergeLayer>()> make;
  std::vector<Shape> shapes;
};

void PrintTo(const MergeCase& c, std::ostream* os) { *os << c.name; }

class KerasMergeGradient : public ::testing::TestWithParam<MergeCase> {};

TEST_P(KerasMergeGradient, MatchesFiniteDifferences) {
  const MergeCase& c = GetParam();
  auto layer = c.make();
  layer->set_dtype(DType::Float64);
  Generator gen(7);
  std::vector<Tensor> inputs;
  for (const Shape& s : c.shapes) {
    Tensor t = Tensor::empty(s, DType::Float64);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = gen.uniform(-1, 1);
    inputs.push_back(t.set_requires_grad());
  }
  Tensor probe = (*layer)(inputs);
  Tensor weights = Tensor::empty(probe.shape(), DType::Float64);
  for (std::int64_t i = 0; i < weights.numel(); ++i) weights.data<double>()[i] = gen.uniform(-1, 1);
  std::vector<Tensor> wrt = inputs;
  for (const auto& w : layer->trainable_weights()) wrt.push_back(w);
  testing::expect_gradients_match(
      c.name, [&] { return sum((*layer)(inputs)*weights); }, wrt);
}

INSTANTIATE_TEST_SUITE_P(
    Merges, KerasMergeGradient,
    ::testing::Values(
        MergeCase{"subtract", [] { return std::make_shared<Subtract>(); }, {{2, 3}, {2, 3}}},
        MergeCase{"multiply", [] { return std::make_shared<Multiply>(); }, {{2, 3}, {2, 3}, {2, 3}}},
        MergeCase{"average", [] { return std::make_shared<Average>(); }, {{2, 2, 3}, {2, 2, 3}}},
        MergeCase{"maximum", [] { return std::make_shared<Maximum>(); }, {{2, 4}, {2, 4}, {2, 4}}},
        MergeCase{"minimum", [] { return std::make_shared<Minimum>(); }, {{2, 4}, {2, 4}}},
        MergeCase{"dot_vectors", [] { return std::make_shared<Dot>(1); }, {{3, 4}, {3, 4}}},
        MergeCase{"dot_sequences", [] { return std::make_shared<Dot>(2); }, {{2, 3, 4}, {2, 5, 4}}},
        MergeCase{"dot_axes_1_normalized",
                  [] {
                    return std::make_shared<Dot>(DotAxes{1, 1}, true);
                  },
                  {{2, 3, 4}, {2, 3, 2}}},
        MergeCase{"dot_mixed_axes",
                  [] {
                    return std::make_shared<Dot>(DotAxes{1, 2});
                  },
                  {{2, 3, 4}, {2, 5, 3}}},
        MergeCase{"attention_dot_scaled",
                  [] { return std::make_shared<Attention>(DenseAttentionOptions{.use_scale = true}); },
                  {{2, 3, 4}, {2, 5, 4}}},
        MergeCase{"attention_concat_causal_key",
                  [] {
                    return std::make_shared<Attention>(
                        DenseAttentionOptions{.use_scale = true, .score_mode = "concat", .use_causal_mask = true});
                  },
                  {{2, 4, 3}, {2, 4, 2}, {2, 4, 3}}},
        MergeCase{"additive_attention", [] { return std::make_shared<AdditiveAttention>(); }, {{2, 3, 4}, {2, 5, 4}}},
        MergeCase{"additive_attention_unscaled",
                  [] { return std::make_shared<AdditiveAttention>(DenseAttentionOptions{.use_scale = false}); },
                  {{1, 2, 3}, {1, 4, 3}}}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace kiln
