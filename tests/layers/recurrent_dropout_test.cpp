// recurrent_dropout on SimpleRNN, LSTM and GRU (Keras's: one mask on the state per sequence,
// reused at every step, only in training) and Bidirectional's return_state.
#include <gtest/gtest.h>

#include <cmath>

#include "kiln/kiln.hpp"
#include "support/common.hpp"
#include "support/gradcheck.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;
using testing::random_tensor;

TEST(RecurrentDropout, InferenceIsTheLayerWithoutIt) {
  const Tensor x = random_tensor({3, 5, 4}, 1);
  for (const char* kind : {"SimpleRNN", "LSTM", "GRU"}) {
    auto make = [&](double rate) -> std::shared_ptr<RNNLayer> {
      const RNNOptions o{.recurrent_dropout = rate, .seed = 4, .return_sequences = true};
      if (std::string(kind) == "LSTM") return std::make_shared<LSTM>(6, o);
      if (std::string(kind) == "GRU") return std::make_shared<GRU>(6, o);
      return std::make_shared<SimpleRNN>(6, o);
    };
    auto dropped = make(0.5), plain = make(0.0);
    dropped->build({5, 4});
    plain->build({5, 4});
    plain->set_weights(dropped->get_weights());
    EXPECT_TRUE(testing::same_bits((*dropped)(x, false), (*plain)(x, false))) << kind;
    // In training the state is masked, so the outputs differ; the same seed gives the same masks.
    const Tensor trained = (*dropped)(x, true);
    EXPECT_FALSE(testing::same_bits(trained, (*plain)(x, true))) << kind;
    auto again = make(0.5);
    again->build({5, 4});
    again->set_weights(dropped->get_weights());
    EXPECT_TRUE(testing::same_bits(trained, (*again)(x, true))) << kind;
  }
}

TEST(RecurrentDropout, OneMaskPerSequenceDropsTheRateAndScalesTheRest) {
  // h_t = tanh((h_{t-1} * m) U) with U = I, no input and h_0 = 1: h_1 = tanh(m), h_2 = tanh(h_1 m), ...
  // so a unit is 0 exactly where the mask dropped it, at every step if the mask is reused.
  const std::int64_t B = 32, H = 256, T = 3;
  const double rate = 0.25, kept = 1 / (1 - rate);
  SimpleRNN rnn(H, {.use_bias = false, .recurrent_dropout = rate, .seed = 11, .return_sequences = true});
  rnn.build({T, 1});
  std::vector<float> identity(H * H, 0.0f);
  for (std::int64_t i = 0; i < H; ++i) identity[i * H + i] = 1.0f;
  rnn.set_weights({Tensor::zeros({1, H}), Tensor::from_vector(identity, {H, H})});
  const Tensor h0 = Tensor::ones({B, H});
  const auto y =
      rnn.call(Tensor::zeros({B, T, 1}), {.initial_state = {h0}, .training = true}).output.to_vector<double>();
  std::int64_t dropped = 0;
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t j = 0; j < H; ++j) {
      const bool off = y[(b * T + 0) * H + j] == 0.0;
      dropped += off;
      double expected = 1.0;
      for (std::int64_t t = 0; t < T; ++t) {
        expected = off ? 0.0 : std::tanh(expected * kept);
        ASSERT_NEAR(y[(b * T + t) * H + j], expected, 1e-6) << b << "," << t << "," << j;
      }
    }
  }
  // 8192 draws: the fraction is within 4 standard deviations (0.0048 each) of the rate.
  EXPECT_NEAR(double(dropped) / double(B * H), rate, 0.02);
}

TEST(RecurrentDropout, MaskedOpMatchesTheStepsWrittenOut) {
  // The fused op with an explicit mask against h_t = tanh(x_t W + (h_{t-1} m) U + b) composed from plain ops.
  const Tensor x = random_tensor({2, 4, 3}, 2, DType::Float64), w = random_tensor({3, 5}, 3, DType::Float64);
  const Tensor u = random_tensor({5, 5}, 4, DType::Float64), b = random_tensor({5}, 5, DType::Float64);
  const Tensor m = Tensor::from_vector(std::vector<double>{2, 0, 2, 2, 0, 0, 2, 2, 0, 2}, {2, 5});
  const Tensor fused = simple_rnn(x, w, u, b, {}, {}, {.return_sequences = true, .recurrent_dropout_mask = m}).output;
  Tensor h = Tensor::zeros({2, 5}, DType::Float64);
  std::vector<Tensor> steps;
  for (std::int64_t t = 0; t < 4; ++t) {
    h = tanh(matmul(reshape(narrow(x, 1, t, 1), {2, 3}), w) + matmul(h * m, u) + b);
    steps.push_back(reshape(h, {2, 1, 5}));
  }
  testing::expect_values(fused, concat(steps, 1).to_vector<double>(), 1e-12);
}

class RecurrentDropoutGradients : public ::testing::TestWithParam<testing::LayerGradCase> {};

TEST_P(RecurrentDropoutGradients, MatchFiniteDifferencesWithAFixedMask) {
  testing::expect_layer_gradients_match(GetParam());
}

INSTANTIATE_TEST_SUITE_P(
    Cells, RecurrentDropoutGradients,
    ::testing::Values(
        testing::LayerGradCase{"simple_rnn",
                               [] {
                                 return std::make_shared<SimpleRNN>(
                                     4, RNNOptions{.recurrent_dropout = 0.5, .seed = 1, .return_sequences = true});
                               },
                               {2, 3, 3}},
        testing::LayerGradCase{
            "lstm",
            [] { return std::make_shared<LSTM>(3, RNNOptions{.dropout = 0.3, .recurrent_dropout = 0.4, .seed = 2}); },
            {2, 4, 3}},
        testing::LayerGradCase{"gru",
                               [] {
                                 return std::make_shared<GRU>(
                                     3, RNNOptions{.recurrent_dropout = 0.4, .seed = 3, .return_sequences = true});
                               },
                               {2, 4, 2}}),
    [](const auto& info) { return info.param.name; });

TEST(BidirectionalReturnState, GivesTheOutputThenEachDirectionsStates) {
  const Tensor x = random_tensor({2, 5, 3}, 6);
  Bidirectional bi(LSTM(4, {.return_state = true}));
  const auto out = bi.call_merged(x);
  ASSERT_EQ(out.size(), 5u);  // Keras: [output, forward h, forward c, backward h, backward c]
  const RecurrentResult f = bi.forward_layer()->call(x), b = bi.backward_layer()->call(x);
  EXPECT_TRUE(testing::same_bits(out[0], concat({f.output, b.output}, -1)));
  EXPECT_TRUE(testing::same_bits(out[1], f.states[0]));
  EXPECT_TRUE(testing::same_bits(out[2], f.states[1]));
  EXPECT_TRUE(testing::same_bits(out[3], b.states[0]));
  EXPECT_TRUE(testing::same_bits(out[4], b.states[1]));
  // The final h of the last step is the output of a layer that returns no sequences.
  EXPECT_TRUE(testing::same_bits(out[1], f.output));
  // In a model the layer gives its merged output alone; merge_mode None gives both outputs first.
  EXPECT_EQ(bi(x).shape(), (Shape{2, 8}));
  Bidirectional none(GRU(2, {.return_state = true}), "");
  const auto unmerged = none.call_merged(x);
  ASSERT_EQ(unmerged.size(), 4u);
  EXPECT_EQ(unmerged[1].shape(), (Shape{2, 2}));
}

}  // namespace
}  // namespace kiln
