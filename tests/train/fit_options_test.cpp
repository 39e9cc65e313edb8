// fit/evaluate's Keras options: sample_weight, class_weight, weighted_metrics, steps_per_epoch and
// validation_freq, against losses and metrics computed by hand from models with set weights.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "kiln/kiln.hpp"
#include "support/common.hpp"
#include "support/errors.hpp"
#include "support/process.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;
using testing::error_of;

// y = x0 + 2 x1 + 0.5, so predictions are known exactly.
Sequential fit_options_linear_model() {
  Sequential m;
  m.add(Dense(1, "", {2}));
  m.set_weights({Tensor::from_vector(std::vector<float>{1, 2}, {2, 1}), Tensor::from_vector(std::vector<float>{0.5f})});
  return m;
}

// Softmax of the inputs themselves (identity kernel): inputs [1, 0] predict class 0, [0, 1] class 1.
Sequential fit_options_classifier() {
  Sequential m;
  m.add(Dense(2, "softmax", {2}));
  m.set_weights(
      {Tensor::from_vector(std::vector<float>{1, 0, 0, 1}, {2, 2}), Tensor::from_vector(std::vector<float>{0, 0})});
  return m;
}

const Tensor kLinearX = Tensor::from_vector(std::vector<float>{1, 0, 0, 1, 1, 1, 2, -1}, {4, 2});  // -> 1.5 2.5 3.5 0.5
const Tensor kLinearY = Tensor::from_vector(std::vector<float>{1, 2, 3, 4});                     // errors .5 .5 .5 -3.5
const Tensor kClassX = Tensor::from_vector(std::vector<float>{1, 0, 0, 1, 1, 0, 0, 1}, {4, 2});  // predicts 0 1 0 1
const Tensor kClassY = Tensor::from_vector(std::vector<std::int32_t>{0, 0, 0, 1});  // right, wrong, right, right

// -log softmax([1, 0])[0] and -log softmax([1, 0])[1]: a right and a wrong prediction's loss.
const double kRight = std::log(1 + std::exp(-1.0)), kWrong = std::log(1 + std::exp(1.0));

TEST(FitOptions, SampleWeightedLossIsSumOfWeightedLossesOverBatchSize) {
  Sequential m = fit_options_linear_model();
  m.compile("sgd", "mse", {"mse"}, {"mse"});
  const Tensor w = Tensor::from_vector(std::vector<double>{1, 0, 2, 0.5});
  // sum(w e^2) = 0.25 + 0 + 0.5 + 6.125 = 6.875 over 4 samples, whatever the batching.
  for (std::int64_t batch_size : {4, 3, 1}) {
    const Logs logs = m.evaluate(kLinearX, kLinearY, {.batch_size = batch_size, .verbose = 0, .sample_weight = w});
    EXPECT_NEAR(logs.at("loss"), 6.875 / 4, 1e-6) << batch_size;
    EXPECT_NEAR(logs.at("mse"), 13.0 / 4, 1e-6);              // unweighted metric
    EXPECT_NEAR(logs.at("weighted_mse"), 6.875 / 3.5, 1e-6);  // sum(w e^2) / sum(w)
  }
  // Weight 0 drops a sample: its target may be anything.
  const Tensor y_bad = Tensor::from_vector(std::vector<float>{1, 1000, 3, 4});
  EXPECT_NEAR(m.evaluate(kLinearX, y_bad, {.verbose = 0, .sample_weight = w}).at("loss"), 6.875 / 4, 1e-6);
  // Without weights: the plain mean.
  EXPECT_NEAR(m.evaluate(kLinearX, kLinearY, {.verbose = 0}).at("loss"), 13.0 / 4, 1e-6);
}

TEST(FitOptions, WeightedMetricsAndLossForClassification) {
  Sequential m = fit_options_classifier();
  m.compile("sgd", "sparse_categorical_crossentropy", {"accuracy"}, {"accuracy"});
  const Tensor w = Tensor::from_vector(std::vector<double>{1, 3, 0, 1});
  const Logs logs = m.evaluate(kClassX, kClassY, {.batch_size = 2, .verbose = 0, .sample_weight = w});
  EXPECT_NEAR(logs.at("loss"), (kRight + 3 * kWrong + kRight) / 4, 1e-6);
  EXPECT_NEAR(logs.at("accuracy"), 0.75, 1e-12);
  EXPECT_NEAR(logs.at("weighted_accuracy"), 2.0 / 5, 1e-12);
  // A weighted metric with a name of its own keeps it; its order follows the metrics.
  m.compile("sgd", "sparse_categorical_crossentropy", {}, {"accuracy"});
  const Logs only = m.evaluate(kClassX, kClassY, {.verbose = 0, .sample_weight = w});
  EXPECT_NEAR(only.at("accuracy"), 0.4, 1e-12);
  EXPECT_EQ(only.count("weighted_accuracy"), 0u);
  // Top-k is an accuracy and takes weights; precision cannot, and says so once weights come.
  m.compile("sgd", "sparse_categorical_crossentropy", {}, {"top_1_accuracy"});
  EXPECT_NEAR(m.evaluate(kClassX, kClassY, {.verbose = 0, .sample_weight = w}).at("top_1_accuracy"), 0.4, 1e-12);
  m.compile("sgd", "sparse_categorical_crossentropy", {}, {"precision"});
  EXPECT_NE(error_of([&] {
              m.evaluate(kClassX, kClassY, {.verbose = 0, .sample_weight = w});
            }).find("metric \"precision\" cannot weigh its values by sample_weight"),
            std::string::npos);
}

