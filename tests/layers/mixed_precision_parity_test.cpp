// Kiln's mixed_bfloat16 policy against PyTorch's CPU autocast to bfloat16, on the
// article's CNN and on an LSTM (16 inputs, 32 units, 12 steps) followed by Dense(10):
// logits, loss, and the gradients of the loss with respect to the input and every
// weight (tests/fixtures/generate_mixed_precision_fixtures.py).
//
// The two frameworks round differently (autocast also rounds every activation and
// gradient between layers to bf16; Kiln keeps those float32), so they are not compared
// element by element. Against the float64 results of the same fixture, each tensor's
// relative error ||got - exact|| / ||exact|| must be
//   * small for Kiln in float32 (1e-4: the model, layouts and weights are the same), and
//   * for Kiln in bf16, no larger than 1.5 x autocast's own plus 2^-8 (bf16's unit
//     roundoff, for tensors where autocast happens to err less than one rounding), yet
//     above 2^-14 (float32 would stay near 1e-6: the products really were bf16).
// The gradients err by up to ~15% under autocast: with random weights and labels they
// are sums of many cancelling terms, and a ReLU whose input is near zero may switch.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "kiln/kiln.hpp"
#include "kiln/mixed_precision.hpp"
#include "support/parity.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;

const testing::PyTorchFixture kMixedPrecisionFixture("pytorch_mixed_precision.json",
                                                     "generate_mixed_precision_fixtures.py");

// The fixture's formula for inputs and weights (see the generator): exact in float32.
Tensor mp_fixture_tensor(const nlohmann::json& spec) {
  const Shape shape = spec.at("shape").get<Shape>();
  Tensor t = Tensor::empty(shape);
  const auto seed = spec.at("seed").get<std::uint64_t>();
  const auto scale = spec.at("scale").get<float>();
  const bool offset = spec.contains("offset");
  float* out = t.data<float>();
  for (std::int64_t i = 0; i < t.numel(); ++i) {
    std::uint64_t h = (static_cast<std::uint64_t>(i) + 1) * 0x9E3779B97F4A7C15ull + seed * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    h *= 0x94D049BB133111EBull;
    h ^= h >> 29;
    const float u = static_cast<float>(h >> 40) / 16777216.0f;
    const float v = scale * (2.0f * u - 1.0f);
    out[i] = offset ? v * 0.5f + 0.5f : v;
  }
  return t;
}

// ||sample(got) - expected|| / ||exact||, with got sampled at the fixture's stride.
double mp_relative_error(const Tensor& got, const nlohmann::json& expected, const nlohmann::json& exact) {
  EXPECT_EQ(got.shape(), expected.at("shape").get<Shape>());
  const Tensor g = got.to(DType::Float64).contiguous();
  const auto stride = expected.at("stride").get<std::int64_t>();
  const auto& e = expected.at("data");
  const auto& x = exact.at("data");
  double diff = 0, norm = 0;
  for (std::size_t j = 0; j < e.size(); ++j) {
    const double a = g.data<double>()[static_cast<std::int64_t>(j) * stride];
    diff += (a - e[j].get<double>()) * (a - e[j].get<double>());
    norm += x[j].get<double>() * x[j].get<double>();
  }
  return std::sqrt(diff / norm);
}

// Autocast's own error: its values against float64's.
double mp_fixture_error(const nlohmann::json& autocast, const nlohmann::json& exact) {
  const auto& a = autocast.at("data");
  const auto& e = exact.at("data");
  double diff = 0, norm = 0;
  for (std::size_t j = 0; j < a.size(); ++j) {
    const double d = a[j].get<double>() - e[j].get<double>();
    diff += d * d;
    norm += e[j].get<double>() * e[j].get<double>();
  }
  return std::sqrt(diff / norm);
}

struct MpResults {
  Tensor logits, loss, grad_x;
  std::vector<std::pair<std::string, Tensor>> grads;  // "conv2d/kernel", ...
};

