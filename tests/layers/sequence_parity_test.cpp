// Output and gradient parity with PyTorch for the sequence layers: SimpleRNN,
// LSTM, GRU (with initial states, masks, go_backwards, return_state),
// LayerNormalization, MultiHeadAttention (masks, cross-attention, weights),
// TransformerEncoder and Embedding, against tests/fixtures/pytorch_sequence_parity.json
// from tests/fixtures/generate_sequence_fixtures.py (which converts PyTorch's
// gate orders and layouts to Keras's; see its docstring).
//
// Each case loads the weights by Kiln's weight names, runs the layer, and
// compares every output and the gradients of sum(output * r) (over all
// outputs) with respect to the inputs, initial states and weights.
// float64 must agree to 1e-10 * (1 + |expected|); float32 (the fast kernels)
// to 1e-4 * (1 + |expected|).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/kiln.hpp"
#include "support/parity.hpp"

namespace kiln {
namespace {

using testing::tensor_of;
using testing::int64_tensor_of;
using testing::expect_close;
using testing::PyTorchFixture;

using nlohmann::json;
using namespace kiln::layers;

const PyTorchFixture kSequenceFixture("pytorch_sequence_parity.json", "generate_sequence_fixtures.py");

// Copies every weight of `layer` from the fixture key of its name.
void load_weights(Layer& layer, const json& c, DType dtype) {
  for (const auto& w : layer.weights()) {
    ASSERT_TRUE(c.contains(w.name)) << "the fixture has no weight " << w.name;
    Tensor value = w.value;
    value.copy_(tensor_of(c.at(w.name), dtype));
  }
}

// Backward of sum(out_i * r_i) over the named outputs, then every gradient against the fixture.
void check_backward(const std::vector<std::pair<std::string, Tensor>>& outputs,
                    const std::vector<std::pair<std::string, Tensor>>& inputs, const Layer& layer, const json& c,
                    DType dtype) {
  Tensor total;
  for (const auto& [name, out] : outputs) {
    expect_close(out, c.at(name), "output " + name, dtype);
    const Tensor term = sum(out * tensor_of(c.at("r_" + name), dtype));
    total = total.defined() ? total + term : term;
  }
  total.backward();
  for (const auto& [name, t] : inputs) expect_close(t.grad(), c.at("grad_" + name), "gradient of " + name, dtype);
  for (const auto& w : layer.weights()) {
    expect_close(w.value.grad(), c.at("grad_" + w.name), "gradient of the weight " + w.name, dtype);
  }
}

Tensor input_of(const json& c, const char* key, DType dtype) {
  Tensor t = tensor_of(c.at(key), dtype);
  t.set_requires_grad();
  return t;
}

template <typename L>
void check_recurrent(const json& c, DType dtype) {
  SCOPED_TRACE(c.at("name").get<std::string>());
  L layer(c.at("units").get<std::int64_t>(),
          RNNOptions{.activation = c.at("activation").get<std::string>(),
                     .return_sequences = c.at("return_sequences").get<bool>(),
                     .return_state = c.at("return_state").get<bool>(),
                     .go_backwards = c.at("go_backwards").get<bool>(),
                     .zero_output_for_mask = c.at("zero_output_for_mask").get<bool>()});
  layer.set_dtype(dtype);
  Tensor x = input_of(c, "x", dtype);
  layer.build(Shape(x.shape().begin() + 1, x.shape().end()));
  load_weights(layer, c, dtype);
  std::vector<std::pair<std::string, Tensor>> inputs{{"x", x}};
  RNNCallArgs args;
  for (int i = 0; i < 2; ++i) {
    const std::string key = "initial_state_" + std::to_string(i);
    if (!c.contains(key)) continue;
    args.initial_state.push_back(input_of(c, key.c_str(), dtype));
    inputs.emplace_back(key, args.initial_state.back());
  }
  if (c.contains("mask")) args.mask = int64_tensor_of(c.at("mask"));
  const RecurrentResult r = layer.call(x, args);
  std::vector<std::pair<std::string, Tensor>> outputs{{"y", r.output}};
  for (std::size_t i = 0; i < r.states.size(); ++i) outputs.emplace_back("state_" + std::to_string(i), r.states[i]);
  ASSERT_EQ(r.states.size(), c.at("return_state").get<bool>() ? (std::is_same_v<L, LSTM> ? 2u : 1u) : 0u);
  check_backward(outputs, inputs, layer, c, dtype);
}

TEST(SequenceParity, FixtureIsPresentAndComplete) {
  const json& f = kSequenceFixture.json();
  ASSERT_TRUE(f.is_object()) << "cannot read " << kSequenceFixture.path();
  for (const char* section : {"simple_rnn", "lstm", "gru", "layer_normalization", "multi_head_attention",
                              "transformer_encoder", "embedding"}) {
    EXPECT_TRUE(f.contains(section) && f[section].is_array() && !f[section].empty()) << section;
  }
}

class SequenceParityByDtype : public ::testing::TestWithParam<DType> {};

TEST_P(SequenceParityByDtype, SimpleRNN) {
  for (const auto& c : kSequenceFixture.cases("simple_rnn")) check_recurrent<SimpleRNN>(c, GetParam());
}
TEST_P(SequenceParityByDtype, LSTM) {
  for (const auto& c : kSequenceFixture.cases("lstm")) check_recurrent<LSTM>(c, GetParam());
}
TEST_P(SequenceParityByDtype, GRU) {
  for (const auto& c : kSequenceFixture.cases("gru")) check_recurrent<GRU>(c, GetParam());
}

TEST_P(SequenceParityByDtype, LayerNormalization) {
  const DType dtype = GetParam();
  for (const auto& c : kSequenceFixture.cases("layer_normalization")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    LayerNormalization layer({.epsilon = c.at("epsilon").get<double>()});
    layer.set_dtype(dtype);
    Tensor x = input_of(c, "x", dtype);
    layer.build(Shape(x.shape().begin() + 1, x.shape().end()));
    load_weights(layer, c, dtype);
    check_backward({{"y", layer(x)}}, {{"x", x}}, layer, c, dtype);
  }
}

TEST_P(SequenceParityByDtype, MultiHeadAttention) {
  const DType dtype = GetParam();
  for (const auto& c : kSequenceFixture.cases("multi_head_attention")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    MultiHeadAttention layer(c.at("num_heads").get<std::int64_t>(), c.at("key_dim").get<std::int64_t>());
    layer.set_dtype(dtype);
    Tensor query = input_of(c, "query", dtype);
    const bool self = c.at("self_attention").get<bool>();
    Tensor key = self ? query : input_of(c, "key", dtype);
    Tensor value = self ? query : input_of(c, "value", dtype);
    AttentionCallArgs args{.use_causal_mask = c.at("causal").get<bool>()};
    if (c.contains("padding_mask")) args.padding_mask = int64_tensor_of(c.at("padding_mask"));
    // Built on the first call (from the query, key and value widths), then loaded and run again.
    layer.call(query, value, key, args);
    load_weights(layer, c, dtype);
    const AttentionResult r = layer.call(query, value, key, args);
    expect_close(r.weights, c.at("weights"), "attention weights", dtype);
    std::vector<std::pair<std::string, Tensor>> inputs{{"query", query}};
    if (!self) inputs.insert(inputs.end(), {{"key", key}, {"value", value}});
    check_backward({{"y", r.output}}, inputs, layer, c, dtype);
  }
}

TEST_P(SequenceParityByDtype, TransformerEncoder) {
  const DType dtype = GetParam();
  for (const auto& c : kSequenceFixture.cases("transformer_encoder")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    TransformerEncoder layer(c.at("intermediate_dim").get<std::int64_t>(), c.at("num_heads").get<std::int64_t>(),
                             {.normalize_first = c.at("normalize_first").get<bool>(),
                              .use_causal_mask = c.at("use_causal_mask").get<bool>()});
    layer.set_dtype(dtype);
    Tensor x = input_of(c, "x", dtype);
    layer.build(Shape(x.shape().begin() + 1, x.shape().end()));
    load_weights(layer, c, dtype);
    TransformerCallArgs args;
    if (c.contains("padding_mask")) args.padding_mask = int64_tensor_of(c.at("padding_mask"));
    check_backward({{"y", layer.call(x, args)}}, {{"x", x}}, layer, c, dtype);
  }
}

TEST_P(SequenceParityByDtype, Embedding) {
  const DType dtype = GetParam();
  for (const auto& c : kSequenceFixture.cases("embedding")) {
    Embedding layer(c.at("input_dim").get<std::int64_t>(), c.at("output_dim").get<std::int64_t>());
    layer.set_dtype(dtype);
    const Tensor ids = int64_tensor_of(c.at("ids"));
    layer.build(Shape(ids.shape().begin() + 1, ids.shape().end()));
    load_weights(layer, c, dtype);
    check_backward({{"y", layer(ids)}}, {}, layer, c, dtype);
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, SequenceParityByDtype, ::testing::Values(DType::Float64, DType::Float32),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

}  // namespace
}  // namespace kiln
