// Keras 3's optimizers and losses against tests/fixtures/keras_parity.json, written by
// tests/fixtures/generate_keras_fixtures.py from torch.optim / torch.nn where PyTorch has
// Keras's rule, and from numpy reimplementations of Keras's formulas where it does not
// (the script says which, case by case). float64 must agree to 1e-12 relative.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/kiln.hpp"

namespace kiln {
namespace {

using nlohmann::json;

const std::string kFixturePath = std::string(KILN_TEST_FIXTURES) + "/keras_parity.json";

const json& keras_fixture() {
  static const json parsed = [] {
    std::ifstream in(kFixturePath);
    if (!in) return json();
    return json::parse(in, nullptr, /*allow_exceptions=*/false);
  }();
  return parsed;
}

std::vector<json> keras_cases(const std::string& section) {
  const json& f = keras_fixture();
  if (!f.is_object() || !f.contains(section) || !f[section].is_array() || f[section].empty()) {
    ADD_FAILURE() << "cannot read the \"" << section << "\" cases of " << kFixturePath
                  << "; regenerate it with tests/fixtures/generate_keras_fixtures.py";
    return {};
  }
  return f[section].get<std::vector<json>>();
}

Tensor keras_tensor_of(const json& j) {
  return Tensor::from_vector<double>(j.at("data").get<std::vector<double>>(), j.at("shape").get<Shape>());
}

void expect_near_keras(const Tensor& actual, const json& expected, const std::string& what, double tol = 1e-12) {
  ASSERT_EQ(actual.shape(), expected.at("shape").get<Shape>()) << what;
  const auto a = actual.to_vector<double>();
  const auto e = expected.at("data").get<std::vector<double>>();
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_LE(std::abs(a[i] - e[i]), tol * (1 + std::abs(e[i])))
        << what << " [" << i << "]: " << a[i] << " vs " << e[i];
  }
}

TEST(KerasParity, Optimizers) {
  for (const auto& c : keras_cases("optimizers")) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name + " (expected values from " + c.at("source").get<std::string>() + ")");
    auto opt = optim::from_config(c.at("optimizer").get<std::string>(), c.at("settings"));
    Tensor param = keras_tensor_of(c.at("param")).set_requires_grad();
    const auto& grads = c.at("grads");
    const auto& expected = c.at("params_after_step");
    ASSERT_EQ(grads.size(), expected.size());
    for (std::size_t step = 0; step < grads.size(); ++step) {
      param.set_grad(keras_tensor_of(grads[step]));
      opt->apply_gradients({param});
      expect_near_keras(param, expected[step], "parameter after step " + std::to_string(step + 1));
    }
  }
}

TEST(KerasParity, LossesAndTheirGradients) {
  for (const auto& c : keras_cases("losses")) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name + " (expected values from " + c.at("source").get<std::string>() + ")");
    const auto loss = losses::from_config(c.at("loss").get<std::string>(), c.at("config"));
    EXPECT_EQ(loss->name(), c.at("loss").get<std::string>());
    Tensor y_pred = keras_tensor_of(c.at("y_pred")).set_requires_grad();
    Tensor value = (*loss)(keras_tensor_of(c.at("y_true")), y_pred);
    const double expected = c.at("loss_value").get<double>();
    EXPECT_NEAR(value.item(), expected, 1e-12 * (1 + std::abs(expected)));
    value.backward();
    expect_near_keras(y_pred.grad(), c.at("grad"), "d loss / d y_pred");
  }
}

// Activation names as layers take them (Dense(..., "gelu"), Activation("mish")), and the
// ops with arguments; the gradient is that of sum(y * r).
TEST(KerasParity, Activations) {
  for (const auto& c : keras_cases("activations")) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name + " (expected values from " + c.at("source").get<std::string>() + ")");
    const json& params = c.at("params");
    Tensor x = keras_tensor_of(c.at("x")).set_requires_grad();
    Tensor y;
    if (name == "gelu_tanh") {
      y = gelu(x, /*approximate=*/true);
    } else if (name == "elu_alpha") {
      y = elu(x, params.at("alpha").get<double>());
    } else if (name == "relu_arguments") {
      y = relu(x, params.at("negative_slope").get<double>(), params.at("max_value").get<double>(),
               params.at("threshold").get<double>());
    } else {
      layers::Activation layer(name);
      layer.set_dtype(DType::Float64);
      y = layer(x, /*training=*/true);
    }
    expect_near_keras(y, c.at("y"), "output");
    sum(y * keras_tensor_of(c.at("r"))).backward();
    expect_near_keras(x.grad(), c.at("grad"), "d sum(y r) / dx");
  }
}

TEST(KerasParity, PReLUSharingSlopesAcrossImageAxes) {
  for (const auto& c : keras_cases("prelu")) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const Tensor x0 = keras_tensor_of(c.at("x"));
    layers::PReLU layer(layers::PReLUOptions{.shared_axes = c.at("shared_axes").get<std::vector<int>>()});
    layer.set_dtype(DType::Float64);
    layer.build(Shape(x0.shape().begin() + 1, x0.shape().end()));
    layer.set_weights({keras_tensor_of(c.at("alpha"))});
    Tensor x = x0.clone().set_requires_grad();
    const Tensor y = layer(x, /*training=*/true);
    expect_near_keras(y, c.at("y"), "output");
    sum(y * keras_tensor_of(c.at("r"))).backward();
    expect_near_keras(x.grad(), c.at("grad_x"), "d/dx");
    expect_near_keras(layer.alpha().grad(), c.at("grad_alpha"), "d/d alpha");
  }
}

}  // namespace
}  // namespace kiln
