// The layers added for Keras parity: outputs worked out by hand, Keras's
// training-only behaviour of the noise layers, configs (Kiln's own round trip
// and the JSON Keras 3 writes), errors, and model files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <tuple>

#include "kiln/kiln.hpp"
#include "support/errors.hpp"
#include "support/process.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::contains;
using testing::same_bits;

using namespace kiln::layers;
using nlohmann::json;
using testing::error_of;

Tensor t(std::vector<double> values, Shape shape) { return Tensor::from_vector<double>(values, shape); }

std::vector<double> values_of(const Tensor& x) { return x.contiguous().to_vector<double>(); }

template <typename L>
std::shared_ptr<L> f64(L layer) {
  auto p = std::make_shared<L>(std::move(layer));
  p->set_dtype(DType::Float64);
  return p;
}

// --- outputs worked out by hand ----------------------------------------------------------

TEST(KerasLayers, GlobalPoolingAveragesAndMaximisesEachChannel) {
  const Tensor x = t({1, -2, 3, 4, 5, 0}, {1, 3, 2});  // steps (1,-2), (3,4), (5,0)
  EXPECT_EQ(values_of((*f64(GlobalAveragePooling1D()))(x)), (std::vector<double>{3, 2.0 / 3}));
  EXPECT_EQ(values_of((*f64(GlobalMaxPooling1D()))(x)), (std::vector<double>{5, 4}));
  const Tensor image = t({1, 8, 2, 7, 3, 6, 4, 5}, {1, 2, 2, 2});
  const Tensor avg = (*f64(GlobalAveragePooling2D(GlobalPoolingOptions{.keepdims = true})))(image);
  EXPECT_EQ(avg.shape(), (Shape{1, 1, 1, 2}));
  EXPECT_EQ(values_of(avg), (std::vector<double>{2.5, 6.5}));
  EXPECT_EQ(values_of((*f64(GlobalMaxPooling2D()))(image)), (std::vector<double>{4, 8}));
}

TEST(KerasLayers, CausalConv1DSeesOnlyThePast) {
  auto conv = f64(Conv1D(1, 2, Conv1DOptions{.padding = "causal", .use_bias = false}));
  conv->build({4, 1});
  conv->set_weights({t({10, 1}, {2, 1, 1})});  // y[t] = 10 x[t-1] + x[t]
  EXPECT_EQ(values_of((*conv)(t({1, 2, 3, 4}, {1, 4, 1}))), (std::vector<double>{1, 12, 23, 34}));
  auto dilated = f64(Conv1D(1, 2, Conv1DOptions{.padding = "causal", .dilation_rate = 2, .use_bias = false}));
  dilated->build({4, 1});
  dilated->set_weights({t({10, 1}, {2, 1, 1})});  // y[t] = 10 x[t-2] + x[t]
  EXPECT_EQ(values_of((*dilated)(t({1, 2, 3, 4}, {1, 4, 1}))), (std::vector<double>{1, 2, 13, 24}));
}

TEST(KerasLayers, GroupsKeepChannelsApart) {
  // Two groups of one channel: filter 0 sees only channel 0, filter 1 only channel 1.
  auto conv = f64(Conv1D(2, 1, Conv1DOptions{.groups = 2, .use_bias = false}));
  conv->build({2, 2});
  conv->set_weights({t({2, 3}, {1, 1, 2})});
  EXPECT_EQ(values_of((*conv)(t({1, 10, 2, 20}, {1, 2, 2}))), (std::vector<double>{2, 30, 4, 60}));
  // DepthwiseConv2D: output channel c * M + m is channel c times kernel[..., c, m].
  auto depthwise = f64(DepthwiseConv2D(1, DepthwiseConv2DOptions{.depth_multiplier = 2, .use_bias = false}));
  depthwise->build({1, 1, 2});
  depthwise->set_weights({t({1, 2, 3, 4}, {1, 1, 2, 2})});
  EXPECT_EQ(values_of((*depthwise)(t({10, 100}, {1, 1, 1, 2}))), (std::vector<double>{10, 20, 300, 400}));
}

