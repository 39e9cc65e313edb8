// Output parity with PyTorch: layers, activations, losses and optimizers against
// reference values that tests/fixtures/generate_pytorch_fixtures.py computed in
// float64 (layouts already converted to Kiln's: NHWC, Conv2D kernels
// [kh, kw, in, out], Dense kernels [in, out]; Keras semantics where Keras and
// PyTorch differ — see the script).
//
// Layers and activations: the output, and the gradients of sum(output * r) for
// the fixture's r with respect to the input and every weight. Losses: the value
// and its gradient with respect to the predictions. Optimizers: the parameter
// after each step.
//
// float64 must agree to 1e-10; the float32 runs (Kiln's fast oneDNN/GEMM paths)
// of the Dense, Conv2D, Conv2DTranspose, BatchNormalization and pooling cases, against the same float64 references,
// to 1e-4. A missing or unreadable fixture file is a failure: it is committed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
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

const PyTorchFixture kLayerFixture("pytorch_parity.json", "generate_pytorch_fixtures.py");

std::string case_name(const json& c) { return c.at("name").get<std::string>(); }

Size2 size2_of(const json& j) { return Size2(j.at(0).get<std::int64_t>(), j.at(1).get<std::int64_t>()); }

// Builds `layer` for the fixture's input, loads each weight from the fixture key of its name,
// runs forward and backward of sum(y * r), and compares everything.
void check_layer(Layer& layer, const json& c, DType dtype) {
  layer.set_dtype(dtype);
  Tensor x = tensor_of(c.at("x"), dtype);
  x.set_requires_grad();
  layer.build(Shape(x.shape().begin() + 1, x.shape().end()));
  for (const auto& weight : layer.weights()) {
    ASSERT_TRUE(c.contains(weight.name)) << "the fixture has no " << weight.name;
    Tensor value = weight.value;
    value.copy_(tensor_of(c.at(weight.name), dtype));
  }
  const Tensor y = layer(x);
  expect_close(y, c.at("y"), "output", dtype);
  sum(y * tensor_of(c.at("r"), dtype)).backward();
  expect_close(x.grad(), c.at("grad_x"), "gradient of the input", dtype);
  for (const auto& weight : layer.weights()) {
    expect_close(weight.value.grad(), c.at("grad_" + weight.name), "gradient of the " + weight.name, dtype);
  }
}

void check_dense(const json& c, DType dtype) {
  SCOPED_TRACE("dense case " + case_name(c));
  Dense layer(c.at("units").get<std::int64_t>(), DenseOptions{.use_bias = c.at("use_bias").get<bool>()});
  check_layer(layer, c, dtype);
  EXPECT_EQ(layer.weights().size(), c.at("use_bias").get<bool>() ? 2u : 1u);
}

void check_conv2d(const json& c, DType dtype) {
  SCOPED_TRACE("conv2d case " + case_name(c));
  Conv2D layer(c.at("filters").get<std::int64_t>(), size2_of(c.at("kernel_size")),
               Conv2DOptions{.strides = size2_of(c.at("strides")),
                             .padding = c.at("padding").get<std::string>(),
                             .dilation_rate = size2_of(c.at("dilation_rate")),
                             .use_bias = c.at("use_bias").get<bool>()});
  check_layer(layer, c, dtype);
  EXPECT_EQ(layer.weights().size(), c.at("use_bias").get<bool>() ? 2u : 1u);
}

void check_conv2d_transpose(const json& c, DType dtype) {
  SCOPED_TRACE("conv2d_transpose case " + case_name(c));
  Conv2DTranspose layer(c.at("filters").get<std::int64_t>(), size2_of(c.at("kernel_size")),
                        Conv2DTransposeOptions{.strides = size2_of(c.at("strides")),
                                               .padding = c.at("padding").get<std::string>(),
                                               .dilation_rate = size2_of(c.at("dilation_rate")),
                                               .use_bias = c.at("use_bias").get<bool>()});
  check_layer(layer, c, dtype);
  EXPECT_EQ(layer.weights().size(), c.at("use_bias").get<bool>() ? 2u : 1u);
}

