// Functional models of two outputs compiled with a loss, a loss weight and metrics per output:
// the total is the hand-computed weighted sum, its gradient that sum's, and the logs carry
// Keras's names ("loss", "<output>_loss", "<output>_accuracy", "val_<output>_accuracy").
#include <gtest/gtest.h>

#include <cmath>

#include "kiln/kiln.hpp"
#include "support/common.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;
using testing::error_of;

// Input [2] -> "digit": Dense(2, softmax) with an identity kernel, and "size": Dense(1), y = x0 + 2 x1 + 0.5.
Model two_output_model() {
  const SymbolicTensor x = Input({2}, "features");
  auto digit = std::make_shared<Dense>(2, DenseOptions{.activation = "softmax", .name = "digit"});
  auto size = std::make_shared<Dense>(1, DenseOptions{.name = "size"});
  Model m({x}, {(*digit)(x), (*size)(x)}, "two_heads");
  digit->set_weights({Tensor::from_vector(std::vector<float>{1, 0, 0, 1}, {2, 2}), Tensor::zeros({2})});
  size->set_weights(
      {Tensor::from_vector(std::vector<float>{1, 2}, {2, 1}), Tensor::from_vector(std::vector<float>{0.5f})});
  return m;
}

const Tensor kTwoX = Tensor::from_vector(std::vector<float>{1, 0, 0, 1, 1, 0, 0, 1}, {4, 2});
const Tensor kDigits = Tensor::from_vector(std::vector<std::int32_t>{0, 0, 0, 1});  // predicted 0 1 0 1
const Tensor kSizes = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {4, 1});  // predicted 1.5 2.5 1.5 2.5
// Cross-entropy of the digits: three right (log(1 + e^-1)) and one wrong (log(1 + e)); the sizes' MSE: 5/4.
const double kDigitLoss = (3 * std::log(1 + std::exp(-1.0)) + std::log(1 + std::exp(1.0))) / 4, kSizeLoss = 1.25;

TEST(MultiOutput, TotalLossIsTheWeightedSumUnderKerasNames) {
  Model m = two_output_model();
  EXPECT_EQ(m.output_names(), (std::vector<std::string>{"digit", "size"}));
  m.compile(optim::SGD(0.0), {.loss = {{"digit", "sparse_categorical_crossentropy"}, {"size", "mse"}},
                              .loss_weights = {{"digit", 1.0}, {"size", 0.5}},
                              .metrics = {{"digit", {"accuracy"}}, {"size", {"mae"}}}});
  const Logs logs = m.evaluate(kTwoX, {{"digit", kDigits}, {"size", kSizes}}, {.batch_size = 3, .verbose = 0});
  EXPECT_NEAR(logs.at("loss"), kDigitLoss + 0.5 * kSizeLoss, 1e-6);
  EXPECT_NEAR(logs.at("digit_loss"), kDigitLoss, 1e-6);  // unweighted, as Keras records it
  EXPECT_NEAR(logs.at("size_loss"), kSizeLoss, 1e-6);
  EXPECT_NEAR(logs.at("digit_accuracy"), 0.75, 1e-12);
  EXPECT_NEAR(logs.at("size_mae"), 1.0, 1e-6);
  EXPECT_EQ(logs.size(), 5u);
  const History h = m.fit(kTwoX, {kDigits, kSizes},
                          {.epochs = 2, .verbose = 0, .validation_data = data::Dataset({kTwoX}, {kDigits, kSizes})});
  std::vector<std::string> keys;
  for (const auto& [k, v] : h.history) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"digit_accuracy", "digit_loss", "learning_rate", "loss", "size_loss",
                                            "size_mae", "val_digit_accuracy", "val_digit_loss", "val_loss",
                                            "val_size_loss", "val_size_mae"}));
  EXPECT_NEAR(h.history.at("val_loss")[1], kDigitLoss + 0.5 * kSizeLoss, 1e-6);
  EXPECT_NEAR(h.history.at("val_digit_accuracy")[1], 0.75, 1e-12);
}

TEST(MultiOutput, GradientIsThatOfTheWeightedSum) {
  // One SGD step on the whole batch moves the weights by -lr * gradient; the same gradient comes
  // from backward() on the weighted sum written out by hand.
  Model trained = two_output_model();
  trained.compile(optim::SGD(0.5), {.loss = {"sparse_categorical_crossentropy", "mse"}, .loss_weights = {2.0, 0.25}});
  const auto before = trained.get_weights();
  trained.fit(kTwoX, {kDigits, kSizes}, {.epochs = 1, .batch_size = 4, .verbose = 0, .shuffle = false});
  const auto after = trained.get_weights();
  Model by_hand = two_output_model();
  const auto outputs = by_hand.call_multi({kTwoX}, true);
  const Tensor total = 2.0 * losses::SparseCategoricalCrossentropy()(kDigits, outputs[0]) +
                       0.25 * losses::MeanSquaredError()(kSizes, outputs[1]);
  total.backward();
  const auto weights = by_hand.trainable_weights();
  ASSERT_EQ(weights.size(), before.size());
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const auto b = before[i].to_vector<double>(), a = after[i].to_vector<double>();
    const auto g = weights[i].grad().to_vector<double>();
    for (std::size_t j = 0; j < g.size(); ++j) EXPECT_NEAR((b[j] - a[j]) / 0.5, g[j], 1e-5) << i << "," << j;
  }
}

TEST(MultiOutput, ListsInOutputOrderAndErrors) {
  Model m = two_output_model();
  m.compile("sgd", {.loss = {"sparse_categorical_crossentropy", "mse"},
                    .metrics = std::vector<MetricArguments>{{"accuracy"}, {}},
                    .weighted_metrics = std::vector<MetricArguments>{{"accuracy"}, {}}});
  const Tensor w = Tensor::from_vector(std::vector<double>{1, 3, 0, 1});
  const Logs logs = m.evaluate(kTwoX, {kDigits, kSizes}, {.verbose = 0, .sample_weight = w});
  EXPECT_NEAR(logs.at("digit_accuracy"), 0.75, 1e-12);
  EXPECT_NEAR(logs.at("digit_weighted_accuracy"), 0.4, 1e-12);                // Keras's name when it clashes
  EXPECT_NEAR(logs.at("size_loss"), (0.25 + 3 * 0.25 + 0 + 2.25) / 4, 1e-6);  // the weights apply to each output
  EXPECT_NEAR(logs.at("loss"), logs.at("digit_loss") + logs.at("size_loss"), 1e-6);
  EXPECT_NE(error_of([&] {
              m.compile("sgd", {.loss = {{"digit", "mse"}, {"height", "mse"}}});
            }).find("loss names output 'height', which the model does not have; its outputs are 'digit', 'size'"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              m.compile("sgd", {.loss = {{"digit", "mse"}}});
            }).find("no entry for output 'size'"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { m.compile("sgd", {.loss = {"mse"}}); }).find("loss lists 1 entries for a model of 2 outputs"),
      std::string::npos);
  EXPECT_NE(error_of([&] { m.fit(kTwoX, kDigits, {.verbose = 0}); }).find("has 2 outputs but the data has 1 targets"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              m.evaluate(kTwoX, {{"digit", kDigits}}, {.verbose = 0});
            }).find("no target for output 'size'"),
            std::string::npos);
  Sequential single;
  single.add(Dense(1, "", {2}));
  EXPECT_NE(error_of([&] { single.compile("sgd", {.loss = {"mse"}}); }).find("need a functional model"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln
