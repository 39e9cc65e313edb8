// ONNX export of the Keras layers added after the first exporter: each small model below is
// exported, checked by ONNX's checker and run in ONNX Runtime, whose outputs must be Kiln's
// (1e-5), and imported back, predicting Kiln's outputs (1e-6). All models run in one node process and are checked in
// one python3 process, so the whole table costs about what one model did.
#include <gtest/gtest.h>

#include "kiln/kiln.hpp"
#include "onnx/onnx_support.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;
using testing::TempDir;

// Every weight drawn from [-1, 1) ([0.5, 1.5) for variances), so that a misplaced kernel
// element, gate, bias or scale shows in the outputs.
void randomize_export_weights(Model& model, std::uint64_t seed) {
  for (const auto& layer : model.layers()) {
    for (const auto& w : layer->weights()) {
      const bool variance = w.name.find("variance") != std::string::npos;
      w.value.detach().copy_(
          random::uniform(w.value.shape(), variance ? 0.5 : -1.0, variance ? 1.5 : 1.0, seed++).to(w.value.dtype()));
    }
  }
}

struct LayerCase {
  std::string name;
  std::shared_ptr<Model> model;
  std::vector<Tensor> inputs;
  std::map<std::string, int> expected_ops;  // operator counts the file must have (the Transposes, say)
};

// A Sequential of `layers`, built for samples of `input_shape` when given.
std::shared_ptr<Model> sequential_of(std::vector<std::shared_ptr<Layer>> layers, const Shape& input_shape = {}) {
  auto model = std::make_shared<Sequential>();
  for (auto& l : layers) model->add(l);
  if (!input_shape.empty()) model->build(input_shape);
  return model;
}

template <typename L>
std::shared_ptr<Layer> make(L layer) {
  return std::make_shared<L>(std::move(layer));
}

std::shared_ptr<Model> functional(const std::vector<SymbolicTensor>& in, const std::vector<SymbolicTensor>& out,
                                  const std::string& name) {
  return std::make_shared<Model>(in, out, name);
}

LayerCase conv1d_case() {
  // Causal and dilated, strided "same" with groups, 1-D pooling both ways, UpSampling1D and a
  // global pooling: one Transpose into [N, C, T] after the input, none after.
  auto model = sequential_of({
      make(Conv1D(4, 3, {.padding = "causal", .dilation_rate = 2, .activation = "gelu", .input_shape = {11, 4}})),
      make(Conv1D(6, 3, {.strides = 2, .padding = "same", .groups = 2, .activation = "silu"})),
      make(MaxPooling1D(2, {.padding = "same"})),
      make(Conv1D(4, 2)),
      make(AveragePooling1D(2, {.strides = 1, .padding = "same"})),
      make(UpSampling1D(3)),
      make(SpatialDropout1D(0.5)),
      make(GlobalAveragePooling1D()),
      make(Dense(3, "log_softmax")),
  });
  return {"conv1d", model, {random::uniform({3, 11, 4}, -1, 1, 1)}, {{"Transpose", 1}, {"Conv", 3}}};
}

LayerCase depthwise_case() {
  // Grouped, depthwise and separable convolutions, PReLU per channel, padding and cropping of
  // images, all channels first: Transposes only after the input and before Flatten.
  auto model = sequential_of({
      make(Conv2D(6, 3, Conv2DOptions{.padding = "same", .groups = 2, .input_shape = {9, 8, 4}})),
      make(PReLU({.shared_axes = {1, 2}})),
      make(DepthwiseConv2D(3, {.strides = 2, .padding = "same", .depth_multiplier = 2, .activation = "relu6"})),
      make(SeparableConv2D(5, {3, 2}, {.padding = "same", .depth_multiplier = 2, .activation = "elu"})),
      make(ZeroPadding2D({1, 2, 2, 3})),
      make(Cropping2D({0, 1, 1, 0})),
      make(SpatialDropout2D(0.5)),
      make(DepthwiseConv2D({2, 3}, {.dilation_rate = {1, 2}})),
      make(GlobalMaxPooling2D({.keepdims = true})),
      make(Flatten()),
      make(Dense(3, "softmax")),
  });
  return {"depthwise", model, {random::uniform({2, 9, 8, 4}, -1, 1, 2)}, {{"Transpose", 2}, {"Conv", 5}}};
}

