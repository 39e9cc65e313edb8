// ONNX export: representative models run in ONNX Runtime give Kiln's outputs (1e-5), and the
// files pass ONNX's own checker.
#include <gtest/gtest.h>

#include "kiln/kiln.hpp"
#include "onnx/onnx_support.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;
using testing::TempDir;

// Random values in [-1, 1) (uniform in [0, 1) for positive ones, moving variances).
Tensor random_uniform_tensor(const Shape& shape, std::uint64_t seed, double low = -1, double high = 1) {
  return random::uniform(shape, low, high, seed);
}

// BatchNormalization layers get statistics other than the initial 0 and 1, so that export
// mistakes in them show.
void randomize_batch_norms(Model& model) {
  std::uint64_t seed = 100;
  for (const auto& layer : model.layers()) {
    if (layer->type() != "BatchNormalization") continue;
    const std::int64_t c = layer->weights()[0].value.numel();
    layer->set_weights({random_uniform_tensor({c}, seed++, 0.5, 1.5), random_uniform_tensor({c}, seed++), random_uniform_tensor({c}, seed++),
                        random_uniform_tensor({c}, seed++, 0.5, 1.5)});
  }
}

struct Exported {
  std::map<std::string, int> ops;  // operator counts (empty without python3-onnx)
  std::string ort_missing;         // why ONNX Runtime could not run, when it could not
};

// Exports `model`, checks the file with ONNX's checker, runs it in ONNX Runtime on `inputs`,
// and checks every output against Kiln's.
Exported expect_ort_matches(Model& model, const std::vector<Tensor>& inputs, const OnnxExportOptions& options = {}) {
  TempDir dir;
  const auto path = dir.path() / "model.onnx";
  export_onnx(model, path, options);
  const testing::OnnxCheck check = testing::onnx_check(path);
  EXPECT_EQ(check.error, "") << "onnx.checker rejects the file";
  Exported e{check.ops, testing::ort_unavailable()};
  if (!e.ort_missing.empty()) return e;
  const auto ort = testing::run_in_ort(path, inputs, dir.path());
  std::vector<Tensor> kiln = model.is_functional() ? model(inputs) : std::vector<Tensor>{model(inputs[0])};
  EXPECT_EQ(ort.size(), kiln.size());
  for (std::size_t i = 0; i < ort.size() && i < kiln.size(); ++i) {
    EXPECT_LE(testing::max_relative_difference(ort[i], kiln[i]), 1e-5) << "output " << i;
  }
  return e;
}

#define SKIP_WITHOUT_ORT(exported) \
  if (!(exported).ort_missing.empty()) GTEST_SKIP() << (exported).ort_missing

TEST(OnnxExport, ArticleCnnMatchesOnnxRuntimeWithTwoTransposes) {
  auto model = zoo::article_cnn({32, 32, 3});
  const Exported e = expect_ort_matches(model, {random_uniform_tensor({3, 32, 32, 3}, 1, 0, 1)});
  if (!e.ops.empty()) {
    // One into NCHW after the input, one back before Flatten.
    EXPECT_EQ(e.ops.at("Transpose"), 2);
    EXPECT_EQ(e.ops.at("Conv"), 3);
    EXPECT_EQ(e.ops.at("Gemm"), 2);
  }
  SKIP_WITHOUT_ORT(e);
}

