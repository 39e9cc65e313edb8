// TimeDistributed, Bidirectional and RNN dropout: outputs against the same
// computation spelled out with the wrapped layers, Keras's rules, configs and
// model files. (PyTorch parity: keras_layers_parity_test; gradients:
// keras_layers_gradient_test.)
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "kiln/kiln.hpp"
#include "support/errors.hpp"
#include "support/process.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::contains;
using testing::same_bits;

using namespace kiln::layers;
using testing::error_of;

Tensor random_input(const Shape& shape, std::uint64_t seed) {
  return random::normal(shape, 0.0, 1.0, seed).to(DType::Float64);
}

void expect_near(const Tensor& a, const Tensor& b, double tol = 1e-12) {
  ASSERT_EQ(a.shape(), b.shape());
  const auto x = a.contiguous().to_vector<double>(), y = b.contiguous().to_vector<double>();
  for (std::size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(x[i], y[i], tol) << "at " << i;
}

TEST(TimeDistributed, AppliesTheLayerToEveryStepWithOneSetOfWeights) {
  manual_seed(4);
  TimeDistributed td(Dense(3, "tanh"));
  td.set_dtype(DType::Float64);
  const Tensor x = random_input({2, 4, 5}, 1);
  const Tensor y = td(x);
  EXPECT_EQ(y.shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(td.count_params(), 5 * 3 + 3);  // one Dense, not one per step
  Dense dense(3, "tanh");
  dense.set_dtype(DType::Float64);
  dense.build({5});
  dense.set_weights(td.get_weights());
  for (std::int64_t t = 0; t < 4; ++t)
    expect_near(narrow(y, 1, t, 1), reshape(dense(narrow(x, 1, t, 1).contiguous().reshape({2, 5})), {2, 1, 3}));
  // Any number of steps once built.
  EXPECT_EQ(td(random_input({1, 7, 5}, 2)).shape(), (Shape{1, 7, 3}));
  EXPECT_TRUE(contains(error_of([&] { td(random_input({1, 7, 4}, 2)); }), "TimeDistributed"));
}

TEST(TimeDistributed, WrapsImageLayersOverFrames) {
  TimeDistributed td(Conv2D(4, 3, Conv2DOptions{.padding = "same"}));
  EXPECT_EQ(td(Tensor::zeros({2, 3, 8, 8, 2})).shape(), (Shape{2, 3, 8, 8, 4}));
  const auto config = td.get_config();
  EXPECT_EQ(config.at("layer").at("class_name"), "Conv2D");
  auto copy = layer_from_config("TimeDistributed", config);
  EXPECT_EQ(copy->get_config(), config);
}

// The backward layer's outputs, put back in time order.
Tensor reversed_in_time(const Tensor& y) {
  std::vector<Tensor> steps;
  for (std::int64_t t = y.size(1) - 1; t >= 0; --t) steps.push_back(narrow(y, 1, t, 1));
  return concat(steps, 1);
}

TEST(Bidirectional, MergesAForwardAndABackwardCopy) {
  manual_seed(9);
  Bidirectional bi(LSTM(3, RNNOptions{.return_sequences = true, .name = "lstm"}));
  bi.set_dtype(DType::Float64);
  EXPECT_EQ(bi.forward_layer()->name(), "forward_lstm");
  EXPECT_EQ(bi.backward_layer()->name(), "backward_lstm");
  EXPECT_TRUE(bi.backward_layer()->options().go_backwards);
  const Tensor x = random_input({2, 5, 4}, 3);
  const Tensor y = bi(x);
  EXPECT_EQ(y.shape(), (Shape{2, 5, 6}));
  const auto w = bi.get_weights();
  ASSERT_EQ(w.size(), 6u);
  LSTM forward(3, RNNOptions{.return_sequences = true}),
      backward(3, RNNOptions{.return_sequences = true, .go_backwards = true});
  for (LSTM* l : {&forward, &backward}) l->set_dtype(DType::Float64), l->build({5, 4});
  forward.set_weights({w[0], w[1], w[2]});
  backward.set_weights({w[3], w[4], w[5]});
  expect_near(y, concat({forward(x), reversed_in_time(backward(x))}, -1));

  const auto halves = bi.call(x);
  ASSERT_EQ(halves.size(), 2u);
  expect_near(halves[0], forward(x));
}

TEST(Bidirectional, MergeModesAndLastOutputs) {
  manual_seed(5);
  const Tensor x = random_input({3, 4, 2}, 4);
  Bidirectional concat_last(GRU(2));
  concat_last.set_dtype(DType::Float64);
  const Tensor c = concat_last(x);
  EXPECT_EQ(c.shape(), (Shape{3, 4}));
  for (const char* mode : {"sum", "mul", "ave"}) {
    Bidirectional bi(GRU(2), mode);
    bi.set_dtype(DType::Float64);
    bi.build({4, 2});
    bi.set_weights(concat_last.get_weights());
    const Tensor f = narrow(c, 1, 0, 2), b = narrow(c, 1, 2, 2);
    const Tensor expected = std::string(mode) == "sum" ? f + b : std::string(mode) == "mul" ? f * b : (f + b) * 0.5;
    expect_near(bi(x), expected);
  }
  Bidirectional none(GRU(2), "");
  EXPECT_TRUE(contains(error_of([&] { none(x.to(DType::Float32)); }), "use call()"));
  EXPECT_EQ(none.call(x.to(DType::Float32)).size(), 2u);
}

TEST(Bidirectional, RulesAndErrorsFollowKeras) {
  EXPECT_TRUE(contains(error_of([] { Bidirectional(LSTM(2), "max"); }), "merge_mode must be"));
  const LSTM also_forward(2);
  EXPECT_TRUE(contains(error_of([&] { Bidirectional(LSTM(2), "concat", &also_forward); }), "different go_backwards"));
  const LSTM backward_sequences(2, RNNOptions{.return_sequences = true, .go_backwards = true});
  EXPECT_TRUE(contains(error_of([&] { Bidirectional(LSTM(2), "concat", &backward_sequences); }), "return_sequences"));
  const LSTM backward_stateless(2, RNNOptions{.go_backwards = true});
  EXPECT_TRUE(contains(
      error_of([&] { Bidirectional(LSTM(2, RNNOptions{.return_state = true}), "concat", &backward_stateless); }),
      "must agree on return_sequences and return_state"));
  // A given backward layer may differ (here in units) when the outputs are concatenated.
  const GRU backward(3, RNNOptions{.go_backwards = true, .name = "back"});
  Bidirectional bi(GRU(2), "concat", &backward);
  EXPECT_EQ(bi(Tensor::zeros({1, 3, 2})).shape(), (Shape{1, 5}));
  auto copy = layer_from_config("Bidirectional", bi.get_config());
  EXPECT_EQ(copy->get_config(), bi.get_config());
}

TEST(RNNDropout, DropsTheSameInputFeaturesAtEveryStepWhileTraining) {
  manual_seed(1);
  SimpleRNN rnn(4, RNNOptions{.dropout = 0.5, .seed = 3, .return_sequences = true});
  rnn.set_dtype(DType::Float64);
  const std::int64_t B = 16, T = 5, I = 6;
  Tensor x = random_input({B, T, I}, 7).set_requires_grad();
  sum(rnn(x, /*training=*/true)).backward();
  const auto g = x.grad().to_vector<double>();
  int dropped = 0;
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t i = 0; i < I; ++i) {
      const bool zero = g[(b * T) * I + i] == 0.0;
      for (std::int64_t t = 1; t < T; ++t) ASSERT_EQ(g[(b * T + t) * I + i] == 0.0, zero) << b << " " << i << " " << t;
      dropped += zero;
    }
  }
  EXPECT_GT(dropped, 20);  // 96 draws at rate 0.5: 48 expected, standard deviation 5
  EXPECT_LT(dropped, 76);
  // At inference the layer is the plain RNN.
  SimpleRNN plain(4, RNNOptions{.return_sequences = true});
  plain.set_dtype(DType::Float64);
  plain.build({T, I});
  plain.set_weights(rnn.get_weights());
  const Tensor xi = x.detach();
  expect_near(rnn(xi), plain(xi));
  const auto config = rnn.get_config();
  EXPECT_EQ(config.at("dropout"), 0.5);
  EXPECT_EQ(config.at("seed"), 3);
  EXPECT_EQ(layer_from_config("SimpleRNN", config)->get_config(), config);
  EXPECT_TRUE(contains(error_of([] { GRU(2, RNNOptions{.recurrent_dropout = 1.0}); }),
                       "recurrent_dropout must be in [0, 1), got 1.000000"));
  EXPECT_TRUE(contains(error_of([] { LSTM(2, RNNOptions{.dropout = 1.0}); }), "dropout must be in [0, 1)"));
}

