// What the sequence layers compute, on inputs small enough to reason about:
// lookups, recurrences worked by hand, Keras's masking rule, go_backwards,
// return_state, attention weights and masks, the orthogonal initializer, and
// the layers inside Sequential models with integer inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "kiln/kiln.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::expect_values;

using namespace kiln::layers;

std::vector<double> values(const Tensor& t) { return t.contiguous().to_vector<double>(); }

Tensor random_double_tensor(const Shape& shape, std::uint64_t seed, DType dtype = DType::Float64) {
  Generator gen(seed);
  Tensor t = Tensor::empty(shape, DType::Float64);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = gen.uniform(-1, 1);
  return t.to(dtype);
}

TEST(SequenceLayers, EmbeddingLooksUpRowsAndMarksPadding) {
  Embedding emb(4, 2, {.mask_zero = true});
  emb.build({3});
  emb.embeddings().copy_(Tensor::from_vector<float>({0, 0, 1, 2, 3, 4, 5, 6}, {4, 2}));
  const Tensor ids = Tensor::from_vector<std::int32_t>({2, 0, 3, 1, 1, 0}, {2, 3});
  const Tensor y = emb(ids);
  EXPECT_EQ(y.shape(), (Shape{2, 3, 2}));
  expect_values(y, {3, 4, 0, 0, 5, 6, 1, 2, 1, 2, 0, 0});
  expect_values(emb.compute_mask(ids), {1, 0, 1, 1, 1, 0});
  // Sequences of another length are fine once built; uint8 and int64 ids too.
  EXPECT_EQ(emb(Tensor::from_vector<std::uint8_t>({1, 2, 3, 0, 0}, {1, 5})).shape(), (Shape{1, 5, 2}));
  EXPECT_EQ(emb(Tensor::from_vector<std::int64_t>({3}, {1, 1})).shape(), (Shape{1, 1, 2}));
}

TEST(SequenceLayers, SimpleRnnMatchesTheRecurrenceByHand) {
  // One unit, one feature: h_t = tanh(w x_t + u h_{t-1} + b).
  SimpleRNN rnn(1, {.return_sequences = true});
  rnn.set_dtype(DType::Float64);
  rnn.build({3, 1});
  rnn.kernel().fill_(0.5);
  rnn.recurrent_kernel().fill_(-0.8);
  rnn.bias().fill_(0.1);
  const std::vector<double> xs{1.0, -2.0, 0.5};
  double h = 0;
  std::vector<double> expected;
  for (double x : xs) expected.push_back(h = std::tanh(0.5 * x - 0.8 * h + 0.1));
  expect_values(rnn(Tensor::from_vector<double>(xs, {1, 3, 1})), expected, 1e-12);
}

TEST(SequenceLayers, LstmStartsWithKerasInitialisation) {
  LSTM lstm(4);
  lstm.build({5, 3});
  EXPECT_EQ(lstm.kernel().shape(), (Shape{3, 16}));
  EXPECT_EQ(lstm.recurrent_kernel().shape(), (Shape{4, 16}));
  // unit_forget_bias: the forget gate's block starts at 1, the rest at 0.
  expect_values(lstm.bias(), {0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0});
  // The recurrent kernel [4, 16] has orthonormal rows.
  const Tensor u = lstm.recurrent_kernel().to(DType::Float64);
  const Tensor gram = matmul(u, transpose(u, 0, 1).contiguous());
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) EXPECT_NEAR(values(gram)[i * 4 + j], i == j ? 1.0 : 0.0, 1e-6);
  }
  GRU gru(2);
  gru.build({5, 3});
  EXPECT_EQ(gru.bias().shape(), (Shape{2, 6}));  // input and recurrent biases (reset_after)
  EXPECT_EQ(lstm.count_params(), 3 * 16 + 4 * 16 + 16);
}

TEST(SequenceLayers, OrthogonalInitializerGivesOrthonormalColumnsForTallKernels) {
  Tensor w = Tensor::empty({6, 3}, DType::Float64);
  Generator gen(3);
  Initializer::orthogonal(2.0).fill(w, gen);
  const Tensor gram = matmul(transpose(w, 0, 1).contiguous(), w);  // W^T W = gain^2 I
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) EXPECT_NEAR(values(gram)[i * 3 + j], i == j ? 4.0 : 0.0, 1e-9);
  }
}