// The fixture's model (the article's CNN, or the LSTM) with its weights, under `policy`, and
// one backward pass.
MpResults mp_run_model(const nlohmann::json& c, const char* policy, bool lstm) {
  Sequential model;
  std::vector<std::pair<std::string, int>> named;  // fixture name of each layer with weights, its index
  std::vector<std::vector<std::string>> weight_names;
  if (lstm) {
    model.add(LSTM(32, RNNOptions{.input_shape = {12, 16}}));
    model.add(Dense(10));
    named = {{"lstm", 0}, {"dense", 1}};
    weight_names = {{"kernel", "recurrent_kernel", "bias"}, {"kernel", "bias"}};
  } else {
    model.add(Conv2D(32, {3, 3}, "relu", {32, 32, 3}));
    model.add(MaxPooling2D({2, 2}));
    model.add(Conv2D(64, {3, 3}, "relu"));
    model.add(MaxPooling2D({2, 2}));
    model.add(Conv2D(64, {3, 3}, "relu"));
    model.add(Flatten());
    model.add(Dense(64, "relu"));
    model.add(Dense(10));
    named = {{"conv2d", 0}, {"conv2d_1", 2}, {"conv2d_2", 4}, {"dense", 6}, {"dense_1", 7}};
    weight_names.assign(named.size(), {"kernel", "bias"});
  }
  for (const auto& layer : model.layers()) layer->set_dtype_policy(policy);
  const auto& w = c.at("weights");
  for (std::size_t l = 0; l < named.size(); ++l) {
    std::vector<Tensor> values;
    for (const auto& weight : weight_names[l]) values.push_back(mp_fixture_tensor(w.at(named[l].first + "/" + weight)));
    model.layers()[named[l].second]->set_weights(values);
  }
  Tensor x = mp_fixture_tensor(c.at("x"));
  x.set_requires_grad(true);
  const Tensor labels = Tensor::from_vector<std::int64_t>(c.at("labels").get<std::vector<std::int64_t>>());
  MpResults r;
  r.logits = model(x, true);
  r.loss = mean(sparse_softmax_cross_entropy(r.logits, labels));
  r.loss.backward();
  r.grad_x = x.grad();
  for (std::size_t l = 0; l < named.size(); ++l) {
    const auto weights = model.layers()[named[l].second]->trainable_weights();
    for (std::size_t k = 0; k < weights.size(); ++k) {
      r.grads.emplace_back(named[l].first + "/" + weight_names[l][k], weights[k].grad());
    }
  }
  return r;
}

void mp_expect_like_autocast(const char* section) {
  if (!mixed_precision::native_bf16()) GTEST_SKIP() << "no native bf16 on this CPU";
  const auto cases = kMixedPrecisionFixture.cases(section);
  ASSERT_FALSE(cases.empty());
  const nlohmann::json& c = cases[0];
  const auto& autocast = c.at("autocast");
  const auto& exact = c.at("float64");
  const bool lstm = std::string(section) == "lstm";
  const MpResults bf16 = mp_run_model(c, "mixed_bfloat16", lstm), f32 = mp_run_model(c, "float32", lstm);

  auto check = [&](const std::string& what, const Tensor& got_bf16, const Tensor& got_f32) {
    const std::string key = what == "logits" || what == "grad_x" ? what : "grad_" + what;
    const double kiln_error = mp_relative_error(got_bf16, exact.at(key), exact.at(key));
    const double torch_error = mp_fixture_error(autocast.at(key), exact.at(key));
    EXPECT_LT(mp_relative_error(got_f32, exact.at(key), exact.at(key)), 1e-4) << what << " in float32";
    EXPECT_LE(kiln_error, 1.5 * torch_error + std::ldexp(1.0, -8)) << what << ": autocast errs by " << torch_error;
    EXPECT_GT(kiln_error, std::ldexp(1.0, -14)) << what << " looks computed in float32";
    std::printf("  %-22s relative error: Kiln bf16 %.2e, PyTorch autocast %.2e\n", what.c_str(), kiln_error,
                torch_error);
  };
  check("logits", bf16.logits, f32.logits);
  check("grad_x", bf16.grad_x, f32.grad_x);
  for (std::size_t i = 0; i < bf16.grads.size(); ++i)
    check(bf16.grads[i].first, bf16.grads[i].second, f32.grads[i].second);
  const double loss = exact.at("loss").get<double>();
  EXPECT_NEAR(f32.loss.item(), loss, 1e-5);
  EXPECT_LE(std::abs(bf16.loss.item() - loss),
            1.5 * std::abs(autocast.at("loss").get<double>() - loss) + std::ldexp(std::abs(loss), -8));
}

TEST(MixedPrecisionParity, ArticleCnnAgainstPyTorchAutocast) { mp_expect_like_autocast("cnn"); }

TEST(MixedPrecisionParity, LstmAgainstPyTorchAutocast) { mp_expect_like_autocast("lstm"); }

}  // namespace
}  // namespace kiln
