// Losses: values by hand, gradients by finite differences (float64).
#include <gtest/gtest.h>

#include <cmath>

#include "support/gradcheck.hpp"

namespace kiln {
namespace {

Tensor probs(std::vector<double> v, Shape s) { return Tensor::from_vector(v, s); }

TEST(Loss, SparseCategoricalFromProbabilities) {
  losses::SparseCategoricalCrossentropy loss;
  Tensor p = probs({0.25, 0.75, 0.5, 0.5}, {2, 2});
  Tensor labels = Tensor::from_vector<std::uint8_t>({1, 0});
  EXPECT_NEAR(loss(labels, p).item(), -(std::log(0.75) + std::log(0.5)) / 2, 1e-12);
}

TEST(Loss, SparseCategoricalSeesThroughSoftmaxForStability) {
  // Logits so large that softmax underflows to exactly 0 for the true class:
  // the clipped formula gives -log(1e-7) = 16.1; the fused one the exact 1000.
  Tensor logits = Tensor::from_vector<double>({0.0, 1000.0}, {1, 2}).set_requires_grad();
  Tensor label = Tensor::from_vector<std::int32_t>({0});
  losses::SparseCategoricalCrossentropy loss;
  Tensor value = loss(label, softmax(logits));
  EXPECT_NEAR(value.item(), 1000.0, 1e-9);
  value.backward();
  const auto g = logits.grad().to_vector<double>();
  EXPECT_NEAR(g[0], -1.0, 1e-12);
  EXPECT_NEAR(g[1], 1.0, 1e-12);
}

TEST(Loss, CategoricalAndBinaryByHand) {
  losses::CategoricalCrossentropy cce;
  EXPECT_NEAR(cce(probs({0, 1, 1, 0}, {2, 2}), probs({0.2, 0.8, 0.6, 0.4}, {2, 2})).item(),
              -(std::log(0.8) + std::log(0.6)) / 2, 1e-12);
  losses::BinaryCrossentropy bce;
  EXPECT_NEAR(bce(probs({1, 0}, {2, 1}), probs({0.9, 0.2}, {2, 1})).item(), -(std::log(0.9) + std::log(0.8)) / 2,
              1e-6);
  losses::BinaryCrossentropy bce_logits(true);
  EXPECT_NEAR(bce_logits(probs({1}, {1, 1}), probs({0.0}, {1, 1})).item(), std::log(2.0), 1e-12);
  losses::MeanSquaredError mse;
  EXPECT_NEAR(mse(probs({1, 2}, {2}), probs({2, 4}, {2, 1})).item(), 2.5, 1e-12);
}

TEST(Loss, LabelOutOfRangeIsAnErrorNamingIt) {
  losses::SparseCategoricalCrossentropy loss(true);
  try {
    loss(Tensor::from_vector<std::int32_t>({1, 7}), Tensor::zeros({2, 5}));
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("label 7"), std::string::npos) << e.what();
  }
}

TEST(Loss, MismatchedBatchIsAnError) {
  losses::MeanSquaredError mse;
  EXPECT_THROW(mse(Tensor::zeros({3}), Tensor::zeros({2, 1})), Error);
}

// The logits travel with the probabilities a softmax/sigmoid returns, so the
// exact loss does not depend on a graph being recorded (evaluate, val_loss).
TEST(Loss, ThroughSoftmaxAndSigmoidUnderNoGradIsExact) {
  NoGradGuard no_grad;
  const Tensor label = Tensor::from_vector<std::int32_t>({0});
  const Tensor p = softmax(Tensor::from_vector<double>({0.0, 1000.0}, {1, 2}));
  EXPECT_NEAR(losses::SparseCategoricalCrossentropy()(label, p).item(), 1000.0, 1e-9);
  EXPECT_NEAR(losses::CategoricalCrossentropy()(probs({1, 0}, {1, 2}), p).item(), 1000.0, 1e-9);
  const Tensor q = sigmoid(probs({-40.0}, {1, 1}));
  EXPECT_NEAR(losses::BinaryCrossentropy()(probs({1}, {1, 1}), q).item(), 40.0, 1e-9);
}

TEST(Loss, ProbabilitiesWrittenOverOrComputedFromHaveNoLogits) {
  const Tensor label = Tensor::from_vector<std::int32_t>({0});
  losses::SparseCategoricalCrossentropy loss;
  Tensor p = softmax(Tensor::from_vector<double>({0.0, 1000.0}, {1, 2}));
  // A product of probabilities is only probabilities: clipped, as in Keras.
  EXPECT_NEAR(loss(label, p * 1.0).item(), -std::log(1e-7), 1e-6);
  // After an in-place write the logits no longer describe the values.
  p.copy_(probs({0.5, 0.5}, {1, 2}));
  EXPECT_NEAR(loss(label, p).item(), std::log(2.0), 1e-12);
}

// A model sure of wrong answers: the exact loss is 20 (softmax) or 15 (sigmoid)
// nats a sample on average, the clipped probabilities' formula about half that.
struct ConsistencyCase {
  std::string name;
  std::int64_t units;
  std::string activation;
  std::vector<float> kernel;  // [3, units]
  std::function<std::shared_ptr<losses::Loss>()> loss;
  std::function<Tensor()> targets;
  double exact;
  double kernel_grad00;  // (p - t) / 4 summed over the samples with x[:, 0] = 1
};

void PrintTo(const ConsistencyCase& c, std::ostream* os) { *os << c.name; }

class TrainingAndEvaluationLoss : public ::testing::TestWithParam<ConsistencyCase> {};

TEST_P(TrainingAndEvaluationLoss, AreTheSameNumberOnTheSameBatch) {
  const auto& c = GetParam();
  const Tensor x = Tensor::from_vector<float>({1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 1}, {4, 3});
  const Tensor y = c.targets();
  Sequential model;
  model.add(layers::Dense(c.units, c.activation, {3}));
  model.build({3});
  auto weights = model.trainable_weights();
  weights[0].copy_(Tensor::from_vector(c.kernel, {3, c.units}));
  weights[1].fill_(0.0);
  // A learning rate of 0 keeps the weights, so every number below scores the same model.
  model.compile(std::make_shared<optim::SGD>(0.0), c.loss());

  // train_step's computation: grad mode, the loss's backward through the logits.
  Tensor y_pred = model(x, /*training=*/true);
  Tensor value = (*c.loss())(y, y_pred);
  const double in_training = value.item();
  value.backward();
  EXPECT_NEAR(in_training, c.exact, 1e-4);
  // Clipped probabilities would pass no gradient back; the logits pass p - t.
  EXPECT_NEAR(weights[0].grad().to_vector<float>()[0], c.kernel_grad00, 1e-6);
  optim::Optimizer::zero_grad(weights);

  const History h = model.fit(
      x, y, {.epochs = 1, .batch_size = 4, .verbose = 0, .validation_data = data::Dataset(x, y), .shuffle = false});
  const double evaluated = model.evaluate(x, y, {.batch_size = 4, .verbose = 0}).at("loss");
  EXPECT_NEAR(h.history.at("loss")[0], in_training, 1e-6 * c.exact);
  EXPECT_NEAR(evaluated, in_training, 1e-6 * c.exact);
  EXPECT_NEAR(h.history.at("val_loss")[0], evaluated, 1e-6 * c.exact);
}

INSTANTIATE_TEST_SUITE_P(
    Losses, TrainingAndEvaluationLoss,
    ::testing::Values(
        ConsistencyCase{"sparse_softmax", 2, "softmax", {20, -20, -20, 20, 0, 0},
                        [] { return std::make_shared<losses::SparseCategoricalCrossentropy>(); },
                        [] { return Tensor::from_vector<std::int32_t>({1, 1, 1, 1}); }, 20.0, 0.5},
        ConsistencyCase{"categorical_softmax", 2, "softmax", {20, -20, -20, 20, 0, 0},
                        [] { return std::make_shared<losses::CategoricalCrossentropy>(); },
                        [] { return Tensor::from_vector<float>({0, 1, 0, 1, 0, 1, 0, 1}, {4, 2}); }, 20.0, 0.5},
        ConsistencyCase{"binary_sigmoid", 1, "sigmoid", {30, -30, 0},
                        [] { return std::make_shared<losses::BinaryCrossentropy>(); },
                        [] { return Tensor::from_vector<float>({0, 1, 1, 0}, {4, 1}); }, 15.0, 0.25}));

struct LossCase {
  std::string name;
  std::function<Tensor(const Tensor& pred)> fn;
  Shape shape;
  double low, high;
};

void PrintTo(const LossCase& c, std::ostream* os) { *os << c.name; }

class LossGradient : public ::testing::TestWithParam<LossCase> {};

TEST_P(LossGradient, MatchesFiniteDifferences) {
  const auto& c = GetParam();
  testing::expect_gradients_match({c.name, {c.shape}, [&](const std::vector<Tensor>& x) { return c.fn(x[0]); },
                                   c.low, c.high});
}

Tensor sparse_labels() { return Tensor::from_vector<std::int64_t>({2, 0, 1}); }
Tensor one_hot() { return probs({0, 0, 1, 1, 0, 0, 0, 1, 0}, {3, 3}); }
Tensor binary_targets() { return probs({1, 0, 0, 1, 1, 0}, {3, 2}); }

INSTANTIATE_TEST_SUITE_P(
    Losses, LossGradient,
    ::testing::Values(
        LossCase{"mse", [](const Tensor& p) { return losses::MeanSquaredError()(one_hot(), p); }, {3, 3}, -1, 1},
        LossCase{"sparse_from_logits",
                 [](const Tensor& p) { return losses::SparseCategoricalCrossentropy(true)(sparse_labels(), p); },
                 {3, 3}, -2, 2},
        LossCase{"sparse_through_softmax",
                 [](const Tensor& p) { return losses::SparseCategoricalCrossentropy()(sparse_labels(), softmax(p)); },
                 {3, 3}, -2, 2},
        LossCase{"sparse_from_probabilities",
                 [](const Tensor& p) { return losses::SparseCategoricalCrossentropy()(sparse_labels(), p); },
                 {3, 3}, 0.1, 0.9},
        LossCase{"categorical_from_logits",
                 [](const Tensor& p) { return losses::CategoricalCrossentropy(true)(one_hot(), p); }, {3, 3}, -2, 2},
        LossCase{"categorical_from_probabilities",
                 [](const Tensor& p) { return losses::CategoricalCrossentropy()(one_hot(), p); }, {3, 3}, 0.1, 0.9},
        LossCase{"binary_from_logits",
                 [](const Tensor& p) { return losses::BinaryCrossentropy(true)(binary_targets(), p); }, {3, 2}, -3, 3},
        LossCase{"binary_through_sigmoid",
                 [](const Tensor& p) { return losses::BinaryCrossentropy()(binary_targets(), sigmoid(p)); },
                 {3, 2}, -3, 3},
        LossCase{"binary_from_probabilities",
                 [](const Tensor& p) { return losses::BinaryCrossentropy()(binary_targets(), p); }, {3, 2}, 0.1,
                 0.9}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace kiln