// depthwise_conv2d's own kernels against the same convolution run as conv2d per channel.
TEST(KerasLayers, DepthwiseKernelsMatchPerChannelConvolutions) {
  for (const auto& [stride, dilation, padding] : std::vector<std::tuple<int, int, std::string>>{
           {1, 1, "valid"}, {2, 1, "same"}, {1, 2, "same"}, {2, 2, "valid"}}) {
    SCOPED_TRACE(std::to_string(stride) + " " + std::to_string(dilation) + " " + padding);
    Conv2dParams p;
    p.stride_h = p.stride_w = stride;
    p.dilation_h = p.dilation_w = dilation;
    p.padding = padding;
    const Tensor x = random::normal({2, 7, 6, 3}, 0, 1, 1).to(DType::Float64).set_requires_grad();
    const Tensor w = random::normal({3, 2, 3, 2}, 0, 1, 2).to(DType::Float64).set_requires_grad();
    const Tensor b = random::normal({6}, 0, 1, 3).to(DType::Float64).set_requires_grad();
    const Tensor r = random::normal(depthwise_conv2d(x, w, b, p).shape(), 0, 1, 4).to(DType::Float64);
    sum(depthwise_conv2d(x, w, b, p) * r).backward();
    const std::vector<Tensor> fast{depthwise_conv2d(x, w, b, p).detach(), x.grad(), w.grad(), b.grad()};
    for (Tensor t : {x, w, b}) t.zero_grad();
    const Tensor reference = grouped_conv2d(x, reshape(w, {3, 2, 1, 6}), b, p, 3);
    sum(reference * r).backward();
    const std::vector<Tensor> slow{reference.detach(), x.grad(), w.grad(), b.grad()};
    for (std::size_t i = 0; i < fast.size(); ++i) {
      const auto f = values_of(fast[i]), s = values_of(slow[i]);
      ASSERT_EQ(f.size(), s.size());
      for (std::size_t j = 0; j < f.size(); ++j) ASSERT_NEAR(f[j], s[j], 1e-12) << "tensor " << i << " at " << j;
    }
  }
}

TEST(KerasLayers, PoolingAndUpsamplingOverSteps) {
  const Tensor x = t({1, 5, 2, 4, 3}, {1, 5, 1});
  EXPECT_EQ(values_of((*f64(MaxPooling1D(2)))(x)), (std::vector<double>{5, 4}));
  EXPECT_EQ(values_of((*f64(MaxPooling1D(2, Pooling1DOptions{.padding = "same"})))(x)), (std::vector<double>{5, 4, 3}));
  EXPECT_EQ(values_of((*f64(AveragePooling1D(3, Pooling1DOptions{.strides = 1})))(x)),
            (std::vector<double>{8.0 / 3, 11.0 / 3, 3}));
  EXPECT_EQ(values_of((*f64(UpSampling1D(2)))(t({1, 2, 3, 4}, {1, 2, 2}))), (std::vector<double>{1, 2, 1, 2, 3, 4, 3, 4}));
}