Sequential strided_cnn() {
  Sequential model;
  model.add(
      Conv2D(6, 3, Conv2DOptions{.strides = 2, .padding = "same", .activation = "relu", .input_shape = {9, 10, 3}}));
  model.add(BatchNormalization());
  model.add(Conv2D(8, {3, 2}, Conv2DOptions{.padding = "same", .dilation_rate = 2}));
  model.add(MaxPooling2D(2, {.padding = "same"}));
  model.add(Conv2DTranspose(4, 3, Conv2DOptions{.strides = 2, .padding = "same", .activation = "tanh"}));
  model.add(UpSampling2D(2));
  model.add(AveragePooling2D(3, {.strides = 2, .padding = "same"}));
  model.add(LeakyReLU(0.2));
  // Stride 3 over a kernel of 2: ONNX needs output_padding for the row Keras's "valid" keeps.
  model.add(Conv2DTranspose(3, 2, Conv2DOptions{.strides = 3, .activation = "sigmoid"}));
  model.add(Dropout(0.3));
  model.add(Flatten());
  model.add(Dense(7, "softmax"));
  randomize_batch_norms(model);
  return model;
}

TEST(OnnxExport, SameAndStridedCnnWithBatchNormMatchesOnnxRuntime) {
  auto model = strided_cnn();
  ASSERT_EQ(model.output_shape(), (Shape{7}));
  SKIP_WITHOUT_ORT(expect_ort_matches(model, {random_uniform_tensor({5, 9, 10, 3}, 2)}));
}

std::shared_ptr<Model> two_input_model() {
  auto image = Input({6, 6, 2}, "image");
  auto features = Input({5}, "features");
  auto a = Conv2D(4, 3, Conv2DOptions{.padding = "same", .activation = "relu"})(image);
  auto b = Conv2D(4, 1)(image);
  auto joined = Concatenate()({a, b});  // channels: the ONNX graph joins NCHW values on axis 1
  auto summed = Add()({a, b});
  auto pooled = Flatten()(MaxPooling2D(2)(joined));
  auto f = Dense(8, "relu")(features);
  auto h = Concatenate()({Dense(8)(pooled), f});
  h = LayerNormalization()(BatchNormalization()(h));
  auto out = Dense(3)(Rescaling(0.5, 0.1)(h));
  auto model = std::make_shared<Model>(std::vector<SymbolicTensor>{image, features},
                                       std::vector<SymbolicTensor>{out, summed}, "two_inputs");
  randomize_batch_norms(*model);
  return model;
}

TEST(OnnxExport, TwoInputFunctionalModelMatchesOnnxRuntimeAtOpsets13And17) {
  auto model = two_input_model();
  const std::vector<Tensor> inputs{random_uniform_tensor({4, 6, 6, 2}, 3), random_uniform_tensor({4, 5}, 4)};
  const Exported at17 = expect_ort_matches(*model, inputs, {.opset = 17});  // LayerNormalization as one node
  const Exported at13 = expect_ort_matches(*model, inputs, {.opset = 13});  // ... spelled out: ReduceMean, Sqrt, Div
  if (!at17.ops.empty()) {
    EXPECT_EQ(at17.ops.at("LayerNormalization"), 1);
    EXPECT_EQ(at13.ops.count("LayerNormalization"), 0u);
    EXPECT_EQ(at13.ops.at("ReduceMean"), 2);
  }
  SKIP_WITHOUT_ORT(at13);
}

TEST(OnnxExport, EmbeddingTakesInt64Ids) {
  Sequential model;
  model.add(Embedding(20, 4, {.input_shape = {5}}));
  model.add(Flatten());
  model.add(Dense(3));
  const Tensor ids = Tensor::from_vector(std::vector<std::int64_t>{1, 5, 19, 0, 3, 7, 7, 2, 11, 4}, {2, 5});
  SKIP_WITHOUT_ORT(expect_ort_matches(model, {ids}));
}

TEST(OnnxExport, BatchAxisIsDynamic) {
  auto model = strided_cnn();
  TempDir dir;
  export_onnx(model, dir.path() / "m.onnx");
  if (const std::string why = testing::ort_unavailable(); !why.empty()) GTEST_SKIP() << why;
  for (std::int64_t batch : {1, 7}) {
    const Tensor x = random_uniform_tensor({batch, 9, 10, 3}, 10 + batch);
    const auto ort = testing::run_in_ort(dir.path() / "m.onnx", {x}, dir.path());
    ASSERT_EQ(ort.size(), 1u);
    EXPECT_EQ(ort[0].shape(), (Shape{batch, 7}));
    EXPECT_LE(testing::max_relative_difference(ort[0], model(x)), 1e-5);
  }
}

