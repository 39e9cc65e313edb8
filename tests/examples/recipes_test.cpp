// examples/recipes (kiln train --recipe): the recipes, changes to them and their errors, the
// model each builds, test-time augmentation, and that a recipe learns a small task.
#include "recipes/recipes.hpp"

#include <gtest/gtest.h>

#include "kiln/kiln.hpp"
#include "kiln/ops/flip.hpp"
#include "support/common.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

TEST(Recipes, NamedRecipesAndChangesToThem) {
  const auto fast = recipes::named("fast"), best = recipes::named("best");
  EXPECT_EQ(fast.name, "fast");
  auto cost = [](const recipes::Recipe& r) { return recipes::build_model(r, {28, 28, 1}, 10).count_params(); };
  EXPECT_GT(cost(best), cost(fast));

  const auto changed = recipes::with_changes(
      fast, {{"epochs", "3"}, {"widths", "8,16"}, {"flip", "false"}, {"learning_rate", "0.01"}, {"precision", "bf16"}});
  EXPECT_EQ(changed.epochs, 3);
  EXPECT_EQ(changed.widths, (std::vector<std::int64_t>{8, 16}));
  EXPECT_FALSE(changed.flip);
  EXPECT_DOUBLE_EQ(changed.learning_rate, 0.01);
  EXPECT_EQ(changed.precision, "bf16");
  EXPECT_EQ(changed.batch_size, fast.batch_size);
  EXPECT_TRUE(testing::contains(recipes::describe(changed), "widths 8,16")) << recipes::describe(changed);

  auto error = [&](const std::map<std::string, std::string>& changes) {
    return testing::error_of([&] { recipes::with_changes(fast, changes); });
  };
  EXPECT_TRUE(testing::contains(error({{"colour", "red"}}), "no field 'colour'"));
  EXPECT_TRUE(testing::contains(error({{"epochs", "0"}}), "epochs must be >= 1, got 0"));
  EXPECT_TRUE(testing::contains(error({{"widths", "8,x"}}), "widths must be a number, got 'x'"));
  EXPECT_TRUE(testing::contains(error({{"flip", "maybe"}}), "flip must be true or false, got 'maybe'"));
  EXPECT_TRUE(testing::contains(error({{"precision", "fp16"}}), "precision must be float32 or bf16"));
  EXPECT_TRUE(testing::contains(error({{"hidden", "-1"}}), "hidden must be >= 0, got '-1'"));
  EXPECT_TRUE(testing::contains(testing::error_of([] { recipes::named("slow"); }), "'slow' is not a recipe"));
}

TEST(Recipes, ModelTakesTheRecipesPrecisionAndLeavesTheGlobalPolicy) {
  auto r = recipes::with_changes(recipes::named("fast"), {{"widths", "4,8"}, {"precision", "bf16"}});
  const auto before = mixed_precision::global_policy();
  auto model = recipes::build_model(r, {12, 12, 1}, 3);
  EXPECT_EQ(mixed_precision::global_policy(), before);
  EXPECT_EQ(model.compute_output_shapes({{12, 12, 1}}).at(0), (Shape{3}));
  int convolutions = 0;
  for (const auto& layer : model.layers()) {
    if (dynamic_cast<layers::Conv2D*>(layer.get())) {
      ++convolutions;
      EXPECT_EQ(layer->dtype_policy().name(), "mixed_bfloat16") << layer->name();
    }
  }
  EXPECT_EQ(convolutions, 2);
  const std::string e = testing::error_of([&] { recipes::build_model(r, {30}, 3); });
  EXPECT_TRUE(testing::contains(e, "takes images [height, width, channels], got samples of shape [30]")) << e;
  EXPECT_EQ(mixed_precision::global_policy(), before);
}

// hidden=N puts Dense(N) -> ReLU between Flatten and the classifier; 0 leaves it out.
TEST(Recipes, HiddenAddsADenseReluLayerBeforeTheClassifier) {
  auto dense_units = [](const recipes::Recipe& r) {
    std::vector<std::int64_t> units;
    auto model = recipes::build_model(r, {12, 12, 1}, 3);
    for (const auto& layer : model.layers()) {
      if (const auto* dense = dynamic_cast<layers::Dense*>(layer.get())) units.push_back(dense->units());
    }
    return units;
  };
  const auto plain = recipes::with_changes(recipes::named("fast"), {{"widths", "4,8"}, {"hidden", "0"}});
  const auto hidden = recipes::with_changes(plain, {{"hidden", "32"}, {"dropout", "0.2"}});
  EXPECT_EQ(dense_units(plain), (std::vector<std::int64_t>{3}));
  EXPECT_EQ(dense_units(hidden), (std::vector<std::int64_t>{32, 3}));
  EXPECT_TRUE(testing::contains(recipes::describe(hidden), "hidden 32, dropout 0.2")) << recipes::describe(hidden);
}

TEST(Recipes, TestTimeFlipAveragesEachImageWithItsMirror) {
  auto r = recipes::with_changes(recipes::named("fast"), {{"widths", "4,8"}, {"precision", "float32"}});
  auto model = recipes::build_model(r, {12, 12, 1}, 3);
  recipes::compile(model, r, 10);
  const Tensor x = testing::random_tensor({5, 12, 12, 1}, 4);
  const std::vector<std::uint8_t> mirror(5, kFlipHorizontal);
  const Tensor expected = (model.predict(x) + model.predict(flip_images(x, mirror))) * 0.5;
  testing::expect_values(recipes::predict(model, r, x), expected.to(DType::Float64).to_vector<double>(), 1e-6);
  r.test_time_flip = false;
  testing::expect_values(recipes::predict(model, r, x), model.predict(x).to(DType::Float64).to_vector<double>(), 1e-6);
}

// Bright top halves against bright bottom halves (a mirror image keeps its class), in noise.
datasets::Split halves(std::int64_t n, std::uint64_t seed) {
  Generator g(seed);
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(n * 12 * 12)), labels(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const auto label = static_cast<std::uint8_t>(i % 2);
    labels[static_cast<std::size_t>(i)] = label;
    for (std::int64_t y = 0; y < 12; ++y) {
      for (std::int64_t x = 0; x < 12; ++x) {
        const bool bright = (y < 6) == (label == 0);
        pixels[static_cast<std::size_t>((i * 12 + y) * 12 + x)] =
            static_cast<std::uint8_t>((bright ? 120 : 0) + static_cast<int>(g.uniform() * 100));
      }
    }
  }
  return {Tensor::from_vector<std::uint8_t>(pixels, {n, 12, 12, 1}), Tensor::from_vector<std::uint8_t>(labels, {n})};
}

TEST(Recipes, RunLearnsASmallTaskAndScoresWithAndWithoutTheMirror) {
  const auto r = recipes::with_changes(
      recipes::named("fast"),
      {{"widths", "4,8"}, {"epochs", "3"}, {"batch_size", "32"}, {"precision", "float32"}, {"translate_pixels", "1"}});
  const datasets::TrainTest data{halves(600, 1), halves(200, 2)};
  const auto outcome = recipes::run(r, data, {.seed = 3, .verbose = 0});
  EXPECT_GT(outcome.test_accuracy, 0.95);
  EXPECT_GT(outcome.plain_test_accuracy, 0.95);
  EXPECT_EQ(outcome.history.epoch.size(), 3u);
  EXPECT_GT(outcome.train_seconds, 0);
}

}  // namespace
}  // namespace kiln