TEST(KerasAttention, WeightsAreASoftmaxOverTheKeys) {
  // Query 0 scores every key 0: the output is the mean of the values.
  const Tensor query = Tensor::from_vector<double>({0, 0, 1, 0}, {1, 2, 2});
  const Tensor value = Tensor::from_vector<double>({1, 2, 3, 4, 5, 6}, {1, 3, 2});
  const Tensor key = Tensor::from_vector<double>({1, 0, 0, 1, 0, 0}, {1, 3, 2});
  Attention attention;
  attention.set_dtype(DType::Float64);
  const auto [out, weights] = attention.call({query, value, key});
  const auto y = out.to_vector<double>(), w = weights.to_vector<double>();
  EXPECT_NEAR(y[0], 3, 1e-12);
  EXPECT_NEAR(y[1], 4, 1e-12);
  // Query 1 = (1, 0) scores the keys 1, 0, 0: weights e / (e + 2), 1 / (e + 2), 1 / (e + 2).
  const double e = std::exp(1.0);
  EXPECT_NEAR(w[3], e / (e + 2), 1e-12);
  EXPECT_NEAR(y[2], (1 * e + 3 + 5) / (e + 2), 1e-12);
  // Causal: the first query sees only the first key, whatever the scores.
  Attention causal(DenseAttentionOptions{.use_causal_mask = true});
  causal.set_dtype(DType::Float64);
  const Tensor q = random_input({1, 3, 2}, 1), v = random_input({1, 3, 2}, 2);
  const auto c = causal({q, v}).to_vector<double>(), vs = v.to_vector<double>();
  EXPECT_NEAR(c[0], vs[0], 1e-12);
  EXPECT_NEAR(c[1], vs[1], 1e-12);
  EXPECT_TRUE(
      contains(error_of([] { Attention(DenseAttentionOptions{.score_mode = "general"}); }), "\"dot\" or \"concat\""));
  Attention one;
  EXPECT_TRUE(contains(error_of([&] {
                         one({Tensor::zeros({1, 2, 3}), Tensor::zeros({1, 4, 2}), Tensor::zeros({1, 5, 3})});
                       }),
                       "same steps"));
}

