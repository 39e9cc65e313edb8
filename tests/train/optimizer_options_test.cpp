// Keras's common optimizer options (weight decay, gradient clipping, weight moving
// averages), learning-rate schedules as the rate, the new optimizers' settings, and
// their state in model files. Values by hand; the update rules themselves are checked
// against tests/fixtures/keras_parity.json (KerasParity.Optimizers).
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "kiln/kiln.hpp"
#include "kiln/saving.hpp"
#include "support/errors.hpp"
#include "support/process.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::same_bits;

using nlohmann::json;
using testing::error_of;

Tensor weight_param(std::vector<double> v) { return Tensor::from_vector(v).set_requires_grad(); }
Tensor grad(std::vector<double> v) { return Tensor::from_vector(v); }

void expect_weights(const Tensor& t, std::vector<double> expected, double tol = 1e-14) {
  const auto got = t.to_vector<double>();
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], tol) << "element " << i;
}

TEST(OptimizerOptions, WeightDecayShrinksTheWeightByRateTimesDecayBeforeTheUpdate) {
  Tensor p = weight_param({2.0, -4.0});
  optim::SGD sgd(optim::SGDOptions{.learning_rate = 0.1, .weight_decay = 0.5});
  sgd.apply_gradients({grad({1.0, 0.0})}, {p});
  // p - p * 0.5 * 0.1, then - 0.1 g
  expect_weights(p, {2.0 - 0.1 - 0.1, -4.0 + 0.2});
}

TEST(OptimizerOptions, ClipnormRescalesEachGradientOnItsOwn) {
  Tensor a = weight_param({0.0, 0.0}), b = weight_param({0.0, 0.0});
  const Tensor ga = grad({3.0, 4.0}), gb = grad({0.3, 0.4});
  optim::SGD sgd(optim::SGDOptions{.learning_rate = 1.0, .clipnorm = 1.0});
  sgd.apply_gradients({ga, gb}, {a, b});
  expect_weights(a, {-0.6, -0.8});  // norm 5 -> 1
  expect_weights(b, {-0.3, -0.4});  // norm 0.5, under the limit
  expect_weights(ga, {3.0, 4.0});   // the caller's gradients are left alone
}

TEST(OptimizerOptions, GlobalClipnormRescalesAllGradientsTogether) {
  Tensor a = weight_param({0.0, 0.0}), b = weight_param({0.0});
  optim::SGD sgd(optim::SGDOptions{.learning_rate = 1.0, .global_clipnorm = 2.6});
  sgd.apply_gradients({grad({3.0, 4.0}), grad({12.0})}, {a, b});
  // global norm sqrt(9 + 16 + 144) = 13, scale 2.6 / 13 = 0.2
  expect_weights(a, {-0.6, -0.8});
  expect_weights(b, {-2.4});
}

TEST(OptimizerOptions, ClipvalueClipsEachElement) {
  Tensor p = weight_param({0.0, 0.0, 0.0});
  optim::SGD sgd(optim::SGDOptions{.learning_rate = 1.0, .clipvalue = 0.5});
  sgd.apply_gradients({grad({-2.0, 0.3, 1.0})}, {p});
  expect_weights(p, {0.5, -0.3, -0.5});
}

TEST(OptimizerOptions, BadCommonOptionsAreErrorsNamingTheArgument) {
  EXPECT_NE(error_of([] {
              optim::Adam(optim::AdamOptions{.clipnorm = 1.0, .global_clipnorm = 1.0});
            }).find("only one of clipnorm and global_clipnorm"),
            std::string::npos);
  EXPECT_NE(error_of([] { optim::SGD(optim::SGDOptions{.clipvalue = -1.0}); }).find("clipvalue must be"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              optim::SGD(optim::SGDOptions{.use_ema = true, .ema_momentum = 1.5});
            }).find("ema_momentum must be in the range [0, 1], got 1.5"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              optim::SGD(optim::SGDOptions{.use_ema = true, .ema_overwrite_frequency = 0});
            }).find("ema_overwrite_frequency"),
            std::string::npos);
  EXPECT_NE(error_of([] { optim::SGD(optim::SGDOptions{.weight_decay = -0.1}); }).find("weight_decay"),
            std::string::npos);
  EXPECT_NE(error_of([] { optim::AdamW(optim::AdamWOptions{.weight_decay = std::nullopt}); }).find("AdamW"),
            std::string::npos);
  EXPECT_NE(error_of([] { optim::Lion(optim::LionOptions{.beta_1 = 0.0}); }).find("Lion: beta_1"), std::string::npos);
  EXPECT_NE(error_of([] {
              optim::Adagrad(optim::AdagradOptions{.initial_accumulator_value = -1});
            }).find("initial_accumulator_value"),
            std::string::npos);
}