LayerCase activations_case() {
  // Every activation by name, the activation layers with their arguments, on [N, 4, 6].
  auto x = Input({4, 6}, "x");
  std::vector<SymbolicTensor> outs;
  for (const char* a : {"relu",      "sigmoid",    "tanh",  "softmax", "log_softmax", "leaky_relu", "gelu",
                        "silu",      "swish",      "elu",   "selu",    "softplus",    "softsign",   "hard_sigmoid",
                        "hard_silu", "hard_swish", "relu6", "mish",    "exponential", "linear"}) {
    outs.push_back(Activation(a)(x));
  }
  outs.push_back(ReLU()(x));
  outs.push_back(ReLU(1.5)(x));
  outs.push_back(ReLU(std::nullopt, 0.2)(x));
  outs.push_back(ReLU(2.0, 0.1, 0.5)(x));
  outs.push_back(ReLU(std::nullopt, 0.3, 1.0)(x));
  outs.push_back(ELU(0.7)(x));
  outs.push_back(Softmax(1)(x));
  outs.push_back(Softmax(-1)(x));
  outs.push_back(PReLU()(x));
  outs.push_back(PReLU({.shared_axes = {1}})(x));
  outs.push_back(GaussianNoise(0.5)(GaussianDropout(0.3)(x)));
  auto model = functional({x}, outs, "activations");
  // Values from -4 to 4 reach hard_sigmoid's and relu6's flat parts.
  return {"activations", model, {random::uniform({3, 4, 6}, -4, 4, 3)}, {{"Erf", 1}, {"LogSoftmax", 1}}};
}

LayerCase sequence_shapes_case() {
  // Padding, cropping and permuting sequences (Kiln's layout), RepeatVector, TimeDistributed,
  // UnitNormalization and GroupNormalization on [T, C], UpSampling1D and global max pooling.
  auto model = sequential_of(
      {
          make(ZeroPadding1D({1, 2})),
          make(Cropping1D({2, 1})),
          make(Permute({2, 1})),
          make(UpSampling1D(2)),
          make(GroupNormalization({.groups = 3})),
          make(Flatten()),
          make(RepeatVector(3)),
          make(TimeDistributed(Dense(4, "tanh"))),
          make(UnitNormalization()),
          make(GlobalMaxPooling1D({.keepdims = true})),
      },
      {6, 4});
  return {"sequence_shapes", model, {random::uniform({3, 6, 4}, -1, 1, 4)}, {}};
}

LayerCase images_case() {
  // GroupNormalization and UnitNormalization of images channels first (after a Conv2D),
  // TimeDistributed of a convolution, element-wise merges of two channels-first values.
  auto frames = Input({3, 6, 6, 2}, "frames");
  auto per_frame = TimeDistributed(Conv2D(4, 3, Conv2DOptions{.padding = "same"}))(frames);
  auto image = Input({6, 6, 2}, "image");
  auto a = Conv2D(8, 3, Conv2DOptions{.activation = "mish"})(image);
  auto b = Conv2D(8, 3)(image);
  auto g = GroupNormalization({.groups = 4})(a);
  auto u = UnitNormalization(std::vector<int>{1, 2})(b);
  auto m = Maximum()({g, u});
  auto avg = Average()({g, u, Minimum()({a, b})});
  auto pooled = GlobalAveragePooling2D()(Subtract()({m, avg}));
  auto kept = GlobalAveragePooling2D({.keepdims = true})(Multiply()({a, b, g}));
  auto model = functional({frames, image}, {per_frame, pooled, kept}, "images");
  return {"images",
          model,
          {random::uniform({2, 3, 6, 6, 2}, -1, 1, 5), random::uniform({2, 6, 6, 2}, -1, 1, 6)},
          {{"Transpose", 4}}};
}

