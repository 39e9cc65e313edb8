// Bad input to the sequence layers gives errors that name the layer and the values.
#include <gtest/gtest.h>

#include "kiln/kiln.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;

using testing::error_of;

void expect_all(const std::string& msg, std::initializer_list<const char*> parts) {
  for (const char* p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "\"" << p << "\" missing from: " << msg;
}

TEST(SequenceLayerErrors, RecurrentLayersNameTheRankAndFeatures) {
  LSTM lstm(4, {.name = "encoder"});
  expect_all(error_of([&] { lstm(Tensor::zeros({2, 5})); }),
             {"LSTM 'encoder'", "[batch, time, features]", "[batch, 5]"});
  lstm(Tensor::zeros({2, 5, 3}));
  expect_all(error_of([&] { lstm(Tensor::zeros({2, 5, 7})); }), {"encoder", "[2, 5, 7]", "3]"});
  GRU gru(2, {.name = "g"});
  // Integers are an error; float64 is cast to the layer's float32, as Keras autocasts.
  expect_all(error_of([&] { gru(Tensor::zeros({2, 3, 4}, DType::Int32)); }), {"GRU 'g'", "float32", "int32"});
  EXPECT_EQ(gru(Tensor::zeros({2, 3, 4}, DType::Float64)).dtype(), DType::Float32);
}

TEST(SequenceLayerErrors, MasksAndInitialStatesOfTheWrongShape) {
  LSTM lstm(4, {.name = "rnn"});
  const Tensor x = Tensor::zeros({2, 5, 3});
  expect_all(error_of([&] { lstm.call(x, {.mask = Tensor::ones({2, 4})}); }),
             {"LSTM 'rnn'", "mask", "[2, 5]", "[2, 4]"});
  expect_all(error_of([&] { lstm.call(x, {.initial_state = {Tensor::zeros({2, 4})}}); }),
             {"rnn", "initial_state", "h and c", "got 1"});
  expect_all(error_of([&] { lstm.call(x, {.initial_state = {Tensor::zeros({2, 4}), Tensor::zeros({3, 4})}}); }),
             {"rnn", "initial state c", "[2, 4]", "[3, 4]"});
  SimpleRNN rnn(2, {.name = "s"});
  expect_all(error_of([&] { rnn.call(x, {.mask = Tensor::ones({5, 2})}); }), {"SimpleRNN 's'", "[5, 2]"});
}

TEST(SequenceLayerErrors, TokenIdsOutOfRangeNameTheIdAndWhereItIs) {
  Embedding emb(10, 4, {.name = "tokens"});
  const Tensor ids = Tensor::from_vector<std::int64_t>({1, 2, 3, 4, 12, 5}, {2, 3});
  expect_all(error_of([&] { emb(ids); }), {"Embedding 'tokens'", "token id 12", "[1, 1]", "[0, 10)", "input_dim 10"});
  expect_all(error_of([&] { emb(Tensor::from_vector<std::int32_t>({-1}, {1, 1})); }), {"token id -1"});
  expect_all(error_of([&] { emb(Tensor::zeros({2, 3})); }), {"tokens", "int32, int64 or uint8", "float32"});
  TokenAndPositionEmbedding tp(5, 4, 2, {.name = "tp"});
  expect_all(error_of([&] { tp(Tensor::from_vector<std::int32_t>({1, 7}, {1, 2})); }),
             {"TokenAndPositionEmbedding 'tp'", "token id 7", "vocabulary_size 5"});
  tp(Tensor::from_vector<std::int32_t>({1, 2}, {1, 2}));
  expect_all(error_of([&] { tp(Tensor::zeros({1, 6}, DType::Int32)); }), {"tp", "6 positions", "sequence_length 4"});
}

TEST(SequenceLayerErrors, AttentionMasksAndInputsOfTheWrongShape) {
  MultiHeadAttention mha(2, 4, {.name = "attn"});
  const Tensor q = Tensor::zeros({2, 3, 8}), kv = Tensor::zeros({2, 5, 6});
  expect_all(error_of([&] { mha.call(q, kv, kv, {.attention_mask = Tensor::ones({2, 3, 3})}); }),
             {"MultiHeadAttention 'attn'", "attention_mask", "[2, 3, 5]", "[2, 3, 3]"});
  expect_all(error_of([&] { mha.call(q, kv, kv, {.padding_mask = Tensor::ones({2, 3})}); }),
             {"attn", "padding_mask", "[2, 5]", "[2, 3]"});
  expect_all(error_of([&] { mha.call(Tensor::zeros({2, 8}), kv); }), {"attn", "query", "[2, 8]"});
  expect_all(error_of([&] { mha.call(q, Tensor::zeros({3, 5, 6})); }), {"attn", "value", "batch of 2", "[3, 5, 6]"});
  mha.call(q, kv, kv);
  expect_all(error_of([&] { mha.call(q, Tensor::zeros({2, 5, 7})); }), {"attn", "6 features", "[2, 5, 7]"});
}

TEST(SequenceLayerErrors, BadArguments) {
  EXPECT_THROW(LSTM(0), Error);
  EXPECT_THROW(SimpleRNN(3, {.activation = "sigmoid"}), Error);
  EXPECT_THROW(GRU(3, {.activation = "relu"}), Error);
  EXPECT_THROW(Embedding(0, 3), Error);
  EXPECT_THROW(MultiHeadAttention(0, 4), Error);
  EXPECT_THROW(TransformerEncoder(16, 2, {.dropout = 1.0}), Error);
  EXPECT_THROW(LayerNormalization({.epsilon = 0}), Error);
  const std::string msg = error_of([] { TransformerEncoder(8, 4, {.name = "block"})(Tensor::zeros({1, 3, 2})); });
  expect_all(msg, {"TransformerEncoder 'block'", "2 features", "4 heads"});
}

TEST(SequenceLayerErrors, OpsNameThemselvesAndTheShapes) {
  expect_all(error_of([] { batched_matmul(Tensor::zeros({2, 3, 4}), Tensor::zeros({2, 5, 6})); }),
             {"batched_matmul", "inner dimensions", "4 vs 5"});
  expect_all(error_of([] { lstm(Tensor::zeros({2, 3, 4}), Tensor::zeros({3, 8}), Tensor::zeros({2, 8}), Tensor()); }),
             {"lstm", "kernel", "[4, 8]", "[3, 8]"});
  expect_all(error_of([] {
               scaled_dot_product_attention(Tensor::zeros({1, 2, 3}), Tensor::zeros({1, 4, 3}), Tensor::zeros({1, 4, 2}),
                                            {.mask = Tensor::ones({1, 2, 3})});
             }),
             {"scaled_dot_product_attention", "mask", "[1, 2, 4]", "[1, 2, 3]"});
  expect_all(error_of([] { embedding(Tensor::from_vector<std::int64_t>({0, 9}), Tensor::zeros({4, 2})); }),
             {"embedding", "id 9", "[0, 4)"});
  expect_all(error_of([] { layer_norm(Tensor::zeros({2, 3}), Tensor::ones({4}), Tensor()); }),
             {"layer_norm", "gamma", "[3]", "[4]"});
}

}  // namespace
}  // namespace kiln