TEST(FitOptions, WeightedLossGradientIsTheWeightedSum) {
  // MSE through the default (one evaluation per distinct weight): d/dp sum(w (p - y)^2) / n = 2 w (p - y) / n.
  const Tensor p = testing::leaf({1.5, 2.5, 3.5, 0.5});
  const Tensor y = Tensor::from_vector(std::vector<double>{1, 2, 3, 4});
  const Tensor w = Tensor::from_vector(std::vector<double>{1, 0, 2, 0.5});
  const Tensor loss = losses::MeanSquaredError().weighted(y, p, w);
  EXPECT_NEAR(loss.item(), 6.875 / 4, 1e-12);
  loss.backward();
  testing::expect_values(p.grad(), {2 * 0.5 / 4, 0, 2 * 2 * 0.5 / 4, 2 * 0.5 * -3.5 / 4}, 1e-12);
  // Categorical cross-entropy of a softmax: the default sees through it on each group's rows,
  // so d/dlogits = w (softmax - t) / n exactly.
  const Tensor logits = testing::leaf({1, 0, 0, 2, 3, 1});
  const Tensor probs = softmax(reshape(logits, {3, 2}));
  const Tensor t = Tensor::from_vector(std::vector<double>{1, 0, 1, 0, 0, 1}, {3, 2});
  const Tensor w3 = Tensor::from_vector(std::vector<double>{2, 1, 0});
  const Tensor cce = losses::CategoricalCrossentropy().weighted(t, probs, w3);
  const double p0 = 1 / (1 + std::exp(-1.0)), p1 = 1 / (1 + std::exp(2.0));  // softmax[0] of rows 0 and 1
  EXPECT_NEAR(cce.item(), (2 * -std::log(p0) + -std::log(p1)) / 3, 1e-12);
  cce.backward();
  testing::expect_values(logits.grad(), {2 * (p0 - 1) / 3, 2 * (1 - p0) / 3, (p1 - 1) / 3, (1 - p1) / 3, 0, 0}, 1e-12);
  // Sparse cross-entropy weighs each row; ignore_class still divides by the labels that count.
  const Tensor sp = softmax(reshape(testing::leaf({1, 0, 0, 2, 3, 1}), {3, 2}));
  const Tensor labels = Tensor::from_vector(std::vector<std::int32_t>{0, 0, 1});
  const double l2 = std::log(1 + std::exp(-2.0));  // -log softmax([3, 1])[1] = 2 + l2
  EXPECT_NEAR(losses::SparseCategoricalCrossentropy().weighted(labels, sp, w3).item(),
              (2 * -std::log(p0) + -std::log(p1)) / 3, 1e-12);
  const Tensor w_last = Tensor::from_vector(std::vector<double>{0, 1, 3});
  EXPECT_NEAR(losses::SparseCategoricalCrossentropy(false, 0).weighted(labels, sp, w_last).item(), 3 * (l2 + 2),
              1e-9);  // only the label-1 row counts: sum(w l) / 1
}