// The moving statistics have no gradient, so check_layer's loop does not fit;
// they are compared after the step instead.
void check_batch_norm(const json& c, DType dtype) {
  SCOPED_TRACE("batch_normalization case " + case_name(c));
  BatchNormalization layer(BatchNormalizationOptions{.momentum = c.at("momentum").get<double>(),
                                                     .epsilon = c.at("epsilon").get<double>(),
                                                     .center = c.at("center").get<bool>(),
                                                     .scale = c.at("scale").get<bool>()});
  layer.set_dtype(dtype);
  Tensor x = tensor_of(c.at("x"), dtype);
  x.set_requires_grad();
  layer.build(Shape(x.shape().begin() + 1, x.shape().end()));
  for (const auto& weight : layer.weights()) {
    ASSERT_TRUE(c.contains(weight.name)) << "the fixture has no " << weight.name;
    Tensor value = weight.value;
    value.copy_(tensor_of(c.at(weight.name), dtype));
  }
  const Tensor y = layer(x, c.at("training").get<bool>());
  expect_close(y, c.at("y"), "output", dtype);
  sum(y * tensor_of(c.at("r"), dtype)).backward();
  expect_close(x.grad(), c.at("grad_x"), "gradient of the input", dtype);
  if (c.at("scale").get<bool>()) expect_close(layer.gamma().grad(), c.at("grad_gamma"), "gradient of gamma", dtype);
  if (c.at("center").get<bool>()) expect_close(layer.beta().grad(), c.at("grad_beta"), "gradient of beta", dtype);
  EXPECT_FALSE(layer.moving_mean().grad().defined());
  expect_close(layer.moving_mean(), c.at("moving_mean_after"), "moving_mean after the step", dtype);
  expect_close(layer.moving_variance(), c.at("moving_variance_after"), "moving_variance after the step", dtype);
}

template <typename Pool>
void check_pool(const json& c, DType dtype) {
  SCOPED_TRACE("pooling case " + case_name(c));
  Pool layer(size2_of(c.at("pool_size")),
             Pooling2DOptions{.strides = size2_of(c.at("strides")), .padding = c.at("padding").get<std::string>()});
  check_layer(layer, c, dtype);
}

TEST(PyTorchParity, FixtureIsPresentAndComplete) {
  const json& f = kLayerFixture.json();
  ASSERT_TRUE(f.is_object()) << "cannot read " << kLayerFixture.path()
                             << "; regenerate it with tests/fixtures/generate_pytorch_fixtures.py";
  for (const char* section :
       {"dense", "conv2d", "max_pooling2d", "average_pooling2d", "activations", "losses", "optimizers",
        "conv2d_transpose", "batch_normalization"}) {
    EXPECT_TRUE(f.contains(section) && f[section].is_array() && !f[section].empty()) << section;
  }
}