LayerCase merges_case() {
  auto a = Input({6}, "a"), b = Input({6}, "b"), c = Input({6}, "c");
  auto s1 = Input({3, 4}, "s1"), s2 = Input({5, 4}, "s2"), s3 = Input({3, 5}, "s3");
  auto model = functional(
      {a, b, c, s1, s2, s3},
      {Subtract()({a, b}), Multiply()({a, b, c}), Average()({a, b, c}), Maximum()({a, b, c}), Minimum()({a, b}),
       Dot(1)({a, b}), Dot(-1, true)({a, c}), Dot(DotAxes(2, 2))({s1, s2}), Dot(DotAxes(1, 1))({s1, s3}),
       Dot(DotAxes(2, 1), true)({s1, RepeatVector(4)(c)}), Dot(DotAxes(1, 2))({s3, Permute({2, 1})(s1)})},
      "merges");
  std::vector<Tensor> inputs;
  std::uint64_t seed = 7;
  for (const Shape& s : std::vector<Shape>{{4, 6}, {4, 6}, {4, 6}, {4, 3, 4}, {4, 5, 4}, {4, 3, 5}}) {
    inputs.push_back(random::uniform(s, -1, 1, seed++));
  }
  return {"merges", model, inputs, {}};
}

LayerCase bidirectional_case() {
  auto model = sequential_of(
      {
          make(Bidirectional(LSTM(4, {.return_sequences = true}), "concat")),
          make(Bidirectional(GRU(3, {.return_sequences = true}), "ave")),
          make(Bidirectional(SimpleRNN(3, {.return_sequences = true}), "mul")),
          make(Bidirectional(LSTM(2), "sum")),
      },
      {5, 3});
  return {"bidirectional", model, {random::uniform({3, 5, 3}, -1, 1, 8)}, {{"LSTM", 4}, {"GRU", 2}, {"RNN", 2}}};
}

LayerCase attention_case() {
  auto q = Input({4, 6}, "query"), v = Input({5, 6}, "value"), k = Input({5, 6}, "key");
  auto model =
      functional({q, v, k},
                 {Attention()({q, v}), Attention({.use_scale = true, .use_causal_mask = true})({q, v, k}),
                  Attention({.use_scale = true, .score_mode = "concat"})({q, v, k}),
                  Attention({.score_mode = "concat", .use_causal_mask = true})({q, v}), AdditiveAttention()({q, v, k}),
                  AdditiveAttention({.use_scale = false, .use_causal_mask = true})({q, v})},
                 "attention");
  return {"attention",
          model,
          {random::uniform({3, 4, 6}, -1, 1, 9), random::uniform({3, 5, 6}, -1, 1, 10),
           random::uniform({3, 5, 6}, -1, 1, 11)},
          {{"Softmax", 6}}};
}

LayerCase preprocessing_case() {
  // Normalization (mean and variance folded into constants) and RandomFlip (the identity at inference).
  auto model = sequential_of(
      {
          make(Normalization({.mean = {1, 2, 3}, .variance = {4, 0.25, 1}})),
          make(RandomFlip("horizontal", 3)),
          make(Rescaling(0.5, -1)),
          make(Conv2D(2, 1)),
          make(Normalization({.mean = {0.5, -1}, .variance = {2, 3}, .invert = true})),
      },
      {4, 4, 3});
  return {"preprocessing", model, {random::uniform({2, 4, 4, 3}, -1, 1, 12)}, {}};
}