// Keras's rule: a masked step keeps the state and repeats the previous output,
// which is zero before the first real step (even with an initial state).
TEST(SequenceLayers, MaskedStepsKeepTheStateAndRepeatTheOutput) {
  for (bool zero_output : {false, true}) {
    SCOPED_TRACE(zero_output ? "zero_output_for_mask" : "repeat");
    manual_seed(4);
    LSTM lstm(3, {.return_sequences = true, .return_state = true, .zero_output_for_mask = zero_output});
    lstm.set_dtype(DType::Float64);
    const Tensor x = random_double_tensor({1, 5, 2}, 7);
    const Tensor h0 = Tensor::full({1, 3}, 0.5, DType::Float64), c0 = Tensor::full({1, 3}, -0.5, DType::Float64);
    const Tensor mask = Tensor::from_vector<std::int32_t>({0, 1, 0, 1, 0}, {1, 5});
    const RecurrentResult masked = lstm.call(x, {.mask = mask, .initial_state = {h0, c0}});
    // The same sequence without its masked steps gives the real steps' outputs and the final state.
    const Tensor real = concat({narrow(x, 1, 1, 1), narrow(x, 1, 3, 1)}, 1);
    const RecurrentResult packed = lstm.call(real, {.initial_state = {h0, c0}});
    const auto m = values(masked.output), p = values(packed.output);
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR(m[0 * 3 + j], 0.0, 1e-15) << "before the first real step: zero, not h0";
      EXPECT_NEAR(m[1 * 3 + j], p[0 * 3 + j], 1e-12);
      EXPECT_NEAR(m[2 * 3 + j], zero_output ? 0.0 : p[0 * 3 + j], 1e-12);
      EXPECT_NEAR(m[3 * 3 + j], p[1 * 3 + j], 1e-12);
      EXPECT_NEAR(m[4 * 3 + j], zero_output ? 0.0 : p[1 * 3 + j], 1e-12);
    }
    EXPECT_EQ(values(masked.states[0]), values(packed.states[0]));
    EXPECT_EQ(values(masked.states[1]), values(packed.states[1]));
  }
}

TEST(SequenceLayers, GoBackwardsReadsTheSequenceReversed) {
  for (const char* kind : {"SimpleRNN", "LSTM", "GRU"}) {
    SCOPED_TRACE(kind);
    // Two layers with the same weights (the same seed when built), one reading backwards.
    auto make = [&](bool backwards) -> std::shared_ptr<RNNLayer> {
      const RNNOptions o{.return_sequences = true, .go_backwards = backwards};
      std::shared_ptr<RNNLayer> layer;
      if (std::string(kind) == "LSTM") layer = std::make_shared<LSTM>(3, o);
      else if (std::string(kind) == "GRU") layer = std::make_shared<GRU>(3, o);
      else layer = std::make_shared<SimpleRNN>(3, o);
      layer->set_dtype(DType::Float64);
      manual_seed(9);
      layer->build({4, 2});
      return layer;
    };
    auto backwards = make(true), forwards = make(false);
    const Tensor x = random_double_tensor({2, 4, 2}, 3);
    std::vector<Tensor> steps;
    for (int t = 3; t >= 0; --t) steps.push_back(narrow(x, 1, t, 1));
    // Outputs stay in processing order, as Keras returns them.
    EXPECT_EQ(values((*backwards)(x)), values((*forwards)(concat(steps, 1))));
  }
}

TEST(SequenceLayers, ReturnStateGivesTheLastOutputAndTheCellState) {
  manual_seed(2);
  LSTM lstm(4, {.return_state = true});
  const Tensor x = random_double_tensor({3, 6, 2}, 1, DType::Float32);
  const RecurrentResult r = lstm.call(x);
  ASSERT_EQ(r.states.size(), 2u);
  EXPECT_EQ(values(r.output), values(r.states[0]));  // the last output is h
  EXPECT_EQ(r.states[1].shape(), (Shape{3, 4}));
  // In a Sequential model the layer returns its output only; lengths may vary once built.
  EXPECT_EQ(lstm(x).shape(), (Shape{3, 4}));
  EXPECT_EQ(lstm(random_double_tensor({3, 9, 2}, 4, DType::Float32)).shape(), (Shape{3, 4}));
}

TEST(SequenceLayers, LayerNormalizationNormalisesTheLastAxis) {
  LayerNormalization ln({.epsilon = 1e-12});
  ln.set_dtype(DType::Float64);
  const Tensor y = ln(Tensor::from_vector<double>({1, 2, 3, 4, 10, 10, 10, 14}, {2, 4}));
  // Row 1: mean 2.5, variance 1.25; row 2: mean 11, variance 3.
  const double s1 = 1 / std::sqrt(1.25), s2 = 1 / std::sqrt(3.0);
  expect_values(y, {-1.5 * s1, -0.5 * s1, 0.5 * s1, 1.5 * s1, -s2, -s2, -s2, 3 * s2}, 1e-9);
}

