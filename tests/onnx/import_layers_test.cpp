// ONNX import of the layers Kiln exports as formulas of several operators (gelu, ReLU with a
// threshold, TimeDistributed, Bidirectional, GroupNormalization, Dot, Attention and
// AdditiveAttention): each small model below goes export -> load_onnx -> the same predictions
// (1e-6) and the same layer kinds, then save and load, one training step, and an export that
// ONNX Runtime runs with the trained model's outputs. All re-exports run in one ONNX Runtime process.
#include <gtest/gtest.h>

#include "kiln/kiln.hpp"
#include "onnx/onnx_support.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;
using testing::TempDir;

struct RoundTripCase {
  std::string name;
  std::shared_ptr<Model> model;
  Tensor x;
  std::map<std::string, int> expected_layers;  // layer kinds the imported model must hold
};

// Weights in [-1, 1) (variances in [0.5, 1.5)), so that a misplaced gate or weight shows.
void randomize_round_trip_weights(Model& model, std::uint64_t seed) {
  for (const auto& layer : model.layers()) {
    for (const auto& w : layer->weights()) {
      const bool variance = w.name.find("variance") != std::string::npos;
      w.value.detach().copy_(
          random::uniform(w.value.shape(), variance ? 0.5 : -1.0, variance ? 1.5 : 1.0, seed++).to(w.value.dtype()));
    }
  }
}

std::shared_ptr<Model> round_trip_model(const SymbolicTensor& in, const SymbolicTensor& out, const std::string& name) {
  return std::make_shared<Model>(std::vector<SymbolicTensor>{in}, std::vector<SymbolicTensor>{out}, name);
}

RoundTripCase activations_round_trip() {
  // gelu in Kiln's layout and channels first (after a Conv1D), ReLU with thresholds (capped or
  // not, leaky or not), GroupNormalization channels first and channels last, LayerNormalization
  // (its formula at opset 13).
  auto x = Input({6, 4}, "x");
  auto h = LayerNormalization({.epsilon = 1e-2})(Dense(6, "gelu")(x));
  h = ReLU(2.0, 0.1, 0.5)(h);
  h = ReLU(std::nullopt, 0.3, 0.2)(h);
  h = GroupNormalization({.groups = 3, .epsilon = 1e-2})(h);
  h = Conv1D(4, 2, {.activation = "gelu"})(h);
  h = ReLU(1.0, 0.0, 0.25)(h);
  h = GroupNormalization({.groups = 2, .center = false})(h);
  h = Activation("gelu")(Flatten()(h));
  return {"activations",
          round_trip_model(x, Dense(3)(h), "activations"),
          random::uniform({4, 6, 4}, -3, 3, 1),
          {{"Activation", 3}, {"ReLU", 3}, {"GroupNormalization", 2}, {"LayerNormalization", 1}}};
}

RoundTripCase images_round_trip() {
  auto x = Input({6, 5, 4}, "image");
  auto h = Conv2D(6, 3, Conv2DOptions{.padding = "same"})(x);
  h = GroupNormalization({.groups = 3, .scale = false})(h);
  h = ReLU(std::nullopt, 0.2, 0.1)(h);
  h = GroupNormalization({.groups = 2})(Conv2D(4, 2)(h));
  return {"images",
          round_trip_model(x, Concatenate()({Dense(2)(Flatten()(h)), GlobalAveragePooling2D()(x)}), "images"),
          random::uniform({3, 6, 5, 4}, -1, 1, 2),
          {{"GroupNormalization", 2}, {"ReLU", 1}, {"GlobalAveragePooling2D", 1}}};
}

RoundTripCase time_distributed_round_trip() {
  // A convolution per frame (its activation folded back in), Flatten and Dense per step.
  auto frames = Input({3, 5, 5, 2}, "frames");
  auto h = TimeDistributed(Conv2D(3, 3, Conv2DOptions{.padding = "same", .activation = "relu"}))(frames);
  h = TimeDistributed(Flatten())(h);
  h = TimeDistributed(Dense(5, "tanh"))(h);
  h = TimeDistributed(Dense(2))(h);
  return {"time_distributed",
          round_trip_model(frames, h, "time_distributed"),
          random::uniform({2, 3, 5, 5, 2}, -1, 1, 3),
          {{"TimeDistributed", 4}}};
}