TEST(OptimizerOptions, MovingAverageStartsAtTheFirstUpdateAndIsSwappedInWhenAsked) {
  Tensor p = weight_param({1.0});
  optim::SGD sgd(optim::SGDOptions{.learning_rate = 0.1, .use_ema = true, .ema_momentum = 0.5});
  EXPECT_EQ(sgd.slot_names(), (std::vector<std::string>{"average"}));
  const std::vector<double> averages = {0.9, 0.5 * 0.9 + 0.5 * 0.8, 0.5 * 0.85 + 0.5 * 0.7};
  for (int step = 0; step < 3; ++step) {
    sgd.apply_gradients({grad({1.0})}, {p});
    EXPECT_NEAR(p.item(), 1.0 - 0.1 * (step + 1), 1e-15) << "the weights themselves follow SGD";
    EXPECT_NEAR(sgd.slots().at(p.impl()).values.back().item(), averages[step], 1e-15) << "step " << step + 1;
  }
  sgd.finalize_variable_values({p});
  EXPECT_NEAR(p.item(), 0.775, 1e-15);
}

TEST(OptimizerOptions, MovingAverageOverwritesTheWeightsAtItsFrequency) {
  Tensor p = weight_param({1.0});
  optim::SGD sgd(
      optim::SGDOptions{.learning_rate = 0.1, .use_ema = true, .ema_momentum = 0.5, .ema_overwrite_frequency = 2});
  sgd.apply_gradients({grad({1.0})}, {p});
  EXPECT_NEAR(p.item(), 0.9, 1e-15);
  sgd.apply_gradients({grad({1.0})}, {p});
  EXPECT_NEAR(p.item(), 0.85, 1e-15) << "step 2: p = 0.8, its average 0.85 replaces it";
  sgd.apply_gradients({grad({1.0})}, {p});
  EXPECT_NEAR(p.item(), 0.75, 1e-15);
  EXPECT_NEAR(sgd.slots().at(p.impl()).values.back().item(), 0.5 * 0.85 + 0.5 * 0.75, 1e-15);
}

TEST(OptimizerOptions, AScheduleGivesEachStepItsRate) {
  Tensor p = weight_param({0.0});
  optim::SGD sgd(optim::schedules::ExponentialDecay(1.0, 1, 0.5));
  EXPECT_DOUBLE_EQ(sgd.learning_rate(), 1.0);
  for (int step = 0; step < 3; ++step) sgd.apply_gradients({grad({1.0})}, {p});
  EXPECT_NEAR(p.item(), -(1.0 + 0.5 + 0.25), 1e-15);
  EXPECT_DOUBLE_EQ(sgd.learning_rate(), 0.125) << "the rate of the next step";
  EXPECT_NE(error_of([&] { sgd.set_learning_rate(0.1); }).find("ExponentialDecay schedule"), std::string::npos);
  // Weight decay uses the step's scheduled rate too.
  Tensor q = weight_param({1.0});
  optim::SGD decaying(optim::SGDOptions{.learning_rate = optim::schedules::PiecewiseConstantDecay({0}, {1.0, 0.5}),
                                        .weight_decay = 0.1});
  decaying.apply_gradients({grad({0.0})}, {q});
  decaying.apply_gradients({grad({0.0})}, {q});
  EXPECT_NEAR(q.item(), (1 - 0.1) * (1 - 0.05), 1e-15);
}

