// Regularizers and constraints: penalties and constrained weights by hand, their
// gradients by finite differences, Keras's config keys on Dense and Conv2D, and fit()
// adding the penalties to the loss it minimises and reports and applying constraints
// after each step.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "support/errors.hpp"
#include "support/gradcheck.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;
using nlohmann::json;
using testing::error_of;

Tensor matrix(std::vector<double> v, Shape s) { return Tensor::from_vector(v, s); }

TEST(Regularizers, PenaltiesByHandAndTheirGradients) {
  const Tensor x = matrix({1, -2, 0.5, -0.25}, {2, 2});
  EXPECT_NEAR(regularizers::L1(0.1)(x).item(), 0.1 * 3.75, 1e-15);
  EXPECT_NEAR(regularizers::L2(0.1)(x).item(), 0.1 * (1 + 4 + 0.25 + 0.0625), 1e-15);
  EXPECT_NEAR(regularizers::L1L2(0.1, 0.2)(x).item(), 0.1 * 3.75 + 0.2 * 5.3125, 1e-15);
  EXPECT_NEAR(regularizers::L2()(x).item(), 0.01 * 5.3125, 1e-15) << "Keras's default l2 is 0.01";
  Tensor w = x.clone().set_requires_grad();
  testing::expect_gradients_match("l1l2", [&] { return regularizers::L1L2(0.3, 0.7)(w); }, {w});
  EXPECT_NE(error_of([] { regularizers::L2(-1.0); }).find("L2: l2 must be"), std::string::npos);
  EXPECT_NE(error_of([] { regularizers::get("l3"); }).find("l1, l2 or l1l2"), std::string::npos);
}

TEST(Constraints, ConstrainedWeightsByHand) {
  // Columns (3, 4) with norm 5 and (0, 1) with norm 1.
  const Tensor w = matrix({3, 0, 4, 1}, {2, 2});
  const auto max_norm = constraints::MaxNorm(2.0)(w).to_vector<double>();
  const double shrink = 2 / (5 + 1e-7), keep = 1 / (1 + 1e-7);
  EXPECT_NEAR(max_norm[0], 3 * shrink, 1e-15);
  EXPECT_NEAR(max_norm[2], 4 * shrink, 1e-15);
  EXPECT_NEAR(max_norm[3], 1 * keep, 1e-15);
  const auto unit = constraints::UnitNorm()(w).to_vector<double>();
  EXPECT_NEAR(unit[0], 3 / (5 + 1e-7), 1e-15);
  EXPECT_NEAR(unit[3], 1 / (1 + 1e-7), 1e-15);
  // rate 0.5 towards [2, 3]: column 0 norm 5 -> 4, column 1 norm 1 -> 1.5.
  const auto minmax = constraints::MinMaxNorm(2.0, 3.0, 0.5)(w).to_vector<double>();
  EXPECT_NEAR(minmax[0], 3 * 4 / (5 + 1e-7), 1e-15);
  EXPECT_NEAR(minmax[3], 1.5 / (1 + 1e-7), 1e-15);
  // axis 1: the rows' norms instead (3 and sqrt(17)).
  EXPECT_NEAR(constraints::MaxNorm(2.0, {1})(w).to_vector<double>()[0], 3 * 2 / (3 + 1e-7), 1e-15);
  const auto non_neg = constraints::NonNeg()(matrix({-1, 2, 0, -3}, {2, 2})).to_vector<double>();
  EXPECT_EQ(non_neg, (std::vector<double>{0, 2, 0, 0}));
  EXPECT_NE(error_of([] {
              constraints::MaxNorm(2.0, {2})(Tensor::zeros({2, 2}));
            }).find("MaxNorm: axis 2"),
            std::string::npos);
  EXPECT_NE(error_of([] { constraints::MinMaxNorm(2.0, 1.0); }).find("min_value"), std::string::npos);
}

TEST(Regularizers, DenseAndConv2DConfigsUseKerasKeysAndRoundTrip) {
  Dense dense(3, DenseOptions{.kernel_regularizer = regularizers::L2(0.02),
                              .bias_regularizer = "l1",
                              .activity_regularizer = regularizers::L1L2(0.1, 0.2),
                              .kernel_constraint = constraints::MaxNorm(3.0),
                              .bias_constraint = "non_neg"});
  const json c = dense.get_config();
  EXPECT_EQ(c.at("kernel_regularizer"), json({{"class_name", "L2"}, {"config", {{"l2", 0.02}}}}));
  EXPECT_EQ(c.at("bias_regularizer"), json({{"class_name", "L1"}, {"config", {{"l1", 0.01}}}}));
  EXPECT_EQ(c.at("kernel_constraint"),
            json({{"class_name", "MaxNorm"}, {"config", {{"max_value", 3.0}, {"axis", 0}}}}));
  EXPECT_EQ(layer_from_config("Dense", c)->get_config(), c);
  EXPECT_TRUE(Dense(2).get_config().at("kernel_regularizer").is_null());
  Conv2D conv(4, 3,
              Conv2DOptions{.kernel_regularizer = regularizers::L1(0.5),
                            .kernel_constraint = constraints::UnitNorm({0, 1, 2})});
  const json cc = conv.get_config();
  EXPECT_EQ(cc.at("kernel_constraint").at("config").at("axis"), json({0, 1, 2}));
  EXPECT_EQ(layer_from_config("Conv2D", cc)->get_config(), cc);
  // Keras's own spelling loads too.
  json keras = Dense(2).get_config();
  keras["kernel_regularizer"] = {{"module", "keras.regularizers"},
                                 {"class_name", "L1L2"},
                                 {"config", {{"l1", 0.0}, {"l2", 0.5}}},
                                 {"registered_name", nullptr}};
  EXPECT_EQ(layer_from_config("Dense", keras)->get_config().at("kernel_regularizer").at("config").at("l2"), 0.5);
}