RoundTripCase bidirectional_round_trip() {
  auto model = std::make_shared<Sequential>();
  model->add(Bidirectional(LSTM(4, {.return_sequences = true}), "concat"));
  model->add(Bidirectional(GRU(3, {.return_sequences = true}), "ave"));
  model->add(Bidirectional(SimpleRNN(3, {.activation = "relu", .return_sequences = true}), "mul"));
  model->add(Bidirectional(LSTM(2), "sum"));
  model->build({5, 3});
  return {"bidirectional", model, random::uniform({3, 5, 3}, -1, 1, 4), {{"Bidirectional", 4}}};
}

RoundTripCase dot_round_trip() {
  // Dot of vectors (Mul + ReduceSum) and of [N, A, B] values over each pair of axes (MatMul
  // with Transposes); normalize comes back as UnitNormalizations before the Dot.
  auto x = Input({3, 4}, "x");
  auto y = Dense(4)(x);
  auto a = Flatten()(x), b = Flatten()(y);
  std::vector<SymbolicTensor> parts{Dot(1)({a, b}), Dot(-1, true)({a, b})};
  for (const auto& axes : {DotAxes(2, 2), DotAxes(1, 1), DotAxes(2, 1), DotAxes(1, 2)}) {
    parts.push_back(Flatten()(Dot(axes)({x, axes.a == axes.b ? y : Permute({2, 1})(y)})));
  }
  return {"dot",
          round_trip_model(x, Concatenate()(parts), "dot"),
          random::uniform({3, 3, 4}, -1, 1, 5),
          {{"Dot", 6}, {"UnitNormalization", 2}}};
}

RoundTripCase attention_round_trip() {
  // Attention's dot and concat scores (scaled or not, with the causal mask or not, with a key
  // of its own or the value as key) and AdditiveAttention.
  auto x = Input({5, 6}, "x");
  auto q = Dense(6)(x), v = Dense(6)(x), k = Dense(6)(x);
  auto model = round_trip_model(
      x,
      Concatenate()({Attention()({q, v}), Attention({.use_scale = true, .use_causal_mask = true})({q, v, k}),
                     Attention({.use_scale = true, .score_mode = "concat"})({q, v, k}),
                     Attention({.score_mode = "concat", .use_causal_mask = true})({q, v}),
                     AdditiveAttention()({q, v, k}),
                     AdditiveAttention({.use_scale = false, .use_causal_mask = true})({q, v})}),
      "attention");
  return {"attention", model, random::uniform({3, 5, 6}, -1, 1, 6), {{"Attention", 4}, {"AdditiveAttention", 2}}};
}

RoundTripCase vectors_round_trip() {
  // Normalization (Sub and Div by vectors), BatchNormalization of a sequence (its statistics
  // folded into Mul and Add by vectors), Softmax over the steps, global pooling in Kiln's layout
  // (ReduceMax, ReduceMean).
  auto x = Input({4, 3}, "x");
  auto h = Normalization({.mean = {1, 2, 3}, .variance = {4, 0.25, 1}})(x);
  h = BatchNormalization()(h);
  auto out =
      Concatenate()({GlobalMaxPooling1D()(Softmax(1)(h)), Flatten()(GlobalAveragePooling1D({.keepdims = true})(h))});
  return {"vectors",
          round_trip_model(x, out, "vectors"),
          random::uniform({3, 4, 3}, -2, 2, 9),
          {{"Normalization", 1},
           {"BatchNormalization", 1},
           {"Softmax", 1},
           {"GlobalMaxPooling1D", 1},
           {"GlobalAveragePooling1D", 1}}};
}

RoundTripCase transformer_round_trip() {
  // Post-norm with gelu between its feed-forward layers, pre-norm with the causal mask (at opset
  // 13 their LayerNormalizations are formulas too): each a TransformerEncoder again.
  auto x = Input({5, 8}, "x");
  auto h = TransformerEncoder(16, 2, {.activation = "gelu"})(x);
  h = TransformerEncoder(12, 4, {.layer_norm_epsilon = 1e-3, .normalize_first = true, .use_causal_mask = true})(h);
  return {"transformer",
          round_trip_model(x, Dense(3)(Flatten()(h)), "transformer"),
          random::uniform({2, 5, 8}, -1, 1, 8),
          {{"TransformerEncoder", 2}, {"MultiHeadAttention", 0}, {"LayerNormalization", 0}}};
}