TEST(KerasLayers, PaddingCroppingPermuteAndRepeat) {
  EXPECT_EQ(values_of((*f64(ZeroPadding1D(Margins1{1, 2})))(t({7, 8}, {1, 2, 1}))), (std::vector<double>{0, 7, 8, 0, 0}));
  const Tensor image = t({1, 2, 3, 4, 5, 6}, {1, 2, 3, 1});
  const Tensor padded = (*f64(ZeroPadding2D(Margins2{1, 0, 0, 1})))(image);
  EXPECT_EQ(padded.shape(), (Shape{1, 3, 4, 1}));
  EXPECT_EQ(values_of(padded), (std::vector<double>{0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0}));
  EXPECT_EQ(values_of((*f64(Cropping1D(Margins1{1, 0})))(t({7, 8, 9}, {1, 3, 1}))), (std::vector<double>{8, 9}));
  EXPECT_EQ(values_of((*f64(Cropping2D(Margins2{0, 1, 1, 0})))(image)), (std::vector<double>{2, 3}));
  const Tensor permuted = (*f64(Permute({2, 1})))(t({1, 2, 3, 4, 5, 6}, {1, 2, 3}));
  EXPECT_EQ(permuted.shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(values_of(permuted), (std::vector<double>{1, 4, 2, 5, 3, 6}));
  // (3, 1, 2) on [a, b, c] = [2, 3, 2]: out[k, i, j] = in[i, j, k].
  std::vector<double> in(12);
  for (int i = 0; i < 12; ++i) in[i] = i;
  const Tensor cycled = (*f64(Permute({3, 1, 2})))(t(in, {1, 2, 3, 2}));
  EXPECT_EQ(cycled.shape(), (Shape{1, 2, 2, 3}));
  EXPECT_EQ(values_of(cycled), (std::vector<double>{0, 2, 4, 6, 8, 10, 1, 3, 5, 7, 9, 11}));
  const Tensor repeated = (*f64(RepeatVector(3)))(t({1, 2}, {1, 2}));
  EXPECT_EQ(repeated.shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(values_of(repeated), (std::vector<double>{1, 2, 1, 2, 1, 2}));
}

TEST(KerasLayers, MergesCombineElementwise) {
  const Tensor a = t({1, -2, 3}, {1, 3}), b = t({4, 5, -6}, {1, 3}), c = t({0, 1, 2}, {1, 3});
  EXPECT_EQ(values_of((*f64(Subtract()))({a, b})), (std::vector<double>{-3, -7, 9}));
  EXPECT_EQ(values_of((*f64(Multiply()))({a, b, c})), (std::vector<double>{0, -10, -36}));
  const auto average = values_of((*f64(Average()))({a, b, c}));
  const std::vector<double> expected_average{5.0 / 3, 4.0 / 3, -1.0 / 3};
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(average[i], expected_average[i], 1e-15);
  EXPECT_EQ(values_of((*f64(Maximum()))({a, b, c})), (std::vector<double>{4, 5, 3}));
  EXPECT_EQ(values_of((*f64(Minimum()))({a, b})), (std::vector<double>{1, -2, -6}));
  EXPECT_TRUE(contains(error_of([&] { (*f64(Subtract()))({a, b, c}); }), "exactly 2 inputs, got 3"));
}

TEST(KerasLayers, DotIsABatchDotProduct) {
  const Tensor a = t({1, 2, 3}, {1, 3}), b = t({4, 5, 6}, {1, 3});
  const Tensor plain = (*f64(Dot(1)))({a, b});
  EXPECT_EQ(plain.shape(), (Shape{1, 1}));
  EXPECT_EQ(plain.item(), 32);
  EXPECT_NEAR((*f64(Dot(1, true)))({a, b}).item(), 32 / std::sqrt(14.0 * 77.0), 1e-15);
  // [1, 2, 2] . [1, 3, 2] along the last axes: every pair of rows.
  const Tensor x = t({1, 0, 0, 2}, {1, 2, 2}), y = t({1, 1, 2, 0, 0, 3}, {1, 3, 2});
  const Tensor scores = (*f64(Dot(2)))({x, y});
  EXPECT_EQ(scores.shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(values_of(scores), (std::vector<double>{1, 2, 0, 2, 0, 6}));
  // axes (1, 1): x^T y per sample.
  EXPECT_EQ(values_of((*f64(Dot(DotAxes{1, 1})))({x, t({1, 2, 3, 4}, {1, 2, 2})})), (std::vector<double>{1, 2, 6, 8}));
  EXPECT_TRUE(contains(error_of([&] { (*f64(Dot(1)))({a, t({1, 2}, {1, 2})}); }), "summed axes differ"));
}

TEST(KerasLayers, UnitAndGroupNormalization) {
  EXPECT_EQ(values_of((*f64(UnitNormalization()))(t({3, 4, 0, 0}, {2, 2}))), (std::vector<double>{0.6, 0.8, 0, 0}));
  // One group over a sample of 4 values 1..4: mean 2.5, biased variance 1.25.
  auto norm = f64(GroupNormalization(GroupNormalizationOptions{.groups = 1, .epsilon = 1e-12}));
  const auto y = values_of((*norm)(t({1, 2, 3, 4}, {1, 2, 2})));
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y[i], (i + 1 - 2.5) / std::sqrt(1.25), 1e-9);
  // Two groups of [1, 2] channels apart: each normalised on its own.
  auto two = f64(GroupNormalization(GroupNormalizationOptions{.groups = 2, .epsilon = 1e-12}));
  const auto z = values_of((*two)(t({1, 100, 3, 300}, {1, 2, 2})));
  EXPECT_NEAR(z[0], -1, 1e-9);
  EXPECT_NEAR(z[1], -1, 1e-9);
  EXPECT_NEAR(z[2], 1, 1e-9);
  EXPECT_NEAR(z[3], 1, 1e-9);
}

// --- the noise layers: active only when training, seeded ------------------------------------

TEST(KerasLayers, NoiseLayersAreTheIdentityAtInference) {
  const Tensor x = t({1, 2, 3, 4, 5, 6}, {1, 3, 2});
  EXPECT_EQ(values_of((*f64(SpatialDropout1D(0.5)))(x)), values_of(x));
  EXPECT_EQ(values_of((*f64(GaussianNoise(1.0)))(x)), values_of(x));
  EXPECT_EQ(values_of((*f64(GaussianDropout(0.5)))(x)), values_of(x));
  EXPECT_EQ(values_of((*f64(SpatialDropout2D(0.5)))(t({1, 2, 3, 4}, {1, 2, 1, 2}))), (std::vector<double>{1, 2, 3, 4}));
}

TEST(KerasLayers, SpatialDropoutDropsWholeChannels) {
  const std::int64_t n = 200, steps = 5, channels = 8;
  auto drop = f64(SpatialDropout1D(0.25, 7));
  const Tensor y = (*drop)(Tensor::ones({n, steps, channels}, DType::Float64), /*training=*/true);
  const auto v = values_of(y);
  std::int64_t dropped = 0;
  for (std::int64_t b = 0; b < n; ++b) {
    for (std::int64_t c = 0; c < channels; ++c) {
      const double first = v[(b * steps) * channels + c];
      ASSERT_TRUE(first == 0.0 || std::abs(first - 1 / 0.75) < 1e-15) << first;
      for (std::int64_t s = 1; s < steps; ++s) ASSERT_EQ(v[(b * steps + s) * channels + c], first);
      dropped += first == 0.0;
    }
  }
  // 1600 draws at rate 0.25: 400 expected, standard deviation about 17.
  EXPECT_NEAR(static_cast<double>(dropped), 400, 70);
  auto same_seed = f64(SpatialDropout1D(0.25, 7));
  EXPECT_EQ(values_of((*same_seed)(Tensor::ones({n, steps, channels}, DType::Float64), true)), v);
}

TEST(KerasLayers, GaussianNoiseHasTheStatedSpread) {
  const std::int64_t n = 40000;
  auto noise = f64(GaussianNoise(0.5, 3));
  const auto add = values_of((*noise)(Tensor::full({n, 1}, 2.0, DType::Float64), true));
  auto drop = f64(GaussianDropout(0.2, 3));  // stddev sqrt(0.2 / 0.8) = 0.5
  const auto mul = values_of((*drop)(Tensor::full({n, 1}, 2.0, DType::Float64), true));
  for (const auto* v : {&add, &mul}) {
    double mean = 0, var = 0;
    for (double e : *v) mean += e / n;
    for (double e : *v) var += (e - mean) * (e - mean) / n;
    // GaussianNoise: 2 + N(0, 0.5); GaussianDropout: 2 * N(1, 0.5) = 2 + N(0, 1).
    const double stddev = v == &add ? 0.5 : 1.0;
    EXPECT_NEAR(mean, 2.0, 5 * stddev / std::sqrt(double(n)));
    EXPECT_NEAR(std::sqrt(var), stddev, 0.02 * stddev);
  }
}

// --- configs -------------------------------------------------------------------------

std::vector<std::shared_ptr<Layer>> every_new_layer() {
  return {
      std::make_shared<GlobalAveragePooling1D>(GlobalPoolingOptions{.keepdims = true}),
      std::make_shared<GlobalAveragePooling2D>(),
      std::make_shared<GlobalMaxPooling1D>(),
      std::make_shared<GlobalMaxPooling2D>(GlobalPoolingOptions{.keepdims = true}),
      std::make_shared<Conv1D>(8, 3,
                               Conv1DOptions{.strides = 2,
                                             .padding = "causal",
                                             .dilation_rate = 1,
                                             .groups = 2,
                                             .activation = "relu",
                                             .use_bias = false,
                                             .input_shape = {10, 4}}),
      std::make_shared<MaxPooling1D>(3, Pooling1DOptions{.strides = 2, .padding = "same"}),
      std::make_shared<AveragePooling1D>(),
      std::make_shared<UpSampling1D>(4),
      std::make_shared<Conv2D>(6, 3, Conv2DOptions{.groups = 3}),
      std::make_shared<DepthwiseConv2D>(
          Size2{3, 1},
          DepthwiseConv2DOptions{
              .strides = 2, .padding = "same", .depth_multiplier = 3, .depthwise_initializer = "he_normal"}),
      std::make_shared<SeparableConv2D>(
          5, 3, SeparableConv2DOptions{.dilation_rate = 2, .depth_multiplier = 2, .activation = "tanh"}),
      std::make_shared<ZeroPadding1D>(Margins1{2, 3}),
      std::make_shared<ZeroPadding2D>(Margins2{1, 2, 3, 4}),
      std::make_shared<Cropping1D>(Margins1{0, 1}),
      std::make_shared<Cropping2D>(Margins2{2, 1}),
      std::make_shared<Permute>(std::vector<int>{2, 3, 1}),
      std::make_shared<RepeatVector>(5),
      std::make_shared<Subtract>(),
      std::make_shared<Multiply>(),
      std::make_shared<Average>(),
      std::make_shared<Maximum>(),
      std::make_shared<Minimum>(),
      std::make_shared<Dot>(DotAxes{1, 2}, true),
      std::make_shared<Dot>(-1),
      std::make_shared<SpatialDropout1D>(0.3, 5),
      std::make_shared<SpatialDropout2D>(0.2),
      std::make_shared<GaussianNoise>(0.1, 9),
      std::make_shared<GaussianDropout>(0.4),
      std::make_shared<GroupNormalization>(GroupNormalizationOptions{.groups = 4, .epsilon = 1e-5, .center = false}),
      std::make_shared<UnitNormalization>(std::vector<int>{1, 2}),
      std::make_shared<UnitNormalization>(),
  };
}

TEST(KerasLayers, ConfigsRoundTrip) {
  for (const auto& layer : every_new_layer()) {
    const json config = layer->get_config();
    auto copy = layer_from_config(layer->type(), config);
    EXPECT_EQ(copy->type(), layer->type());
    EXPECT_EQ(copy->get_config(), config) << layer->type();
  }
  const auto types = registered_layer_types();
  for (const auto& layer : every_new_layer()) {
    EXPECT_TRUE(std::count(types.begin(), types.end(), layer->type())) << layer->type();
  }
}

// Configs as Keras 3's get_config() writes them (keras 3.3: dtype a name; 3.4 on: a DTypePolicy).
TEST(KerasLayers, ReadsKeras3Configs) {
  const json depthwise = json::parse(R"({
    "name": "depthwise_conv2d", "trainable": true,
    "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float64"}, "registered_name": null},
    "kernel_size": [3, 3], "strides": [2, 2], "padding": "same", "depth_multiplier": 2,
    "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "relu", "use_bias": true,
    "depthwise_initializer": {"module": "keras.initializers", "class_name": "RandomNormal",
                              "config": {"mean": 0.5, "stddev": 0.0, "seed": null}, "registered_name": null},
    "bias_initializer": {"module": "keras.initializers", "class_name": "Constant", "config": {"value": 0.25},
                         "registered_name": null},
    "depthwise_regularizer": null, "bias_regularizer": null, "activity_regularizer": null,
    "depthwise_constraint": null, "bias_constraint": null})");
  auto layer = std::dynamic_pointer_cast<DepthwiseConv2D>(layer_from_config("DepthwiseConv2D", depthwise));
  ASSERT_TRUE(layer);
  EXPECT_EQ(layer->name(), "depthwise_conv2d");
  EXPECT_EQ(layer->dtype(), DType::Float64);
  EXPECT_EQ(layer->kernel_size(), Size2(3, 3));
  EXPECT_EQ(layer->options().strides, Size2(2, 2));
  EXPECT_EQ(layer->options().depth_multiplier, 2);
  EXPECT_EQ(layer->options().activation, "relu");
  layer->build({4, 4, 3});
  EXPECT_EQ(layer->output_shape(), (Shape{2, 2, 6}));
  const auto w = layer->get_weights();  // kernel all 0.5 (stddev 0), bias all 0.25
  EXPECT_EQ(w[0].shape(), (Shape{3, 3, 3, 2}));
  EXPECT_EQ(values_of(w[0]), std::vector<double>(54, 0.5));
  EXPECT_EQ(values_of(w[1]), std::vector<double>(6, 0.25));

  const json conv1d = json::parse(R"({
    "name": "conv1d", "trainable": true, "dtype": "float32", "filters": 16, "kernel_size": [5], "strides": [1],
    "padding": "causal", "data_format": "channels_last", "dilation_rate": [4], "groups": 1, "activation": "linear",
    "use_bias": false,
    "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null},
                           "registered_name": null},
    "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
    "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null,
    "bias_constraint": null})");
  auto c1 = std::dynamic_pointer_cast<Conv1D>(layer_from_config("Conv1D", conv1d));
  ASSERT_TRUE(c1);
  EXPECT_EQ(c1->kernel_size(), 5);
  EXPECT_EQ(c1->options().dilation_rate, 4);
  EXPECT_EQ(c1->options().padding, "causal");
  EXPECT_EQ(c1->options().kernel_initializer.name(), "glorot_uniform");
  EXPECT_FALSE(c1->options().use_bias);

  auto pad = std::dynamic_pointer_cast<ZeroPadding2D>(
      layer_from_config("ZeroPadding2D", json::parse(R"({"name": "zp", "trainable": true, "dtype": "float32",
                                       "padding": [[1, 2], [3, 4]], "data_format": "channels_last"})")));
  ASSERT_TRUE(pad);
  EXPECT_EQ(pad->padding(), Margins2(1, 2, 3, 4));
  auto dot = std::dynamic_pointer_cast<Dot>(
      layer_from_config("Dot", json::parse(R"({"name": "dot", "trainable": true, "dtype": "float32", "axes": [2, 1],
                             "normalize": true})")));
  ASSERT_TRUE(dot);
  EXPECT_EQ(dot->axes().a, 2);
  EXPECT_EQ(dot->axes().b, 1);
  EXPECT_TRUE(dot->normalize());
  auto spatial =
      layer_from_config("SpatialDropout2D", json::parse(R"({"rate": 0.3, "seed": 12, "name": "sd", "dtype": "float32",
                                          "data_format": "channels_last"})"));
  EXPECT_EQ(std::dynamic_pointer_cast<SpatialDropout2D>(spatial)->rate(), 0.3);
  auto group = std::dynamic_pointer_cast<GroupNormalization>(layer_from_config(
      "GroupNormalization",
      json::parse(R"({"name": "gn", "trainable": true, "dtype": "float32", "groups": 8, "axis": -1, "epsilon": 0.001,
          "center": true, "scale": false,
          "beta_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
          "gamma_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null},
          "beta_regularizer": null, "gamma_regularizer": null, "beta_constraint": null, "gamma_constraint": null})")));
  ASSERT_TRUE(group);
  EXPECT_EQ(group->options().groups, 8);
  EXPECT_FALSE(group->options().scale);
  group->build({5, 16});
  EXPECT_EQ(group->get_weights().size(), 1u);  // beta only
}

// Layers Kiln had before read Keras 3's configs too: initializers as objects, groups, dtype policies.
TEST(KerasLayers, ReadsKeras3ConfigsOfEarlierLayers) {
  const json conv2d = json::parse(R"({
    "name": "conv2d_7", "trainable": false, "dtype": "float32", "filters": 8, "kernel_size": [3, 3],
    "strides": [1, 1], "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 2,
    "activation": "relu", "use_bias": true,
    "kernel_initializer": {"module": "keras.initializers", "class_name": "HeNormal", "config": {"seed": null},
                           "registered_name": null},
    "bias_initializer": {"module": "keras.initializers", "class_name": "Constant", "config": {"value": 0.5},
                         "registered_name": null},
    "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null,
    "bias_constraint": null})");
  auto conv = std::dynamic_pointer_cast<Conv2D>(layer_from_config("Conv2D", conv2d));
  ASSERT_TRUE(conv);
  EXPECT_FALSE(conv->trainable());
  EXPECT_EQ(conv->options().groups, 2);
  EXPECT_EQ(conv->options().kernel_initializer.name(), "he_normal");
  conv->build({5, 5, 4});
  EXPECT_EQ(conv->kernel().shape(), (Shape{3, 3, 2, 8}));
  EXPECT_EQ(values_of(conv->bias()), std::vector<double>(8, 0.5));
  const json gru = json::parse(R"({
    "name": "gru", "trainable": true, "dtype": "float32", "return_sequences": false, "return_state": false,
    "go_backwards": false, "stateful": false, "unroll": false, "zero_output_for_mask": false, "units": 4,
    "activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": true,
    "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null},
                           "registered_name": null},
    "recurrent_initializer": {"module": "keras.initializers", "class_name": "Orthogonal",
                              "config": {"gain": 1.0, "seed": null}, "registered_name": null},
    "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
    "kernel_regularizer": null, "recurrent_regularizer": null, "bias_regularizer": null,
    "activity_regularizer": null, "kernel_constraint": null, "recurrent_constraint": null, "bias_constraint": null,
    "dropout": 0.25, "recurrent_dropout": 0.0, "reset_after": true, "seed": 7, "use_cudnn": "auto"})");
  auto g = std::dynamic_pointer_cast<GRU>(layer_from_config("GRU", gru));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->options().dropout, 0.25);
  EXPECT_EQ(g->options().seed, std::optional<std::uint64_t>(7));
  json no_reset = gru;
  no_reset["reset_after"] = false;
  EXPECT_TRUE(contains(error_of([&] { layer_from_config("GRU", no_reset); }), "reset_after"));
  json hard = gru;
  hard["recurrent_activation"] = "hard_sigmoid";
  EXPECT_TRUE(contains(error_of([&] { layer_from_config("GRU", hard); }), "hard_sigmoid"));
}