TEST(FitOptions, ClassWeightEqualsDuplicatingTheClassForTheLoss) {
  // class_weight {0: 2}: sum(w l) / n. Duplicating the class-0 samples gives the same sum over n + n0,
  // so one SGD step with the learning rate scaled by (n + n0) / n lands on the same weights.
  Sequential a = fit_options_classifier();
  a.compile(optim::SGD(0.1), "sparse_categorical_crossentropy", {"accuracy"}, {"accuracy"});
  const History h = a.fit(kClassX, kClassY,
                          {.epochs = 1, .batch_size = 4, .verbose = 0, .shuffle = false, .class_weight = {{0, 2.0}}});
  EXPECT_NEAR(h.history.at("loss")[0], (2 * kRight + 2 * kWrong + 2 * kRight + kRight) / 4, 1e-6);
  EXPECT_NEAR(h.history.at("accuracy")[0], 0.75, 1e-12);
  EXPECT_NEAR(h.history.at("weighted_accuracy")[0], 5.0 / 7, 1e-12);  // weights 2 2 2 1, the 2nd wrong
  const Tensor dup_x = Tensor::from_vector(std::vector<float>{1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0}, {7, 2});
  const Tensor dup_y = Tensor::from_vector(std::vector<std::int32_t>{0, 0, 0, 1, 0, 0, 0});
  Sequential b = fit_options_classifier();
  b.compile(optim::SGD(0.1 * 7 / 4), "sparse_categorical_crossentropy");
  const History hb = b.fit(dup_x, dup_y, {.epochs = 1, .batch_size = 7, .verbose = 0, .shuffle = false});
  EXPECT_NEAR(hb.history.at("loss")[0] * 7 / 4, h.history.at("loss")[0], 1e-6);
  const auto wa = a.get_weights(), wb = b.get_weights();
  for (std::size_t i = 0; i < wa.size(); ++i) {
    const auto va = wa[i].to_vector<double>(), vb = wb[i].to_vector<double>();
    for (std::size_t j = 0; j < va.size(); ++j) EXPECT_NEAR(va[j], vb[j], 1e-6) << i << "," << j;
  }
}

TEST(FitOptions, ClassWeightFromOneHotLabelsAndItsErrors) {
  Sequential m = fit_options_classifier();
  m.compile(optim::SGD(0.0), "categorical_crossentropy");
  const Tensor one_hot = Tensor::from_vector(std::vector<float>{1, 0, 1, 0, 1, 0, 0, 1}, {4, 2});
  const History h = m.fit(kClassX, one_hot, {.epochs = 1, .batch_size = 4, .verbose = 0, .class_weight = {{1, 3.0}}});
  EXPECT_NEAR(h.history.at("loss")[0], (kRight + kWrong + kRight + 3 * kRight) / 4, 1e-6);
  EXPECT_NE(error_of([&] {
              m.fit(kClassX, one_hot, {.verbose = 0, .class_weight = {{2, 1.0}}});
            }).find("class_weight has class 2 but the one-hot targets have 2 classes"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              m.fit(kClassX, one_hot, {.verbose = 0, .class_weight = {{-1, 1.0}}});
            }).find("class_weight has class -1"),
            std::string::npos);
  m.compile("sgd", "sparse_categorical_crossentropy");
  const Tensor negative = Tensor::from_vector(std::vector<std::int32_t>{0, -1, 0, 1});
  EXPECT_NE(error_of([&] {
              m.fit(kClassX, negative, {.verbose = 0, .class_weight = {{0, 2.0}}});
            }).find("label -1, which is not a class"),
            std::string::npos);
  const Tensor w = Tensor::from_vector(std::vector<double>{1, 1, 1, 1});
  EXPECT_NE(error_of([&] {
              m.fit(kClassX, kClassY, {.verbose = 0, .sample_weight = w, .class_weight = {{0, 2.0}}});
            }).find("class_weight or sample_weight, not both"),
            std::string::npos);
  const Tensor three = Tensor::from_vector(std::vector<double>{1, 1, 1});
  EXPECT_NE(error_of([&] {
              m.fit(kClassX, kClassY, {.verbose = 0, .sample_weight = three});
            }).find("sample_weight must hold one weight per sample, shape [4], got shape [3]"),
            std::string::npos);
  const Tensor negative_w = Tensor::from_vector(std::vector<double>{1, -1, 1, 1});
  EXPECT_NE(error_of([&] {
              m.evaluate(kClassX, kClassY, {.verbose = 0, .sample_weight = negative_w});
            }).find("sample_weight 1 is -1"),
            std::string::npos);
}

// A model that trains on nothing and records the first input value of every batch it is given.
class FitOptionsRecorder : public Model {
 public:
  Tensor call(const Tensor& x, bool) override { return x; }
  Logs train_step(const data::Batch& batch) override {
    firsts.push_back(batch.x.to_vector<double>()[0]);
    return {{"loss", 0.0}};
  }
  Logs test_step(const data::Batch&) override { return {{"loss", 0.0}}; }
  std::vector<double> firsts;
};