TEST(OnnxImportLayers, LayersExportedAsFormulasRoundTripTrainAndExportAgain) {
  std::vector<RoundTripCase> cases = {
      activations_round_trip(), images_round_trip(),    time_distributed_round_trip(), bidirectional_round_trip(),
      dot_round_trip(),         attention_round_trip(), vectors_round_trip(),          transformer_round_trip()};
  TempDir dir;
  std::vector<testing::OrtJob> jobs;
  std::vector<Tensor> trained_outputs;
  std::uint64_t seed = 2000;
  for (auto& c : cases) {
    randomize_round_trip_weights(*c.model, seed += 100);
    const Tensor expected = c.model->predict(c.x);
    for (int opset : {13, 17}) {
      SCOPED_TRACE(c.name + " at opset " + std::to_string(opset));
      const auto file = dir.path() / (c.name + "_" + std::to_string(opset) + ".onnx");
      export_onnx(*c.model, file, {.opset = opset});
      std::shared_ptr<Model> imported;
      ASSERT_NO_THROW(imported = load_onnx(file));
      EXPECT_LE(testing::max_relative_difference(imported->predict(c.x), expected), 1e-6);
      EXPECT_EQ(imported->count_params(), c.model->count_params());
      std::map<std::string, int> kinds;
      for (const auto& layer : imported->layers()) ++kinds[layer->type()];
      for (const auto& [kind, count] : c.expected_layers) EXPECT_EQ(kinds[kind], count) << kind;
      if (opset != 17) continue;
      // Saved as a Kiln model file and loaded, it predicts the same.
      const auto saved = dir.path() / (c.name + ".safetensors");
      imported->save(saved);
      EXPECT_LE(testing::max_relative_difference(load_model(saved)->predict(c.x), expected), 1e-6);
      // One step of SGD changes the weights; the trained model exports again.
      const std::vector<Tensor> before = imported->get_weights();
      imported->compile(optim::SGD(0.1), "mse");
      const Tensor target = Tensor::zeros(expected.shape());
      const double loss =
          imported->fit(c.x, target, {.epochs = 1, .batch_size = c.x.size(0), .verbose = 0}).history.at("loss").back();
      EXPECT_TRUE(std::isfinite(loss));
      const std::vector<Tensor> after = imported->get_weights();
      double moved = 0;
      for (std::size_t i = 0; i < before.size(); ++i) moved += testing::max_relative_difference(after[i], before[i]);
      EXPECT_GT(moved, 0.0);
      const auto again = dir.path() / (c.name + "_trained.onnx");
      export_onnx(*imported, again);
      jobs.push_back({again, {c.x}});
      trained_outputs.push_back(imported->predict(c.x));
    }
  }
  if (const std::string why = testing::ort_unavailable(); !why.empty()) GTEST_SKIP() << why;
  const auto results = testing::run_in_ort_batch(jobs, dir.path());
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    SCOPED_TRACE(jobs[j].model.filename().string());
    ASSERT_EQ(results[j].error, "");
    ASSERT_EQ(results[j].outputs.size(), 1u);
    EXPECT_LE(testing::max_relative_difference(results[j].outputs[0], trained_outputs[j]), 1e-5);
  }
}

TEST(OnnxImportLayers, TransformerEncoderComesBackWithEachActivation) {
  // Its feed-forward activation is written as one node, x times a function of x, or gelu's
  // formula; each comes back as the TransformerEncoder's activation (swish as silu).
  for (const char* activation :
       {"linear", "relu", "sigmoid", "tanh", "elu", "selu", "softplus", "softsign", "exponential", "leaky_relu",
        "relu6", "hard_sigmoid", "softmax", "log_softmax", "silu", "swish", "hard_silu", "mish", "gelu"}) {
    SCOPED_TRACE(activation);
    Sequential model;
    model.add(TransformerEncoder(6, 2, {.activation = activation, .use_causal_mask = true}));
    model.build({3, 4});
    randomize_round_trip_weights(model, 3000);
    auto imported = load_onnx_from_bytes(export_onnx_to_bytes(model, {.opset = 13}));
    ASSERT_EQ(imported->layers().size(), 1u);
    const std::string expected = std::string(activation) == "swish" ? "silu" : activation;
    EXPECT_EQ(imported->layers()[0]->get_config().at("activation"), expected);
    const Tensor x = random::uniform({2, 3, 4}, -1, 1, 10);
    EXPECT_LE(testing::max_relative_difference(imported->predict(x), model.predict(x)), 1e-6);
  }
}