TEST(KerasAttention, FunctionalModelsWithAttentionSaveAndLoad) {
  manual_seed(2);
  testing::TempDir dir;
  const SymbolicTensor query = Input({4, 3}, "query"), value = Input({6, 3}, "value");
  const SymbolicTensor context =
      Attention(DenseAttentionOptions{.use_scale = true, .score_mode = "concat"})({query, value});
  const SymbolicTensor additive = AdditiveAttention()({query, value});
  Model model(std::vector<SymbolicTensor>{query, value},
              std::vector<SymbolicTensor>{Dense(2)(Concatenate()({context, additive}))}, "attention");
  EXPECT_EQ(model.count_params(), 2 + 3 + (6 * 2 + 2));  // Attention: scale, concat_score_weight; Additive: scale [3]
  const data::Dataset both(
      std::vector<Tensor>{random::normal({5, 4, 3}, 0.0, 1.0, 1), random::normal({5, 6, 3}, 0.0, 1.0, 2)});
  model.save(dir.path() / "attention.safetensors");
  auto loaded = load_model(dir.path() / "attention.safetensors");
  EXPECT_EQ(model_to_json(*loaded), model_to_json(model));
  const Tensor a = model.predict(both), b = loaded->predict(both);
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
}

TEST(KerasWrappers, ModelsSaveAndLoad) {
  manual_seed(12);
  testing::TempDir dir;
  Sequential model;
  model.add(Bidirectional(LSTM(4, RNNOptions{.dropout = 0.2, .return_sequences = true, .input_shape = {6, 3}})));
  model.add(TimeDistributed(Dense(2, "relu")));
  model.add(Bidirectional(GRU(3), "ave"));
  const Tensor x = random::normal({4, 6, 3}, 0.0, 1.0, 5);
  model.save(dir.path() / "wrappers.safetensors");
  auto loaded = load_model(dir.path() / "wrappers.safetensors");
  EXPECT_EQ(model_to_json(*loaded), model_to_json(model));
  EXPECT_TRUE(same_bits(model.predict(x), loaded->predict(x)));
  // Trains: the dropout masks and both directions get gradients.
  model.compile(optim::Adam(1e-2), losses::MeanSquaredError());
  const auto history = model.fit(x, Tensor::zeros({4, 3}), {.epochs = 3, .batch_size = 4, .verbose = 0});
  EXPECT_LT(history.history.at("loss").back(), history.history.at("loss").front());
}

}  // namespace
}  // namespace kiln