TEST(FitOptions, StepsPerEpochContinuesThePassAndWarnsWhenDataRunsOut) {
  std::vector<float> values(10);
  for (int i = 0; i < 10; ++i) values[i] = float(i);
  const data::Dataset ten(Tensor::from_vector(values, {10, 1}), Tensor::from_vector(values));
  FitOptionsRecorder r;
  ::testing::internal::CaptureStderr();
  r.fit(ten, {.epochs = 3, .batch_size = 2, .verbose = 0, .shuffle = false, .steps_per_epoch = 3});
  const std::string warnings = ::testing::internal::GetCapturedStderr();
  // Epoch 1: batches 0 2 4; epoch 2 continues with 6 8 and runs out; epoch 3 starts a new pass.
  EXPECT_EQ(r.firsts, (std::vector<double>{0, 2, 4, 6, 8, 0, 2, 4}));
  EXPECT_NE(warnings.find("ran out of data after 2 of steps_per_epoch=3 steps in epoch 2"), std::string::npos)
      << warnings;
  // A pipeline that repeats forever trains for steps_per_epoch batches an epoch, without a warning.
  FitOptionsRecorder endless;
  ::testing::internal::CaptureStderr();
  endless.fit(data::Pipeline(ten).batch(4).repeat(), {.epochs = 4, .verbose = 0, .steps_per_epoch = 2});
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(endless.firsts, (std::vector<double>{0, 4, 8, 0, 4, 8, 0, 4}));
  // A finite pipeline: 3 batches a pass, 2 an epoch, so the 2nd epoch runs out after one batch.
  FitOptionsRecorder finite;
  ::testing::internal::CaptureStderr();
  finite.fit(data::Pipeline(ten).batch(4), {.epochs = 3, .verbose = 0, .steps_per_epoch = 2});
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("after 1 of steps_per_epoch=2 steps in epoch 2"),
            std::string::npos);
  EXPECT_EQ(finite.firsts, (std::vector<double>{0, 4, 8, 0, 4}));
  EXPECT_NE(error_of([&] {
              r.fit(ten, {.verbose = 0, .steps_per_epoch = 0});
            }).find("steps_per_epoch must be positive, got 0"),
            std::string::npos);
  EXPECT_NE(error_of([&] { r.fit(data::Pipeline(ten).repeat(), {.verbose = 0}); }).find("give steps_per_epoch"),
            std::string::npos);
}

// Which epochs' logs had validation values.
class FitOptionsValidationSeen : public Callback {
 public:
  void on_epoch_end(Model&, int epoch, const Logs& logs) override {
    if (logs.count("val_loss")) epochs.push_back(epoch);
  }
  std::vector<int> epochs;
};

TEST(FitOptions, ValidationFreqValidatesEveryNthEpoch) {
  Sequential m = fit_options_linear_model();
  m.compile(optim::SGD(0.0), "mse", {"mae"});
  auto seen = std::make_shared<FitOptionsValidationSeen>();
  const History h = m.fit(kLinearX, kLinearY,
                          {.epochs = 5,
                           .verbose = 0,
                           .validation_data = data::Dataset(kLinearX, kLinearY),
                           .callbacks = {seen},
                           .validation_freq = 2});
  EXPECT_EQ(seen->epochs, (std::vector<int>{1, 3}));
  EXPECT_EQ(h.history.at("loss").size(), 5u);
  ASSERT_EQ(h.history.at("val_loss").size(), 2u);  // as Keras's History: only the epochs validated
  EXPECT_EQ(h.history.at("val_mae").size(), 2u);
  EXPECT_NEAR(h.history.at("val_loss")[1], 13.0 / 4, 1e-6);  // learning rate 0: the model never changes
  EXPECT_NE(error_of([&] {
              m.fit(kLinearX, kLinearY, {.verbose = 0, .validation_freq = 0});
            }).find("validation_freq must be at least 1, got 0"),
            std::string::npos);
}

TEST(FitOptions, PipelinesCarrySampleWeightsThroughBatchingAndCaching) {
  testing::TempDir dir;
  Sequential m = fit_options_linear_model();
  m.compile("sgd", "mse");
  const Tensor w = Tensor::from_vector(std::vector<double>{1, 0, 2, 0.5});
  const data::Dataset weighted = data::Dataset(kLinearX, kLinearY).with_sample_weight(w);
  const data::Pipeline cached = data::Pipeline(weighted).batch(3).cache(dir.path() / "weights.cache");
  EXPECT_NEAR(m.evaluate(cached, {.verbose = 0}).at("loss"), 6.875 / 4, 1e-6);  // writes the cache
  EXPECT_NEAR(m.evaluate(cached, {.verbose = 0}).at("loss"), 6.875 / 4, 1e-6);  // reads it back
  const auto examples = data::Pipeline(weighted).collect();
  ASSERT_EQ(examples.size(), 4u);
  EXPECT_EQ(examples[2].sample_weight.ndim(), 0);
  EXPECT_EQ(examples[2].sample_weight.item(), 2.0);
  EXPECT_NE(error_of([&] {
              m.fit(data::Pipeline(weighted), {.verbose = 0, .sample_weight = w});
            }).find("sample_weight applies to in-memory data"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln
