// Optimizers follow Keras's update rules exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "kiln/kiln.hpp"

namespace kiln {
namespace {

Tensor param(std::vector<double> v) { return Tensor::from_vector(v).set_requires_grad(); }

TEST(Optimizer, AdamMatchesKerasFormulaOverSeveralSteps) {
  Tensor p = param({1.0, -2.0});
  optim::Adam adam(optim::AdamOptions{.learning_rate = 0.1});
  const std::vector<std::vector<double>> grads = {{0.5, -1.0}, {0.25, 2.0}, {-1.0, 0.0}};
  double m[2] = {0, 0}, v[2] = {0, 0}, expected[2] = {1.0, -2.0};
  for (std::size_t t = 1; t <= grads.size(); ++t) {
    p.set_grad(Tensor::from_vector(grads[t - 1]));
    adam.apply_gradients({p});
    const double lr_t = 0.1 * std::sqrt(1 - std::pow(0.999, t)) / (1 - std::pow(0.9, t));
    for (int i = 0; i < 2; ++i) {
      const double g = grads[t - 1][i];
      m[i] = 0.9 * m[i] + 0.1 * g;
      v[i] = 0.999 * v[i] + 0.001 * g * g;
      expected[i] -= lr_t * m[i] / (std::sqrt(v[i]) + 1e-7);
    }
  }
  const auto got = p.to_vector<double>();
  EXPECT_NEAR(got[0], expected[0], 1e-12);
  EXPECT_NEAR(got[1], expected[1], 1e-12);
  EXPECT_EQ(adam.iterations(), 3);
  EXPECT_FALSE(p.grad().defined()) << "apply_gradients consumes the gradients";
}

TEST(Optimizer, SgdPlainMomentumAndNesterov) {
  Tensor a = param({1.0}), b = param({1.0}), c = param({1.0});
  optim::SGD plain(0.1);
  optim::SGD momentum(optim::SGDOptions{.learning_rate = 0.1, .momentum = 0.9});
  optim::SGD nesterov(optim::SGDOptions{.learning_rate = 0.1, .momentum = 0.9, .nesterov = true});
  for (int step = 0; step < 2; ++step) {
    for (Tensor* t : {&a, &b, &c}) t->set_grad(Tensor::from_vector<double>({1.0}));
    plain.apply_gradients({a});
    momentum.apply_gradients({b});
    nesterov.apply_gradients({c});
  }
  EXPECT_NEAR(a.item(), 0.8, 1e-12);
  // velocity: -0.1, then -0.19; p = 1 - 0.1 - 0.19
  EXPECT_NEAR(b.item(), 0.71, 1e-12);
  // p += 0.9 v - 0.1 g: 1 + (-0.09 - 0.1) + (-0.171 - 0.1)
  EXPECT_NEAR(c.item(), 1 - 0.19 - 0.271, 1e-12);
}

// Keras 3's arguments and defaults; the update rule is checked against
// tests/fixtures/pytorch_parity.json (PyTorchParity.Optimizers).
TEST(Optimizer, RMSpropConfigAndSlotsFollowItsSettings) {
  optim::RMSprop plain;
  const nlohmann::json config = plain.get_config();
  const nlohmann::json expected = {
      {"learning_rate", 0.001}, {"rho", 0.9}, {"momentum", 0.0}, {"epsilon", 1e-7}, {"centered", false}};
  for (const auto& [key, value] : expected.items()) EXPECT_EQ(config.at(key), value) << key;
  EXPECT_EQ(plain.slot_names(), (std::vector<std::string>{"rms"}));
  optim::RMSprop full(optim::RMSpropOptions{.learning_rate = 0.01, .rho = 0.8, .momentum = 0.5, .centered = true});
  EXPECT_EQ(full.slot_names(), (std::vector<std::string>{"rms", "momentum", "average_gradient"}));
  const auto rebuilt = optim::from_config("RMSprop", full.get_config());
  EXPECT_EQ(rebuilt->get_config(), full.get_config());
  EXPECT_EQ(rebuilt->slot_names(), full.slot_names());
  Tensor p = param({1.0, 2.0});
  p.set_grad(Tensor::from_vector<double>({0.5, -0.5}));
  full.apply_gradients({p});
  EXPECT_EQ(full.slots().at(p.impl()).values.size(), 3u);
  // One centered step with momentum: v = 0.2 g^2, a = 0.2 g, m = increment = lr g / sqrt(v - a^2 + eps).
  const double v = 0.2 * 0.25, a = 0.2 * 0.5, increment = 0.01 * 0.5 / std::sqrt(v - a * a + 1e-7);
  EXPECT_NEAR(p.to_vector<double>()[0], 1.0 - increment, 1e-15);
  EXPECT_NEAR(p.to_vector<double>()[1], 2.0 + increment, 1e-15);
  EXPECT_THROW(optim::RMSprop(optim::RMSpropOptions{.rho = 1.0}), Error);
  EXPECT_THROW(optim::RMSprop(optim::RMSpropOptions{.momentum = -0.1}), Error);
  EXPECT_THROW(optim::RMSprop(optim::RMSpropOptions{.epsilon = -1.0}), Error);
}

TEST(Optimizer, ApplyingWithoutAnyGradientIsAnError) {
  Tensor p = param({1.0});
  optim::Adam adam;
  EXPECT_THROW(adam.apply_gradients({p}), Error);
}

TEST(Optimizer, InvalidSettingsAreRejected) {
  EXPECT_THROW(optim::Adam(std::nan("")), Error);
  EXPECT_THROW(optim::SGD(-1.0), Error);
  EXPECT_THROW(optim::Adam(optim::AdamOptions{.beta_1 = 1.0}), Error);
  EXPECT_THROW(optim::get("adamw2"), Error);
}

TEST(Optimizer, LinearRegressionConvergesWithGradientDescent) {
  // The article's walk-through: y = wx + b fit by gradient descent on MSE.
  Tensor x = Tensor::from_vector<double>({0, 1, 2, 3, 4}, {5, 1});
  Tensor y = x * 2.0 + 1.0;
  Tensor w = param({0.0}).reshape({1, 1}).detach().set_requires_grad();
  Tensor b = param({0.0});
  optim::SGD sgd(0.05);
  losses::MeanSquaredError mse;
  for (int i = 0; i < 2000; ++i) {
    mse(y, linear(x, w, b)).backward();
    sgd.apply_gradients({w, b});
  }
  EXPECT_NEAR(w.item(), 2.0, 1e-6);
  EXPECT_NEAR(b.item(), 1.0, 1e-6);
}

}  // namespace
}  // namespace kiln