TEST(OnnxExportLayers, EachKerasLayerModelMatchesOnnxRuntime) {
  std::vector<LayerCase> cases = {conv1d_case(),          depthwise_case(), activations_case(),
                                  sequence_shapes_case(), images_case(),    merges_case(),
                                  bidirectional_case(),   attention_case(), preprocessing_case()};
  TempDir dir;
  // Each model at opsets 13 (the oldest Kiln writes: ReduceSum's axes as an input, no
  // LayerNormalization) and 17; job j is case j / 2.
  std::vector<std::filesystem::path> files;
  std::vector<testing::OrtJob> jobs;
  std::uint64_t seed = 1000;
  for (auto& c : cases) {
    randomize_export_weights(*c.model, seed += 100);
    for (int opset : {13, 17}) {
      files.push_back(dir.path() / (c.name + "_" + std::to_string(opset) + ".onnx"));
      export_onnx(*c.model, files.back(), {.opset = opset});
      jobs.push_back({files.back(), c.inputs});
    }
  }
  const auto checks = testing::onnx_check_all(files);
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const LayerCase& c = cases[j / 2];
    SCOPED_TRACE(files[j].filename().string());
    EXPECT_EQ(checks[j].error, "") << "onnx.checker rejects the file";
    if (!checks[j].skipped.empty()) continue;
    for (const auto& [op, count] : c.expected_ops) {
      EXPECT_EQ(checks[j].ops.count(op) ? checks[j].ops.at(op) : 0, count) << op;
    }
  }
  // And every file comes back (tests/onnx/import_layers_test.cpp checks the layer kinds):
  // the imported model predicts what Kiln's does.
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    LayerCase& c = cases[j / 2];
    SCOPED_TRACE("imported " + files[j].filename().string());
    std::shared_ptr<Model> imported;
    ASSERT_NO_THROW(imported = load_onnx(files[j]));
    Model& model = *c.model;
    const std::vector<Tensor> kiln = model.is_functional() ? model(c.inputs) : std::vector<Tensor>{model(c.inputs[0])};
    const std::vector<Tensor> got = (*imported)(c.inputs);
    ASSERT_EQ(got.size(), kiln.size());
    for (std::size_t o = 0; o < kiln.size(); ++o) {
      EXPECT_LE(testing::max_relative_difference(got[o], kiln[o]), 1e-6) << "output " << o;
    }
  }
  if (const std::string why = testing::ort_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const auto results = testing::run_in_ort_batch(jobs, dir.path());
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    LayerCase& c = cases[j / 2];
    SCOPED_TRACE(files[j].filename().string());
    ASSERT_EQ(results[j].error, "");
    Model& model = *c.model;
    const std::vector<Tensor> kiln = model.is_functional() ? model(c.inputs) : std::vector<Tensor>{model(c.inputs[0])};
    ASSERT_EQ(results[j].outputs.size(), kiln.size());
    for (std::size_t o = 0; o < kiln.size(); ++o) {
      EXPECT_LE(testing::max_relative_difference(results[j].outputs[o], kiln[o]), 1e-5) << "output " << o;
    }
  }
}

TEST(OnnxExportLayers, BatchAxisStaysDynamicThroughReshapingLayers) {
  // TimeDistributed, RepeatVector and GroupNormalization reshape with the batch left to ONNX.
  LayerCase c = sequence_shapes_case();
  randomize_export_weights(*c.model, 77);
  TempDir dir;
  export_onnx(*c.model, dir.path() / "m.onnx");
  if (const std::string why = testing::ort_unavailable(); !why.empty()) GTEST_SKIP() << why;
  std::vector<testing::OrtJob> jobs;
  for (std::int64_t batch : {1, 6})
    jobs.push_back({dir.path() / "m.onnx", {random::uniform({batch, 6, 4}, -1, 1, batch)}});
  const auto results = testing::run_in_ort_batch(jobs, dir.path());
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    ASSERT_EQ(results[j].error, "");
    ASSERT_EQ(results[j].outputs.size(), 1u);
    const Tensor expected = (*c.model)(jobs[j].inputs[0]);
    EXPECT_EQ(results[j].outputs[0].shape(), expected.shape());
    EXPECT_LE(testing::max_relative_difference(results[j].outputs[0], expected), 1e-5);
  }
}

// A layer of the user's own, known to no exporter.
class CubeForExport : public Layer {
 public:
  CubeForExport() : Layer(unique_name("cube"), "Cube") {}
  Shape compute_output_shape(const Shape& s) const override { return s; }

 protected:
  Tensor forward(const Tensor& x, bool) override { return x * x * x; }
};

TEST(OnnxExportLayers, WhatOnnxCannotTakeIsAnErrorNamingTheLayer) {
  // Bidirectional without a merge gives two outputs, which no layer of a graph can.
  Sequential unmerged;
  unmerged.add(Bidirectional(LSTM(2), ""));
  unmerged.build({4, 3});
  const std::string none = testing::error_of([&] { export_onnx_to_bytes(unmerged); });
  EXPECT_NE(none.find("Bidirectional '"), std::string::npos) << none;
  EXPECT_NE(none.find("merge_mode None"), std::string::npos) << none;

  // A layer inside TimeDistributed is named as it would be on its own.
  Sequential wrapped;
  wrapped.add(TimeDistributed(std::make_shared<CubeForExport>()));
  wrapped.build({3, 2});
  const std::string error = testing::error_of([&] { export_onnx_to_bytes(wrapped); });
  EXPECT_NE(error.find("Cube 'cube"), std::string::npos) << error;
  EXPECT_NE(error.find("layer type Cube has no ONNX export"), std::string::npos) << error;
}

}  // namespace
}  // namespace kiln