TEST(PyTorchParity, DenseFloat64) {
  for (const auto& c : kLayerFixture.cases("dense")) check_dense(c, DType::Float64);
}
TEST(PyTorchParity, DenseFloat32) {
  for (const auto& c : kLayerFixture.cases("dense")) check_dense(c, DType::Float32);
}
TEST(PyTorchParity, Conv2DFloat64) {
  for (const auto& c : kLayerFixture.cases("conv2d")) check_conv2d(c, DType::Float64);
}
TEST(PyTorchParity, Conv2DFloat32) {
  for (const auto& c : kLayerFixture.cases("conv2d")) check_conv2d(c, DType::Float32);
}
TEST(PyTorchParity, Conv2DTransposeFloat64) {
  for (const auto& c : kLayerFixture.cases("conv2d_transpose")) check_conv2d_transpose(c, DType::Float64);
}
TEST(PyTorchParity, Conv2DTransposeFloat32) {
  for (const auto& c : kLayerFixture.cases("conv2d_transpose")) check_conv2d_transpose(c, DType::Float32);
}
TEST(PyTorchParity, BatchNormalizationFloat64) {
  for (const auto& c : kLayerFixture.cases("batch_normalization")) check_batch_norm(c, DType::Float64);
}
TEST(PyTorchParity, BatchNormalizationFloat32) {
  for (const auto& c : kLayerFixture.cases("batch_normalization")) check_batch_norm(c, DType::Float32);
}
TEST(PyTorchParity, MaxPooling2DFloat64) {
  for (const auto& c : kLayerFixture.cases("max_pooling2d")) check_pool<MaxPooling2D>(c, DType::Float64);
}
TEST(PyTorchParity, MaxPooling2DFloat32) {
  for (const auto& c : kLayerFixture.cases("max_pooling2d")) check_pool<MaxPooling2D>(c, DType::Float32);
}
TEST(PyTorchParity, AveragePooling2DFloat64) {
  for (const auto& c : kLayerFixture.cases("average_pooling2d")) check_pool<AveragePooling2D>(c, DType::Float64);
}
TEST(PyTorchParity, AveragePooling2DFloat32) {
  for (const auto& c : kLayerFixture.cases("average_pooling2d")) check_pool<AveragePooling2D>(c, DType::Float32);
}

TEST(PyTorchParity, Activations) {
  const DType dtype = DType::Float64;
  for (const auto& c : kLayerFixture.cases("activations")) {
    SCOPED_TRACE("activation case " + case_name(c));
    const std::string fn = c.at("fn").get<std::string>();
    Tensor x = tensor_of(c.at("x"), dtype);
    x.set_requires_grad();
    Tensor y;
    if (fn == "relu") {
      y = relu(x);
    } else if (fn == "sigmoid") {
      y = sigmoid(x);
    } else if (fn == "tanh") {
      y = tanh(x);
    } else if (fn == "leaky_relu") {
      y = leaky_relu(x, 0.3);
    } else if (fn == "softmax") {
      y = softmax(x, -1);
    } else if (fn == "log_softmax") {
      y = log_softmax(x, -1);
    } else {
      ADD_FAILURE() << "unknown activation " << fn;
      continue;
    }
    expect_close(y, c.at("y"), "output", dtype);
    sum(y * tensor_of(c.at("r"), dtype)).backward();
    expect_close(x.grad(), c.at("grad_x"), "gradient of the input", dtype);
  }
}

std::shared_ptr<losses::Loss> make_loss(const std::string& name, bool from_logits) {
  if (name == "mean_squared_error") return std::make_shared<losses::MeanSquaredError>();
  if (name == "binary_crossentropy") return std::make_shared<losses::BinaryCrossentropy>(from_logits);
  if (name == "categorical_crossentropy") return std::make_shared<losses::CategoricalCrossentropy>(from_logits);
  if (name == "sparse_categorical_crossentropy") {
    return std::make_shared<losses::SparseCategoricalCrossentropy>(from_logits);
  }
  return nullptr;
}

Tensor y_true_of(const json& c, DType dtype) {
  return c.at("loss") == "sparse_categorical_crossentropy" ? int64_tensor_of(c.at("y_true"))
                                                           : tensor_of(c.at("y_true"), dtype);
}

void expect_value_close(const Tensor& value, const json& expected, DType dtype) {
  ASSERT_EQ(value.numel(), 1);
  json as_tensor;
  as_tensor["shape"] = json::array({1});
  as_tensor["data"] = json::array({expected.get<double>()});
  expect_close(value.reshape({1}), as_tensor, "value", dtype);
}