TEST(KerasLayers, ConfigErrorsNameTheLayerAndTheValue) {
  json config = every_new_layer()[4]->get_config();  // the Conv1D
  config["kernel_regularizer"] = {{"class_name", "L5"}, {"config", {{"l5", 0.01}}}};
  const std::string regularizer = error_of([&] { layer_from_config("Conv1D", config); });
  EXPECT_TRUE(contains(regularizer, "Conv1D")) << regularizer;
  EXPECT_TRUE(contains(regularizer, "kernel_regularizer")) << regularizer;
  EXPECT_TRUE(contains(regularizer, "L5")) << regularizer;
  config.erase("kernel_regularizer");
  config["data_format"] = "channels_first";
  const std::string format = error_of([&] { layer_from_config("Conv1D", config); });
  EXPECT_TRUE(contains(format, "channels_first")) << format;
  EXPECT_TRUE(contains(error_of([&] {
                         layer_from_config("GroupNormalization", {{"groups", 2}, {"axis", 1}});
                       }),
                       "axis 1"));
}

TEST(KerasLayers, BadArgumentsAndInputsAreErrorsThatSayWhy) {
  EXPECT_TRUE(contains(error_of([] { Conv1D(4, 3, Conv1DOptions{.padding = "full"}); }), "\"causal\", got \"full\""));
  EXPECT_TRUE(contains(error_of([] { Conv1D(5, 3, Conv1DOptions{.groups = 2}); }), "divide filters (5), got 2"));
  EXPECT_TRUE(contains(error_of([] {
                         (Conv1D(4, 3, Conv1DOptions{.groups = 2}))(Tensor::zeros({1, 5, 3}));
                       }),
                       "input channels (3) must be a multiple of groups (2)"));
  EXPECT_TRUE(contains(error_of([] { Permute({1, 1}); }), "permutation of 1..2"));
  EXPECT_TRUE(contains(error_of([] { (Cropping1D(Margins1{2, 2}))(Tensor::zeros({1, 4, 1})); }), "leaves nothing"));
  EXPECT_TRUE(contains(error_of([] {
                         (GroupNormalization(GroupNormalizationOptions{.groups = 4}))(Tensor::zeros({1, 2, 6}));
                       }),
                       "multiple of groups (4)"));
  EXPECT_TRUE(contains(error_of([] {
                         GlobalAveragePooling2D layer;
                         layer(Tensor::zeros({1, 3, 2}));
                       }),
                       "[batch, height, width, channels]"));
  EXPECT_TRUE(contains(error_of([] { (RepeatVector(2))(Tensor::zeros({1, 3, 2})); }), "[batch, features]"));
  EXPECT_TRUE(contains(error_of([] { DepthwiseConv2D(3, DepthwiseConv2DOptions{.depth_multiplier = 0}); }),
                       "depth_multiplier must be positive, got 0"));
}

