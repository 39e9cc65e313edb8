// The sequence layers' gradients (inputs and weights), in float64, against
// finite differences through the one harness: one table entry per case.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "support/gradcheck.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;

struct SequenceLayerCase {
  std::string name;
  std::function<std::shared_ptr<Layer>()> make;
  Shape input_shape;             // including the batch axis
  std::int64_t vocabulary = 0;   // > 0: the input is token ids below this (not differentiated)
  // How the layer is run (default: layer(x, true)); lets a case use call() with masks or states.
  std::function<Tensor(Layer&, const Tensor&)> run = nullptr;
};

void PrintTo(const SequenceLayerCase& c, std::ostream* os) { *os << c.name; }

// Masks [2, 4]: the second sequence starts with a masked step and ends with two.
Tensor steps_mask() { return Tensor::from_vector<std::int32_t>({1, 1, 0, 1, 0, 1, 0, 0}, {2, 4}); }

Tensor fixed_state(std::int64_t units, double value) { return Tensor::full({2, units}, value, DType::Float64); }

std::vector<SequenceLayerCase> cases() {
  return {
      {"embedding", [] { return std::make_shared<Embedding>(6, 3); }, {2, 4}, 6},
      // Position vectors do not depend on the input's values; they are added to it, as in use.
      {"position_embedding", [] { return std::make_shared<PositionEmbedding>(5); }, {2, 3, 4}, 0,
       [](Layer& l, const Tensor& x) { return x + l(x, true); }},
      {"token_and_position_embedding", [] { return std::make_shared<TokenAndPositionEmbedding>(7, 5, 4); }, {2, 3}, 7},
      {"simple_rnn", [] { return std::make_shared<SimpleRNN>(3); }, {2, 4, 3}},
      {"simple_rnn_sequences_backwards",
       [] { return std::make_shared<SimpleRNN>(3, RNNOptions{.return_sequences = true, .go_backwards = true}); },
       {2, 4, 2}},
      {"lstm", [] { return std::make_shared<LSTM>(3); }, {2, 4, 3}},
      {"lstm_sequences", [] { return std::make_shared<LSTM>(2, RNNOptions{.return_sequences = true}); }, {2, 5, 3}},
      {"lstm_masked_with_states",
       [] { return std::make_shared<LSTM>(3, RNNOptions{.return_sequences = true, .return_state = true}); },
       {2, 4, 2}, 0,
       [](Layer& l, const Tensor& x) {
         auto r = static_cast<LSTM&>(l).call(
             x, {.mask = steps_mask(), .initial_state = {fixed_state(3, 0.3), fixed_state(3, -0.2)}});
         return concat({reshape(r.output, {-1}), reshape(r.states[0], {-1}), reshape(r.states[1], {-1})}, 0);
       }},
      {"gru", [] { return std::make_shared<GRU>(3); }, {2, 4, 3}},
      {"gru_masked_sequences",
       [] { return std::make_shared<GRU>(3, RNNOptions{.return_sequences = true, .zero_output_for_mask = true}); },
       {2, 4, 2}, 0,
       [](Layer& l, const Tensor& x) { return static_cast<GRU&>(l).call(x, {.mask = steps_mask()}).output; }},
      {"layer_normalization", [] { return std::make_shared<LayerNormalization>(); }, {2, 3, 5}},
      {"layer_normalization_no_center",
       [] { return std::make_shared<LayerNormalization>(LayerNormalizationOptions{.center = false}); },
       {3, 4}},
      {"multi_head_attention_self", [] { return std::make_shared<MultiHeadAttention>(2, 3); }, {2, 4, 5}},
      {"multi_head_attention_cross_masked",
       [] {
         return std::make_shared<MultiHeadAttention>(2, 3,
                                                     MultiHeadAttentionOptions{.value_dim = 2, .output_shape = 4});
       },
       {2, 3, 5}, 0,
       [](Layer& l, const Tensor& query) {
         // Keys and values from a transformed query, so the gradient reaches all three paths.
         const Tensor memory = reshape(concat({query, query * 0.5}, 1), {2, 6, 5});
         const Tensor padding = Tensor::from_vector<std::int32_t>({1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 0}, {2, 6});
         return static_cast<MultiHeadAttention&>(l)
             .call(query, memory, tanh(memory), {.padding_mask = padding, .use_causal_mask = true})
             .output;
       }},
      {"transformer_encoder_post_norm", [] { return std::make_shared<TransformerEncoder>(6, 2); }, {2, 3, 4}},
      {"transformer_encoder_pre_norm_causal",
       [] {
         return std::make_shared<TransformerEncoder>(
             5, 2, TransformerEncoderOptions{.activation = "tanh", .normalize_first = true, .use_causal_mask = true});
       },
       {2, 4, 4}},
  };
}

class SequenceLayerGradient : public ::testing::TestWithParam<SequenceLayerCase> {};

TEST_P(SequenceLayerGradient, MatchesFiniteDifferences) {
  const SequenceLayerCase& c = GetParam();
  manual_seed(11);
  auto layer = c.make();
  layer->set_dtype(DType::Float64);
  Generator gen(5);
  Tensor x;
  std::vector<Tensor> wrt;
  if (c.vocabulary > 0) {
    x = Tensor::empty(c.input_shape, DType::Int64);
    for (std::int64_t i = 0; i < x.numel(); ++i) x.data<std::int64_t>()[i] = std::int64_t(gen.below(c.vocabulary));
  } else {
    x = Tensor::empty(c.input_shape, DType::Float64);
    for (std::int64_t i = 0; i < x.numel(); ++i) x.data<double>()[i] = gen.uniform(-1, 1);
    x.set_requires_grad();
    wrt.push_back(x);
  }
  auto run = [&] { return c.run ? c.run(*layer, x) : (*layer)(x, true); };
  const Tensor probe = run();
  Tensor weights = Tensor::empty(probe.shape(), DType::Float64);
  for (std::int64_t i = 0; i < weights.numel(); ++i) weights.data<double>()[i] = gen.uniform(-1, 1);
  for (const auto& w : layer->trainable_weights()) wrt.push_back(w);
  ASSERT_FALSE(wrt.empty());
  testing::expect_gradients_match(c.name, [&] { return sum(run() * weights); }, wrt);
}

INSTANTIATE_TEST_SUITE_P(Layers, SequenceLayerGradient, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace kiln
