// The sequence ops (batched products, embedding lookup, layer norm, attention,
// SimpleRNN/LSTM/GRU), checked against finite differences in float64 through
// the one harness. To cover a new case, add one entry to the table.
#include <gtest/gtest.h>

#include "support/gradcheck.hpp"

namespace kiln {
namespace {

using testing::GradCase;
using V = const std::vector<Tensor>&;

// Every output of a recurrent op in one flat tensor, so all of them are checked.
Tensor flat(const RecurrentResult& r) {
  std::vector<Tensor> parts{reshape(r.output, {-1})};
  for (const Tensor& s : r.states) parts.push_back(reshape(s, {-1}));
  return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

// Masks [2, 4]: a leading, a middle and a trailing masked step.
Tensor step_mask() { return Tensor::from_vector<double>({1, 1, 0, 1, 0, 1, 1, 0}, {2, 4}); }

// Inputs listed in `fixed` come from make(i); the rest are random and differentiable.
GradCase with_fixed(GradCase c, std::vector<std::size_t> fixed, std::function<Tensor(std::size_t)> make) {
  c.differentiable.assign(c.shapes.size(), true);
  for (auto i : fixed) c.differentiable[i] = false;
  c.make_input = [fixed, make](std::size_t i, const Shape&) {
    for (auto f : fixed) {
      if (f == i) return make(i);
    }
    return Tensor();
  };
  return c;
}

std::vector<GradCase> sequence_cases() {
  std::vector<GradCase> c;
  // --- batched_matmul
  c.push_back({"bmm", {{2, 3, 4}, {2, 4, 5}}, [](V x) { return batched_matmul(x[0], x[1]); }});
  c.push_back({"bmm_transpose_a", {{2, 4, 3}, {2, 4, 5}}, [](V x) { return batched_matmul(x[0], x[1], true); }});
  c.push_back({"bmm_transpose_b", {{2, 3, 4}, {2, 5, 4}}, [](V x) { return batched_matmul(x[0], x[1], false, true); }});
  c.push_back({"bmm_transpose_both_4d", {{2, 2, 4, 3}, {2, 2, 5, 4}},
               [](V x) { return batched_matmul(x[0], x[1], true, true); }});
  // --- embedding (ids repeat, so gradients accumulate)
  c.push_back(with_fixed({"embedding", {{2, 3}, {5, 4}}, [](V x) { return embedding(x[0], x[1]); }}, {0},
                         [](std::size_t) { return Tensor::from_vector<std::int64_t>({0, 4, 2, 2, 0, 3}, {2, 3}); }));
  c.push_back(with_fixed({"embedding_int32", {{4}, {3, 2}}, [](V x) { return embedding(x[0], x[1]); }}, {0},
                         [](std::size_t) { return Tensor::from_vector<std::int32_t>({1, 1, 2, 0}); }));
  // --- layer_norm
  c.push_back({"layer_norm", {{3, 5}, {5}, {5}}, [](V x) { return layer_norm(x[0], x[1], x[2], 1e-3); }});
  c.push_back({"layer_norm_3d_no_affine", {{2, 3, 4}}, [](V x) { return layer_norm(x[0], Tensor(), Tensor(), 1e-5); }});
  // --- attention
  c.push_back({"attention_single_head", {{2, 3, 4}, {2, 5, 4}, {2, 5, 3}},
               [](V x) { return scaled_dot_product_attention(x[0], x[1], x[2]).output; }, -2, 2});
  c.push_back({"attention_multi_head", {{2, 3, 2, 4}, {2, 4, 2, 4}, {2, 4, 2, 3}},
               [](V x) { return scaled_dot_product_attention(x[0], x[1], x[2]).output; }, -2, 2});
  c.push_back({"attention_causal", {{2, 4, 2, 3}, {2, 4, 2, 3}, {2, 4, 2, 2}},
               [](V x) { return scaled_dot_product_attention(x[0], x[1], x[2], {.causal = true}).output; }, -2, 2});
  c.push_back({"attention_masked_with_empty_row", {{1, 3, 2, 3}, {1, 4, 2, 3}, {1, 4, 2, 2}},
               [](V x) {
                 // Query 1 may attend to nothing: its output is zero and passes no gradient.
                 Tensor mask = Tensor::from_vector<float>({1, 0, 1, 1, 0, 0, 0, 0, 0, 1, 1, 0}, {1, 3, 4});
                 return scaled_dot_product_attention(x[0], x[1], x[2], {.mask = mask, .scale = 0.7}).output;
               },
               -2, 2});
  c.push_back({"attention_padding_mask_and_causal", {{2, 4, 3}, {2, 4, 3}, {2, 4, 3}},
               [](V x) {
                 Tensor padding = Tensor::from_vector<std::int64_t>({1, 1, 1, 0, 1, 1, 0, 0}, {2, 1, 4});
                 return scaled_dot_product_attention(x[0], x[1], x[2], {.mask = padding, .causal = true}).output;
               },
               -2, 2});
  // --- recurrent ops: x [2, 4, 3], 3 units
  c.push_back({"simple_rnn_last", {{2, 4, 3}, {3, 3}, {3, 3}, {3}},
               [](V x) { return simple_rnn(x[0], x[1], x[2], x[3]).output; }});
  c.push_back({"simple_rnn_relu_sequences_state", {{2, 4, 3}, {3, 3}, {3, 3}, {3}, {2, 3}},
               [](V x) {
                 return flat(simple_rnn(x[0], x[1], x[2], x[3], {x[4]}, Tensor(),
                                        {.return_sequences = true, .return_state = true, .activation = "relu"}));
               },
               0.1, 1.0});
  c.push_back(with_fixed({"simple_rnn_masked_backwards", {{2, 4, 3}, {3, 3}, {3, 3}, {3}, {2, 4}},
                          [](V x) {
                            return simple_rnn(x[0], x[1], x[2], x[3], {}, x[4],
                                              {.return_sequences = true, .go_backwards = true})
                                .output;
                          }},
                         {4}, [](std::size_t) { return step_mask(); }));
  c.push_back({"lstm_last", {{2, 4, 3}, {3, 12}, {3, 12}, {12}}, [](V x) { return lstm(x[0], x[1], x[2], x[3]).output; }});
  c.push_back({"lstm_sequences_state_initial", {{2, 4, 3}, {3, 12}, {3, 12}, {12}, {2, 3}, {2, 3}},
               [](V x) {
                 return flat(lstm(x[0], x[1], x[2], x[3], {x[4], x[5]}, Tensor(),
                                  {.return_sequences = true, .return_state = true}));
               }});
  c.push_back({"lstm_no_bias_backwards", {{2, 4, 3}, {3, 12}, {3, 12}},
               [](V x) { return lstm(x[0], x[1], x[2], Tensor(), {}, Tensor(), {.go_backwards = true}).output; }});
  c.push_back(with_fixed({"lstm_masked_state", {{2, 4, 3}, {3, 12}, {3, 12}, {12}, {2, 3}, {2, 3}, {2, 4}},
                          [](V x) {
                            return flat(lstm(x[0], x[1], x[2], x[3], {x[4], x[5]}, x[6],
                                             {.return_sequences = true, .return_state = true}));
                          }},
                         {6}, [](std::size_t) { return step_mask(); }));
  c.push_back(with_fixed({"lstm_masked_zero_output_last", {{2, 4, 3}, {3, 12}, {3, 12}, {12}, {2, 4}},
                          [](V x) {
                            return flat(lstm(x[0], x[1], x[2], x[3], {}, x[4],
                                             {.return_state = true, .zero_output_for_mask = true}));
                          }},
                         {4}, [](std::size_t) { return step_mask(); }));
  c.push_back({"gru_last", {{2, 4, 3}, {3, 9}, {3, 9}, {2, 9}}, [](V x) { return gru(x[0], x[1], x[2], x[3]).output; }});
  c.push_back({"gru_sequences_state_initial_backwards", {{2, 4, 3}, {3, 9}, {3, 9}, {2, 9}, {2, 3}},
               [](V x) {
                 return flat(gru(x[0], x[1], x[2], x[3], {x[4]}, Tensor(),
                                 {.return_sequences = true, .return_state = true, .go_backwards = true}));
               }});
  c.push_back(with_fixed({"gru_masked_zero_output", {{2, 4, 3}, {3, 9}, {3, 9}, {2, 9}, {2, 4}},
                          [](V x) {
                            return flat(gru(x[0], x[1], x[2], x[3], {}, x[4],
                                            {.return_sequences = true, .return_state = true,
                                             .zero_output_for_mask = true}));
                          }},
                         {4}, [](std::size_t) { return step_mask(); }));
  c.push_back({"gru_no_bias", {{2, 4, 3}, {3, 9}, {3, 9}},
               [](V x) { return gru(x[0], x[1], x[2], Tensor()).output; }});
  return c;
}

class SequenceOpGradient : public ::testing::TestWithParam<GradCase> {};

TEST_P(SequenceOpGradient, MatchesFiniteDifferences) { testing::expect_gradients_match(GetParam()); }

INSTANTIATE_TEST_SUITE_P(Ops, SequenceOpGradient, ::testing::ValuesIn(sequence_cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace kiln