// --- model files ---------------------------------------------------------------------

TEST(KerasLayers, ModelsOfTheNewLayersSaveAndLoad) {
  manual_seed(3);
  testing::TempDir dir;
  Sequential sequence;
  sequence.add(
      Conv1D(6, 3, Conv1DOptions{.padding = "causal", .groups = 2, .activation = "relu", .input_shape = {12, 4}}));
  sequence.add(ZeroPadding1D(1));
  sequence.add(MaxPooling1D(2));
  sequence.add(UpSampling1D(2));
  sequence.add(Cropping1D(Margins1{1, 1}));
  sequence.add(SpatialDropout1D(0.2));
  sequence.add(GroupNormalization(GroupNormalizationOptions{.groups = 3, .gamma_initializer = "random_normal"}));
  sequence.add(Permute({2, 1}));
  sequence.add(GaussianNoise(0.1));
  sequence.add(GlobalMaxPooling1D());
  sequence.add(RepeatVector(2));
  sequence.add(UnitNormalization());
  sequence.add(GlobalAveragePooling1D());
  const Tensor x = random::normal({5, 12, 4}, 0.0, 1.0, 8);
  sequence.save(dir.path() / "sequence.safetensors");
  auto loaded = load_model(dir.path() / "sequence.safetensors");
  EXPECT_EQ(model_to_json(*loaded), model_to_json(sequence));
  EXPECT_TRUE(same_bits(sequence.predict(x), loaded->predict(x)));

  Sequential image;
  image.add(DepthwiseConv2D(3, DepthwiseConv2DOptions{.depth_multiplier = 2, .input_shape = {6, 6, 2}}));
  image.add(ZeroPadding2D(Margins2{1, 2}, "channels_last"));
  image.add(SeparableConv2D(4, 3, SeparableConv2DOptions{.padding = "same", .activation = "relu"}));
  image.add(Conv2D(4, 1, Conv2DOptions{.groups = 2}));
  image.add(Cropping2D(Margins2{1, 0, 0, 1}));
  image.add(SpatialDropout2D(0.3));
  image.add(GaussianDropout(0.2));
  image.add(GlobalAveragePooling2D(GlobalPoolingOptions{.keepdims = true}));
  image.add(GlobalMaxPooling2D());
  const Tensor pictures = random::normal({3, 6, 6, 2}, 0.0, 1.0, 9);
  image.save(dir.path() / "image.safetensors");
  auto image_loaded = load_model(dir.path() / "image.safetensors");
  EXPECT_TRUE(same_bits(image.predict(pictures), image_loaded->predict(pictures)));

  // Merges in a functional model: two inputs, several calls.
  const SymbolicTensor a = Input({3, 4}, "a"), b = Input({3, 4}, "b");
  const SymbolicTensor d = Dense(4)(a);
  const SymbolicTensor merged =
      Average()({Subtract()({d, b}), Multiply()({d, b}), Maximum()({a, b}), Minimum()({a, d})});
  const SymbolicTensor scores = Dot(DotAxes{2, 2}, true)({merged, a});
  Model model(std::vector<SymbolicTensor>{a, b}, std::vector<SymbolicTensor>{Dense(2)(Permute({2, 1})(scores))},
              "merges");
  const Tensor xa = random::normal({4, 3, 4}, 0.0, 1.0, 1), xb = random::normal({4, 3, 4}, 0.0, 1.0, 2);
  model.save(dir.path() / "merges.safetensors");
  auto merges_loaded = load_model(dir.path() / "merges.safetensors");
  EXPECT_EQ(model_to_json(*merges_loaded), model_to_json(model));
  const data::Dataset both(std::vector<Tensor>{xa, xb});
  EXPECT_TRUE(same_bits(model.predict(both), merges_loaded->predict(both)));
}

}  // namespace
}  // namespace kiln