TEST(PyTorchParity, Losses) {
  const DType dtype = DType::Float64;
  for (const auto& c : kLayerFixture.cases("losses")) {
    SCOPED_TRACE("loss case " + case_name(c));
    const auto loss = make_loss(c.at("loss").get<std::string>(), c.at("from_logits").get<bool>());
    ASSERT_NE(loss, nullptr) << c.at("loss");
    Tensor y_pred = tensor_of(c.at("y_pred"), dtype);
    y_pred.set_requires_grad();
    const Tensor value = (*loss)(y_true_of(c, dtype), y_pred);
    expect_value_close(value, c.at("value"), dtype);
    value.backward();
    expect_close(y_pred.grad(), c.at("grad_y_pred"), "gradient of y_pred", dtype);
  }
}

// Keras computes a probability loss on a softmax's (sigmoid's) output from the
// logits behind it; the from-logits references must then hold for the logits.
TEST(PyTorchParity, ProbabilityLossesSeeThroughSoftmaxAndSigmoid) {
  const DType dtype = DType::Float64;
  int checked = 0;
  for (const auto& c : kLayerFixture.cases("losses")) {
    if (!c.at("from_logits").get<bool>()) continue;
    SCOPED_TRACE("loss case " + case_name(c) + " through its activation");
    const std::string name = c.at("loss").get<std::string>();
    const auto loss = make_loss(name, /*from_logits=*/false);
    Tensor logits = tensor_of(c.at("y_pred"), dtype);
    logits.set_requires_grad();
    const Tensor probs = name == "binary_crossentropy" ? sigmoid(logits) : softmax(logits, -1);
    const Tensor value = (*loss)(y_true_of(c, dtype), probs);
    expect_value_close(value, c.at("value"), dtype);
    value.backward();
    expect_close(logits.grad(), c.at("grad_y_pred"), "gradient of the logits", dtype);
    ++checked;
  }
  EXPECT_GE(checked, 4);
}

TEST(PyTorchParity, Optimizers) {
  const DType dtype = DType::Float64;
  for (const auto& c : kLayerFixture.cases("optimizers")) {
    SCOPED_TRACE("optimizer case " + case_name(c));
    std::unique_ptr<optim::Optimizer> opt;
    if (c.at("optimizer") == "adam") {
      opt = std::make_unique<optim::Adam>(optim::AdamOptions{.learning_rate = c.at("learning_rate").get<double>(),
                                                             .beta_1 = c.at("beta_1").get<double>(),
                                                             .beta_2 = c.at("beta_2").get<double>(),
                                                             .epsilon = c.at("epsilon").get<double>()});
    } else if (c.at("optimizer") == "sgd") {
      opt = std::make_unique<optim::SGD>(optim::SGDOptions{.learning_rate = c.at("learning_rate").get<double>(),
                                                           .momentum = c.at("momentum").get<double>(),
                                                           .nesterov = c.at("nesterov").get<bool>()});
    } else if (c.at("optimizer") == "rmsprop") {
      opt = std::make_unique<optim::RMSprop>(optim::RMSpropOptions{.learning_rate = c.at("learning_rate").get<double>(),
                                                                   .rho = c.at("rho").get<double>(),
                                                                   .momentum = c.at("momentum").get<double>(),
                                                                   .epsilon = c.at("epsilon").get<double>(),
                                                                   .centered = c.at("centered").get<bool>()});
    } else {
      ADD_FAILURE() << "unknown optimizer " << c.at("optimizer");
      continue;
    }
    Tensor param = tensor_of(c.at("param"), dtype);
    param.set_requires_grad();
    const auto& grads = c.at("grads");
    const auto& expected = c.at("params_after_step");
    ASSERT_EQ(grads.size(), expected.size());
    for (std::size_t step = 0; step < grads.size(); ++step) {
      param.set_grad(tensor_of(grads[step], dtype));
      opt->apply_gradients({param});
      expect_close(param, expected[step], "parameter after step " + std::to_string(step + 1), dtype);
    }
  }
}

}  // namespace
}  // namespace kiln
