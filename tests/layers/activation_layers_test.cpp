// ReLU, ELU, Softmax and PReLU layers, and the activation names layers take: values by
// hand, configs as Keras's, errors naming the layer, PReLU's gradients by finite
// differences. Agreement with torch.nn.functional is in KerasParity.Activations.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "support/errors.hpp"
#include "support/gradcheck.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;
using testing::error_of;

Tensor row(std::vector<double> v) { return Tensor::from_vector(v, {1, static_cast<std::int64_t>(v.size())}); }

void expect_activation_values(const Tensor& t, std::vector<double> expected, double tol = 1e-15) {
  const auto got = t.to_vector<double>();
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], tol) << "element " << i;
}

TEST(ActivationLayers, ReLUWithKerasArguments) {
  ReLU plain;
  plain.set_dtype(DType::Float64);
  expect_activation_values(plain(row({-1, 0, 2})), {0, 0, 2});
  ReLU full(1.5, 0.1, 0.5);
  full.set_dtype(DType::Float64);
  // 0.1 (x - 0.5) at or below 0.5, x up to 1.5, then 1.5.
  expect_activation_values(full(row({-1, 0.5, 1, 3})), {-0.15, 0, 1, 1.5});
  ReLU six(6.0);
  six.set_dtype(DType::Float64);
  expect_activation_values(six(row({-1, 3, 9})), {0, 3, 6});
  EXPECT_NE(error_of([] { ReLU(-1.0); }).find("max_value cannot be negative, got -1"), std::string::npos);
  EXPECT_NE(error_of([] { ReLU(std::nullopt, -0.5); }).find("negative_slope"), std::string::npos);
  EXPECT_NE(error_of([] { ReLU(std::nullopt, 0.0, -2.0); }).find("threshold"), std::string::npos);
}

TEST(ActivationLayers, ELUAndSoftmax) {
  ELU elu_layer(0.5);
  elu_layer.set_dtype(DType::Float64);
  expect_activation_values(elu_layer(row({-2, 0, 3})), {0.5 * std::expm1(-2.0), 0, 3});
  Softmax over_rows(1);
  over_rows.set_dtype(DType::Float64);
  const Tensor x = Tensor::from_vector<double>({0, std::log(3.0), 0, 0}, {1, 2, 2});
  // axis 1 of [1, 2, 2]: down the columns (0, 0) and (log 3, 0).
  expect_activation_values(over_rows(x), {1 / 2.0, 3 / 4.0, 1 / 2.0, 1 / 4.0}, 1e-15);
  EXPECT_NE(error_of([] { Softmax(0); }).find("axis 0 is the batch"), std::string::npos);
  Softmax far(3);
  EXPECT_NE(error_of([&] { far(Tensor::zeros({2, 4})); }).find("axis 3"), std::string::npos);
}

TEST(ActivationLayers, ConfigsRoundTripWithKerasKeys) {
  const std::vector<std::shared_ptr<Layer>> all = {
      std::make_shared<ReLU>(6.0, 0.2, 0.1), std::make_shared<ReLU>(), std::make_shared<ELU>(0.3),
      std::make_shared<Softmax>(-2),
      std::make_shared<PReLU>(PReLUOptions{.alpha_initializer = Initializer::constant(0.25), .shared_axes = {1, 2}})};
  for (const auto& layer : all) {
    const auto config = layer->get_config();
    const auto rebuilt = layer_from_config(layer->type(), config);
    EXPECT_EQ(rebuilt->get_config(), config) << layer->type();
  }
  EXPECT_TRUE(ReLU().get_config().at("max_value").is_null());
  EXPECT_EQ(ReLU(6.0).get_config().at("negative_slope"), 0.0);
  EXPECT_EQ(PReLU().get_config().at("shared_axes"), nullptr);
}

TEST(ActivationLayers, PReLUSlopesShareAlongTheGivenAxes) {
  PReLU prelu(PReLUOptions{.alpha_initializer = Initializer::constant(0.25), .shared_axes = {1, 2}});
  prelu.set_dtype(DType::Float64);
  prelu.build({2, 3, 4});
  ASSERT_EQ(prelu.alpha().shape(), (Shape{1, 1, 4}));
  const Tensor y = prelu(Tensor::full({1, 2, 3, 4}, -2.0, DType::Float64));
  for (double v : y.to_vector<double>()) EXPECT_DOUBLE_EQ(v, -0.5);
  PReLU bad(PReLUOptions{.shared_axes = {4}});
  EXPECT_NE(error_of([&] { bad.build({2, 3}); }).find("shared axis 4"), std::string::npos);
  EXPECT_NE(error_of([] { PReLU(PReLUOptions{.shared_axes = {0}}); }).find("shared_axes"), std::string::npos);
}

TEST(ActivationLayers, PReLUGradientsMatchFiniteDifferences) {
  PReLU prelu(PReLUOptions{.alpha_initializer = Initializer::random_uniform(0.0, 0.5), .shared_axes = {2}});
  prelu.set_dtype(DType::Float64);
  prelu.build({3, 4});
  Tensor x = Tensor::from_vector<double>({0.3, -0.7, 1.2,  -0.1, 0.5, -1.5, 0.8,  -0.4, -0.9, 0.6,  0.2,   -0.3,
                                          1.1, -0.2, -0.6, 0.4,  0.9, -1.1, 0.05, 0.7,  -0.8, 0.35, -0.45, 1.3},
                                         {2, 3, 4})
                 .set_requires_grad();
  const Tensor r = Tensor::from_vector<double>(
      {1, -2, 0.5, 3, -1, 2, 0.25, -0.5, 1.5, 1, -3, 2, 0.1, 0.2, -0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9, 1.0, 1.1, -1.2},
      {2, 3, 4});
  testing::expect_gradients_match("prelu", [&] { return sum(prelu(x, true) * r); }, {x, prelu.alpha()});
}

TEST(ActivationLayers, EveryKerasActivationNameWorksInLayers) {
  for (const char* name : {"gelu", "silu", "swish", "elu", "selu", "softplus", "softsign", "hard_sigmoid", "hard_silu",
                           "hard_swish", "relu6", "mish", "exponential", "log_softmax"}) {
    Dense dense(3, name, {2});
    const Tensor y = dense(Tensor::ones({4, 2}));
    EXPECT_EQ(y.shape(), (Shape{4, 3})) << name;
    const auto rebuilt = layer_from_config("Dense", dense.get_config());
    EXPECT_EQ(rebuilt->get_config().at("activation"), name);
  }
  EXPECT_NE(error_of([] { Activation("gelu_fast"); }).find("unknown activation \"gelu_fast\""), std::string::npos);
  // Keras 3's hard_sigmoid is relu6(x + 3) / 6, not Keras 2's 0.2 x + 0.5.
  expect_activation_values(Activation("hard_sigmoid")(row({-4, 1.5, 4})), {0, 0.75, 1});
}

}  // namespace
}  // namespace kiln