TEST(OnnxExport, LstmGruAndSimpleRnnMatchOnnxRuntime) {
  // Gate orders (LSTM: Keras i, f, c, o; ONNX i, o, f, c), GRU's two biases, go_backwards.
  Sequential lstm;
  lstm.add(LSTM(5, {.return_sequences = true, .input_shape = {6, 3}}));
  lstm.add(GRU(4, {.go_backwards = true}));
  lstm.add(Dense(2));
  Sequential backwards;
  backwards.add(
      SimpleRNN(3, {.activation = "relu", .return_sequences = true, .go_backwards = true, .input_shape = {5, 2}}));
  backwards.add(LSTM(4, {.go_backwards = true}));
  // Non-zero biases, so that their layout matters.
  for (Model* m : std::vector<Model*>{&lstm, &backwards}) {
    std::uint64_t seed = 50;
    for (const auto& layer : m->layers()) {
      for (const auto& w : layer->weights()) {
        if (w.name == "bias") w.value.detach().copy_(random_uniform_tensor(w.value.shape(), seed++));
      }
    }
  }
  expect_ort_matches(lstm, {random_uniform_tensor({3, 6, 3}, 20)});
  SKIP_WITHOUT_ORT(expect_ort_matches(backwards, {random_uniform_tensor({2, 5, 2}, 21)}));
}

TEST(OnnxExport, TransformerBlockMatchesOnnxRuntime) {
  // Token and position embeddings, a causal post-norm encoder, a pre-norm one, and plain
  // self-attention: MatMul, Softmax and Reshape/Transpose subgraphs in ONNX.
  Sequential model;
  model.add(TokenAndPositionEmbedding(11, 6, 8, {.input_shape = {6}}));
  model.add(TransformerEncoder(16, 2, {.use_causal_mask = true}));
  model.add(TransformerEncoder(12, 4, {.activation = "tanh", .normalize_first = true}));
  model.add(MultiHeadAttention(2, 3, {.value_dim = 5, .output_shape = 7}));
  model.add(Flatten());
  model.add(Dense(3));
  const Tensor ids = random::randint({4, 6}, 0, 11, 23, DType::Int64);
  SKIP_WITHOUT_ORT(expect_ort_matches(model, {ids}));
}

// A layer of the user's own, which no exporter can know.
class Squash : public Layer {
 public:
  Squash() : Layer(unique_name("squash"), "Squash") {}
  Shape compute_output_shape(const Shape& s) const override { return s; }

 protected:
  Tensor forward(const Tensor& x, bool) override { return tanh(x); }
};

TEST(OnnxExport, ALayerOnnxCannotTakeIsAnErrorNamingIt) {
  Sequential custom;
  custom.add(Dense(4, "", {3}));
  custom.add(std::make_shared<Squash>());
  custom.build({3});
  const std::string error = testing::error_of([&] { export_onnx_to_bytes(custom); });
  EXPECT_NE(error.find("Squash 'squash"), std::string::npos) << error;
  EXPECT_NE(error.find("no ONNX export"), std::string::npos) << error;

  Sequential unbuilt;
  unbuilt.add(Dense(3));
  EXPECT_NE(testing::error_of([&] { export_onnx_to_bytes(unbuilt); }).find("is not built"), std::string::npos);

  auto model = zoo::article_cnn({32, 32, 3});
  const std::string opset = testing::error_of([&] { export_onnx_to_bytes(model, {.opset = 12}); });
  EXPECT_NE(opset.find("opset must be from 13 to 17, got 12"), std::string::npos) << opset;
}

}  // namespace
}  // namespace kiln