TEST(SequenceLayers, AttentionWeightsAreMaskedDistributions) {
  manual_seed(6);
  MultiHeadAttention mha(2, 4);
  const Tensor x = random_double_tensor({2, 5, 6}, 8, DType::Float32);
  const Tensor padding = Tensor::from_vector<std::int32_t>({1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, {2, 5});
  const AttentionResult r = mha.call(x, x, x, {.padding_mask = padding, .use_causal_mask = true});
  EXPECT_EQ(r.output.shape(), (Shape{2, 5, 6}));
  ASSERT_EQ(r.weights.shape(), (Shape{2, 2, 5, 5}));
  const auto w = values(r.weights);
  for (int b = 0; b < 2; ++b) {
    for (int h = 0; h < 2; ++h) {
      for (int i = 0; i < 5; ++i) {
        double total = 0;
        for (int j = 0; j < 5; ++j) {
          const double v = w[((b * 2 + h) * 5 + i) * 5 + j];
          const bool allowed = j <= i && (b == 1 || j < 3);
          if (!allowed) {
            EXPECT_EQ(v, 0.0) << "b " << b << " h " << h << " i " << i << " j " << j;
          }
          total += v;
        }
        EXPECT_NEAR(total, 1.0, 1e-5);
      }
    }
  }
  // Keys in the future or in the padding do not change a query's output.
  Tensor changed = x.clone();
  changed.data<float>()[(0 * 5 + 4) * 6] += 5.0f;  // batch 0, position 4 (padding and future)
  const AttentionResult r2 = mha.call(changed, changed, changed, {.padding_mask = padding, .use_causal_mask = true});
  const auto a = values(r.output), b = values(r2.output);
  for (int i = 0; i < 4 * 6; ++i) EXPECT_NEAR(a[i], b[i], 1e-6) << "batch 0, element " << i;
}

TEST(SequenceLayers, TokenAndPositionEmbeddingAddsPositions) {
  TokenAndPositionEmbedding emb(5, 4, 2);
  emb.set_dtype(DType::Float64);
  emb.build({4});
  const auto& w = emb.weights();
  ASSERT_EQ(w.size(), 2u);
  Tensor(w[0].value).copy_(Tensor::from_vector<double>({0, 0, 1, 1, 2, 2, 3, 3, 4, 4}, {5, 2}));
  Tensor(w[1].value).copy_(Tensor::from_vector<double>({0, 10, 20, 30, 40, 50, 60, 70}, {4, 2}));
  expect_values(emb(Tensor::from_vector<std::int32_t>({3, 1}, {1, 2})), {3, 13, 21, 31});
}

// An LSTM and a Transformer block in Sequential models with integer inputs:
// a copy task (predict the previous token) is learned from a Dataset of int32 ids.
TEST(SequenceLayers, SequentialModelsLearnFromTokenIds) {
  Generator gen(1);
  const std::int64_t n = 256, T = 8, V = 6;
  Tensor x = Tensor::empty({n, T}, DType::Int32), y = Tensor::empty({n, T}, DType::Int32);
  for (std::int64_t i = 0; i < n; ++i) {
    for (std::int64_t t = 0; t < T; ++t) {
      x.data<std::int32_t>()[i * T + t] = static_cast<std::int32_t>(gen.below(V));
      y.data<std::int32_t>()[i * T + t] = t == 0 ? 0 : x.data<std::int32_t>()[i * T + t - 1];
    }
  }
  const data::Dataset ds(x, y);
  EXPECT_EQ(ds.batch(0, 4).x.dtype(), DType::Int32);  // ids pass through unconverted
  EXPECT_THROW(ds.rescale(0.5), Error);
  for (bool transformer : {false, true}) {
    SCOPED_TRACE(transformer ? "transformer" : "lstm");
    manual_seed(3);
    Sequential model;
    if (transformer) {
      model.add(TokenAndPositionEmbedding(V, T, 16, {.input_shape = {T}}));
      model.add(TransformerEncoder(32, 2, {.use_causal_mask = true}));
    } else {
      model.add(Embedding(V, 8, {.input_shape = {T}}));
      model.add(LSTM(16, {.return_sequences = true}));
    }
    model.add(Dense(V, "softmax"));
    model.compile(optim::Adam(1e-2), losses::SparseCategoricalCrossentropy(), {"accuracy"});
    const History h = model.fit(ds, {.epochs = 15, .batch_size = 32, .verbose = 0, .seed = 1});
    EXPECT_LT(h.history.at("loss").back(), 0.5 * h.history.at("loss").front());
    EXPECT_GT(h.history.at("accuracy").back(), 0.9) << "chance is 1/6";
  }
}

TEST(SequenceLayers, IgnoreClassAveragesOverTheOtherLabels) {
  const Tensor logits = Tensor::from_vector<double>({2, 0, 0, 0, 3, 0, 1, 1, 1}, {1, 3, 3});
  const Tensor labels = Tensor::from_vector<std::int32_t>({0, -1, 2}, {1, 3});
  const double l0 = std::log(std::exp(2.0) + 2.0) - 2.0, l2 = std::log(3.0);
  const Tensor loss = losses::SparseCategoricalCrossentropy(true, -1)(labels, logits);
  EXPECT_NEAR(loss.item(), (l0 + l2) / 2, 1e-12);
  // Without ignore_class the -1 is an error naming it.
  EXPECT_THROW(losses::SparseCategoricalCrossentropy(true)(labels, logits), Error);
}

}  // namespace
}  // namespace kiln