TEST(Regularizers, DensePenaltiesCoverKernelBiasAndTheLastOutput) {
  Dense dense(2, DenseOptions{.kernel_regularizer = regularizers::L2(0.5),
                              .bias_regularizer = regularizers::L1(0.25),
                              .activity_regularizer = regularizers::L1(0.1)});
  dense.set_dtype(DType::Float64);
  dense.build({2});
  dense.set_weights({matrix({1, 2, 3, 4}, {2, 2}), matrix({-1, 1}, {2})});
  EXPECT_EQ(dense.regularization_losses().size(), 2u) << "no activity before a call";
  dense(matrix({1, 0, 0, 1}, {2, 2}));  // outputs (0, 3) and (2, 5)
  const auto penalties = dense.regularization_losses();
  ASSERT_EQ(penalties.size(), 3u);
  EXPECT_NEAR(penalties[0].item(), 0.5 * 30, 1e-12);
  EXPECT_NEAR(penalties[1].item(), 0.25 * 2, 1e-12);
  EXPECT_NEAR(penalties[2].item(), 0.1 * 10 / 2, 1e-12) << "Keras divides the activity penalty by the batch size";
}

TEST(Regularizers, FitMinimisesAndReportsTheLossWithPenalties) {
  // Inputs of zeros and targets of zeros: the data loss and its gradient are 0, so each SGD
  // step is the L2 penalty's alone, w -= lr * 2 * l2 * w, and the loss reported is l2 * w^2.
  Sequential model;
  model.add(
      Dense(1, DenseOptions{.use_bias = false, .kernel_regularizer = regularizers::L2(0.25), .input_shape = {1}}));
  model.build({1});
  model.trainable_weights()[0].fill_(2.0);
  model.compile(optim::SGD(0.1), "mse");
  const Tensor x = Tensor::zeros({4, 1}), y = Tensor::zeros({4, 1});
  const auto history = model.fit(x, y, {.epochs = 2, .batch_size = 4, .verbose = 0, .shuffle = false});
  EXPECT_NEAR(history.history.at("loss")[0], 0.25 * 4, 1e-6);
  EXPECT_NEAR(history.history.at("loss")[1], 0.25 * 1.9 * 1.9, 1e-6);
  EXPECT_NEAR(model.trainable_weights()[0].item(), 2.0 * 0.95 * 0.95, 1e-6);
  EXPECT_NEAR(model.evaluate(x, y, {.verbose = 0})["loss"], 0.25 * 1.805 * 1.805, 1e-6);
}

TEST(Constraints, FitAppliesThemAfterEachStep) {
  manual_seed(2);
  Sequential model;
  model.add(Dense(3, DenseOptions{.kernel_constraint = constraints::NonNeg(),
                                  .bias_constraint = constraints::MaxNorm(0.01),
                                  .input_shape = {2}}));
  model.compile(optim::SGD(1.0), "mse");
  const Tensor x = matrix({1, -1, -2, 1}, {2, 2}).to(DType::Float32);
  const Tensor y = matrix({-5, 5, -5, 5, -5, 5}, {2, 3}).to(DType::Float32);
  model.fit(x, y, {.epochs = 3, .batch_size = 2, .verbose = 0});
  for (float v : model.trainable_weights()[0].to_vector<float>()) EXPECT_GE(v, 0.0f);
  const auto b = model.trainable_weights()[1].to_vector<float>();
  double norm = 0;
  for (float v : b) norm += double(v) * v;
  EXPECT_LE(std::sqrt(norm), 0.01 + 1e-6);
}

TEST(Regularizers, ConvActivityPenaltyIsNotLostToTheConvPoolFusion) {
  Sequential model;
  model.add(Conv2D(
      2, 3,
      Conv2DOptions{.activation = "relu", .activity_regularizer = regularizers::L1(1.0), .input_shape = {6, 6, 1}}));
  model.add(MaxPooling2D(2));
  const Tensor x = Tensor::ones({1, 6, 6, 1});
  const Tensor out = model.predict(x);
  const auto penalties = model.get_layer(0)->regularization_losses();
  ASSERT_EQ(penalties.size(), 1u);
  // The penalty is the L1 norm of the convolution's own output, not of the pooled one.
  const Tensor conv_out = (*model.get_layer(0))(x);
  EXPECT_NEAR(penalties[0].item(), sum(abs(conv_out)).item(), 1e-4);
  EXPECT_EQ(out.shape(), (Shape{1, 2, 2, 2}));
}

}  // namespace
}  // namespace kiln