TEST(OnnxImportLayers, PyTorchBidirectionalLstmAndGeluGivePyTorchsOutputs) {
  // An LSTM and a GRU node with direction "bidirectional" (Y transposed and reshaped to both
  // directions side by side), nn.GELU()'s x * (1 + erf(x / sqrt(2))) * 0.5, and the GRU's last
  // states h[-2] and h[-1] concatenated (a second Bidirectional, without return_sequences).
  const auto dir = std::filesystem::path(KILN_TEST_FIXTURES) / "onnx";
  auto model = load_onnx(dir / "torch_gelu_bilstm.onnx");
  const std::vector<Tensor> x{io::read_npy(dir / "torch_gelu_bilstm_input.npy")};
  const std::vector<Tensor> y = (*model)(x);
  ASSERT_EQ(y.size(), 2u);
  EXPECT_LE(testing::max_relative_difference(y[0], io::read_npy(dir / "torch_gelu_bilstm_output.npy")), 1e-5);
  EXPECT_LE(testing::max_relative_difference(y[1], io::read_npy(dir / "torch_gelu_bilstm_output_1.npy")), 1e-5);
  std::map<std::string, int> kinds;
  std::vector<bool> sequences;
  for (const auto& layer : model->layers()) {
    ++kinds[layer->type()];
    if (layer->type() != "Bidirectional") continue;
    const auto c = layer->get_config();
    EXPECT_EQ(c.at("merge_mode"), "concat");
    sequences.push_back(c.at("layer").at("config").at("return_sequences").get<bool>());
  }
  EXPECT_EQ(kinds, (std::map<std::string, int>{{"Bidirectional", 3}, {"Activation", 1}, {"Dense", 2}}));
  EXPECT_EQ(std::count(sequences.begin(), sequences.end(), false), 1);  // the head's
}

TEST(OnnxImportLayers, ALayerInsideTimeDistributedKeepsItsActivation) {
  Sequential model;
  model.add(TimeDistributed(Dense(3, "sigmoid")));
  model.build({4, 2});
  TempDir dir;
  export_onnx(model, dir.path() / "m.onnx");
  auto imported = load_onnx(dir.path() / "m.onnx");
  ASSERT_EQ(imported->layers().size(), 1u);  // one TimeDistributed
  const auto& wrapped = *dynamic_cast<const TimeDistributed&>(*imported->layers()[0]).layer();
  EXPECT_EQ(wrapped.type(), "Dense");
  EXPECT_EQ(wrapped.get_config().at("activation"), "sigmoid");
  const Tensor x = random::uniform({2, 4, 2}, -1, 1, 7);
  EXPECT_LE(testing::max_relative_difference(imported->predict(x), model.predict(x)), 1e-6);
}

TEST(OnnxImportLayers, AReshapeOfOneStepIsNoTimeDistributed) {
  // Reshape [N, 1, 4] -> [N, 4] is written as TimeDistributed's first Reshape is ([-1, 4]); with
  // no Reshape back to [-1, 1, ...] after it, it is Keras's Reshape (here a Flatten).
  Sequential model;
  model.add(Reshape({4}));
  model.add(Dense(2));
  model.build({1, 4});
  TempDir dir;
  export_onnx(model, dir.path() / "m.onnx");
  auto imported = load_onnx(dir.path() / "m.onnx");
  std::vector<std::string> kinds;
  for (const auto& layer : imported->layers()) kinds.push_back(layer->type());
  EXPECT_EQ(kinds, (std::vector<std::string>{"Flatten", "Dense"}));
  const Tensor x = random::uniform({3, 1, 4}, -1, 1, 9);
  EXPECT_LE(testing::max_relative_difference(imported->predict(x), model.predict(x)), 1e-6);
}

}  // namespace
}  // namespace kiln