TEST(OptimizerOptions, ConfigsHaveKerasKeysAndRebuildEveryOptimizer) {
  const json adam = optim::Adam().get_config();
  for (const char* key : {"learning_rate", "beta_1", "beta_2", "epsilon", "weight_decay", "clipnorm", "global_clipnorm",
                          "clipvalue", "use_ema", "ema_momentum", "ema_overwrite_frequency"}) {
    EXPECT_TRUE(adam.contains(key)) << key;
  }
  EXPECT_TRUE(adam.at("weight_decay").is_null());
  EXPECT_EQ(adam.at("ema_momentum"), 0.99);
  EXPECT_EQ(optim::AdamW().get_config().at("weight_decay"), 0.004);
  EXPECT_EQ(optim::Adagrad().get_config().at("initial_accumulator_value"), 0.1);
  EXPECT_EQ(optim::Lion().get_config().at("beta_2"), 0.99);
  const std::vector<std::shared_ptr<optim::Optimizer>> all = {
      std::make_shared<optim::SGD>(optim::SGDOptions{.momentum = 0.9, .nesterov = true, .clipvalue = 0.5}),
      std::make_shared<optim::Adam>(
          optim::AdamOptions{.learning_rate = optim::schedules::CosineDecay(1e-3, 100, 0.1, 1e-2, 10)}),
      std::make_shared<optim::AdamW>(optim::AdamWOptions{.weight_decay = 0.01, .global_clipnorm = 1.0}),
      std::make_shared<optim::Nadam>(optim::NadamOptions{.beta_1 = 0.8, .use_ema = true, .ema_overwrite_frequency = 3}),
      std::make_shared<optim::Adagrad>(
          optim::AdagradOptions{.learning_rate = optim::schedules::InverseTimeDecay(0.1, 10, 0.5, true)}),
      std::make_shared<optim::Adamax>(optim::AdamaxOptions{.epsilon = 1e-6, .clipnorm = 2.0}),
      std::make_shared<optim::Lion>(optim::LionOptions{.beta_1 = 0.95, .weight_decay = 0.1}),
      std::make_shared<optim::RMSprop>(optim::RMSpropOptions{.momentum = 0.5, .ema_momentum = 0.9})};
  for (const auto& opt : all) {
    SCOPED_TRACE(opt->name());
    const auto rebuilt = optim::from_config(opt->name(), opt->get_config());
    EXPECT_EQ(rebuilt->name(), opt->name());
    EXPECT_EQ(rebuilt->get_config(), opt->get_config());
    EXPECT_EQ(rebuilt->slot_names(), opt->slot_names());
    std::string lower = opt->name();
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    EXPECT_EQ(optim::get(lower)->name(), opt->name());
  }
  EXPECT_EQ(all[1]->get_config().at("learning_rate").at("class_name"), "CosineDecay");
  EXPECT_EQ(all[3]->slot_names(), (std::vector<std::string>{"m", "v", "average"}));
  EXPECT_NE(error_of([] {
              optim::from_config("Adam", {{"learning_rate", {{"class_name", "Nope"}}}});
            }).find("Nope"),
            std::string::npos);
}

TEST(OptimizerOptions, AdagradAccumulatorStartsAtItsInitialValue) {
  Tensor p = weight_param({1.0});
  optim::Adagrad adagrad(optim::AdagradOptions{.learning_rate = 0.1, .initial_accumulator_value = 0.5, .epsilon = 0});
  adagrad.apply_gradients({grad({0.5})}, {p});
  EXPECT_NEAR(adagrad.slots().at(p.impl()).values[0].item(), 0.75, 1e-15);
  EXPECT_NEAR(p.item(), 1.0 - 0.1 * 0.5 / std::sqrt(0.75), 1e-15);
}

// A saved compiled model continues training bit-identically: slots, the moving
// averages and the step count (for the schedule, Nadam's momentum product and the
// overwrite frequency) all come back.
TEST(OptimizerOptions, StateOfEveryOptionContinuesTrainingExactlyFromAModelFile) {
  testing::TempDir dir;
  Generator g(3);
  std::vector<float> xs(48 * 6);
  std::vector<std::int32_t> ys(48);
  for (std::size_t i = 0; i < ys.size(); ++i) {
    ys[i] = static_cast<std::int32_t>(g.below(3));
    for (std::size_t k = 0; k < 6; ++k) xs[i * 6 + k] = static_cast<float>(g.uniform() + (k % 3 == std::size_t(ys[i])));
  }
  const data::Dataset data(Tensor::from_vector(xs, {48, 6}), Tensor::from_vector(ys));
  for (const char* which : {"nadam", "adamw", "adagrad", "adamax", "lion"}) {
    SCOPED_TRACE(which);
    manual_seed(4);
    Sequential model;
    model.add(layers::Dense(5, "relu", {6}));
    model.add(layers::Dense(3, "softmax"));
    json config = optim::get(which)->get_config();
    config["learning_rate"] = optim::LearningRate(optim::schedules::ExponentialDecay(0.01, 2, 0.9)).to_json();
    config["use_ema"] = true;
    config["ema_momentum"] = 0.9;
    config["ema_overwrite_frequency"] = 4;
    config["global_clipnorm"] = 1.0;
    model.compile(optim::from_config(optim::get(which)->name(), config), "sparse_categorical_crossentropy");
    const FitOptions fit{.epochs = 1, .batch_size = 16, .verbose = 0, .shuffle = false};
    model.fit(data, fit);
    model.save(dir.path() / "m.safetensors");
    auto loaded = load_model(dir.path() / "m.safetensors");
    EXPECT_EQ(loaded->optimizer().get_config(), model.optimizer().get_config());
    EXPECT_EQ(loaded->optimizer().iterations(), 3);
    for (const auto& [key, slots] : loaded->optimizer().slots()) {
      EXPECT_EQ(slots.values.size(), model.optimizer().slot_names().size());
    }
    model.fit(data, fit);
    loaded->fit(data, fit);
    const auto a = model.trainable_weights(), b = loaded->trainable_weights();
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same_bits(a[i], b[i])) << "weight " << i;
  }
}

}  // namespace
}  // namespace kiln
