// The float32 fast paths of the sequence ops (vectorised gate kernels with
// their approximate exp, oneDNN GEMMs, rows split over threads) against the
// float64 reference path on the same inputs: outputs and every gradient.
// Sizes are large enough for several threads and whole SIMD vectors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "kiln/kiln.hpp"

namespace kiln {
namespace {

struct FastCase {
  std::string name;
  std::vector<Shape> shapes;  // the float inputs, all differentiated
  std::function<Tensor(const std::vector<Tensor>&)> fn;
};

void PrintTo(const FastCase& c, std::ostream* os) { *os << c.name; }

std::vector<Tensor> inputs(const FastCase& c, DType dtype) {
  Generator gen(17);
  std::vector<Tensor> out;
  for (const Shape& s : c.shapes) {
    Tensor t = Tensor::empty(s, DType::Float64);
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = gen.uniform(-1, 1);
    out.push_back(t.to(dtype).set_requires_grad());
  }
  return out;
}

// A mask [B, T] with masked steps at the start, middle and end of rows.
Tensor mask(std::int64_t B, std::int64_t T) {
  Tensor m = Tensor::empty({B, T}, DType::UInt8);
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t t = 0; t < T; ++t) m.data<std::uint8_t>()[b * T + t] = (b * 7 + t * 3) % 5 != 0;
  }
  return m;
}

Tensor all_outputs(const RecurrentResult& r) {
  std::vector<Tensor> parts{reshape(r.output, {-1})};
  for (const Tensor& s : r.states) parts.push_back(reshape(s, {-1}));
  return concat(parts, 0);
}

std::vector<FastCase> fast_cases() {
  using V = const std::vector<Tensor>&;
  const std::int64_t B = 16, T = 12, I = 20, H = 48;
  return {
      {"lstm", {{B, T, I}, {I, 4 * H}, {H, 4 * H}, {4 * H}, {B, H}, {B, H}},
       [=](V x) {
         return all_outputs(lstm(x[0], x[1], x[2], x[3], {x[4], x[5]}, mask(B, T),
                                 {.return_sequences = true, .return_state = true}));
       }},
      {"lstm_last_backwards", {{B, T, I}, {I, 4 * H}, {H, 4 * H}, {4 * H}},
       [](V x) { return lstm(x[0], x[1], x[2], x[3], {}, Tensor(), {.go_backwards = true}).output; }},
      {"gru", {{B, T, I}, {I, 3 * H}, {H, 3 * H}, {2, 3 * H}, {B, H}},
       [=](V x) {
         return all_outputs(gru(x[0], x[1], x[2], x[3], {x[4]}, mask(B, T),
                                {.return_sequences = true, .return_state = true, .zero_output_for_mask = true}));
       }},
      {"simple_rnn", {{B, T, I}, {I, H}, {H, H}, {H}},
       // Scaled weights keep the tanh recurrence contracting: with weights of order one it is
       // chaotic, and any rounding difference (float against double) grows step by step.
       [=](V x) {
         return simple_rnn(x[0], x[1] * 0.3, x[2] * 0.2, x[3], {}, mask(B, T), {.return_sequences = true}).output;
       }},
      {"attention_causal_padding", {{4, 20, 3, 16}, {4, 20, 3, 16}, {4, 20, 3, 8}},
       [](V x) {
         Tensor keep = Tensor::ones({4, 1, 20}, DType::UInt8);
         for (int j = 15; j < 20; ++j) keep.data<std::uint8_t>()[2 * 20 + j] = 0;
         return scaled_dot_product_attention(x[0], x[1], x[2], {.mask = keep, .causal = true}).output;
       }},
      {"layer_norm", {{64, 96}, {96}, {96}}, [](V x) { return layer_norm(x[0] * 3.0 + 1.0, x[1], x[2], 1e-5); }},
      {"batched_matmul", {{6, 33, 40}, {6, 50, 40}}, [](V x) { return batched_matmul(x[0], x[1], false, true); }},
  };
}

class SequenceFastPath : public ::testing::TestWithParam<FastCase> {};

TEST_P(SequenceFastPath, MatchesTheFloat64Reference) {
  const FastCase& c = GetParam();
  std::vector<std::vector<double>> results[2];  // [dtype][output, gradients...]
  int k = 0;
  for (DType dtype : {DType::Float32, DType::Float64}) {
    auto x = inputs(c, dtype);
    const Tensor y = c.fn(x);
    Generator gen(23);
    Tensor r = Tensor::empty(y.shape(), DType::Float64);
    for (std::int64_t i = 0; i < r.numel(); ++i) r.data<double>()[i] = gen.uniform(-1, 1);
    sum(y * r.to(dtype)).backward();
    results[k].push_back(y.to_vector<double>());
    for (const Tensor& t : x) {
      ASSERT_TRUE(t.grad().defined()) << c.name;
      results[k].push_back(t.grad().to_vector<double>());
    }
    ++k;
  }
  for (std::size_t i = 0; i < results[0].size(); ++i) {
    const auto& fast = results[0][i];
    const auto& ref = results[1][i];
    double scale = 0;
    for (double v : ref) scale = std::max(scale, std::abs(v));
    double worst = 0;
    for (std::size_t j = 0; j < ref.size(); ++j) worst = std::max(worst, std::abs(fast[j] - ref[j]));
    EXPECT_LE(worst, 2e-5 * (1 + scale)) << c.name << (i == 0 ? " output" : " gradient of input " + std::to_string(i - 1))
                                         << " (largest reference value " << scale << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(Kernels, SequenceFastPath, ::testing::ValuesIn(fast_cases()),
                         [](const auto& info) { return info.param.name; });

// A fixed thread count gives bit-identical results, run after run.
TEST(SequenceDeterminism, RepeatedRunsAreBitIdentical) {
  const FastCase c = fast_cases()[0];
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    auto x = inputs(c, DType::Float32);
    const Tensor y = c.fn(x);
    sum(y * y).backward();
    std::vector<float> all = y.to_vector<float>();
    for (const Tensor& t : x) {
      const auto g = t.grad().to_vector<float>();
      all.insert(all.end(), g.begin(), g.end());
    }
    if (run == 0) first = all;
    else EXPECT_EQ(all, first);
  }
}

}  // namespace
}  // namespace kiln
