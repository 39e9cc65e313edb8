// The Normalization preprocessing layer: adapt() against NumPy-style mean and population
// variance worked from the data, Keras's formula, its gradient, and its config round trip.
#include <gtest/gtest.h>

#include <cmath>

#include "kiln/kiln.hpp"
#include "support/gradcheck.hpp"

namespace kiln {
namespace {

using layers::Normalization;

TEST(Normalization, AdaptLearnsPerFeatureMeanAndPopulationVariance) {
  // Feature 0: 1, 2, 3, 4, 10 (mean 4, variance (9+4+1+0+36)/5 = 10); feature 1: all 5 (variance 0).
  const Tensor x = Tensor::from_vector<float>({1, 5, 2, 5, 3, 5, 4, 5, 10, 5}, {5, 2});
  Normalization norm;
  // Batches of 2 exercise the merging of batch statistics.
  norm.adapt(data::Pipeline(data::Dataset(x)).batch(2));
  EXPECT_EQ(norm.mean().to_vector<float>(), (std::vector<float>{4, 5}));
  EXPECT_FLOAT_EQ(norm.variance().to_vector<float>()[0], 10.0f);
  EXPECT_FLOAT_EQ(norm.variance().to_vector<float>()[1], 0.0f);
  const auto y = norm(x).to_vector<float>();
  EXPECT_FLOAT_EQ(y[0], float((1 - 4) / std::sqrt(10.0)));
  EXPECT_FLOAT_EQ(y[8], float((10 - 4) / std::sqrt(10.0)));
  EXPECT_EQ(y[1], 0.0f);  // a constant feature: (x - mean) / max(0, 1e-7)
  // No axis: one mean and variance over every value.
  Normalization global({.axis = std::nullopt});
  global.adapt(Tensor::from_vector<float>({0, 2, 4, 6}, {2, 2}));
  EXPECT_EQ(global.mean().to_vector<float>(), std::vector<float>{3});
  EXPECT_EQ(global.variance().to_vector<float>(), std::vector<float>{5});
}

TEST(Normalization, GivenStatisticsInvertAndConfig) {
  Normalization norm({.mean = {1, 2}, .variance = {4, 9}, .input_shape = {2}});
  const Tensor x = Tensor::from_vector<float>({3, 8}, {1, 2});
  EXPECT_EQ(norm(x).to_vector<float>(), (std::vector<float>{1, 2}));
  Normalization inverse({.mean = {1, 2}, .variance = {4, 9}, .invert = true});
  EXPECT_EQ(inverse(Tensor::from_vector<float>({1, 2}, {1, 2})).to_vector<float>(), (std::vector<float>{3, 8}));
  const auto rebuilt = layers::layer_from_config("Normalization", norm.get_config());
  EXPECT_EQ((*rebuilt)(x).to_vector<float>(), (std::vector<float>{1, 2}));
  EXPECT_THROW(Normalization({.axis = 0}), Error);
  EXPECT_THROW(Normalization({.mean = {1}}), Error);
  Normalization built({.input_shape = {3}});
  built.build({3});
  EXPECT_THROW(built.adapt(Tensor::zeros({4, 2})), Error);
}

TEST(Normalization, AdaptedStatisticsAreSavedWithTheModel) {
  const auto path = std::filesystem::temp_directory_path() / "kiln-normalization-test.safetensors";
  auto norm = std::make_shared<Normalization>();
  norm->adapt(Tensor::from_vector<float>({1, 10, 3, 30}, {2, 2}));
  Sequential model;
  model.add(norm);
  model.add(layers::Dense(1));
  const Tensor x = Tensor::from_vector<float>({2, 5}, {1, 2});
  const auto expected = model.predict(x).to_vector<float>();
  model.save(path);
  const auto loaded = load_model(path);
  EXPECT_EQ(loaded->predict(x).to_vector<float>(), expected);
  EXPECT_EQ(loaded->get_layer(0)->get_weights()[0].to_vector<float>(), (std::vector<float>{2, 20}));
  std::filesystem::remove(path);
}

TEST(Normalization, GradientMatchesFiniteDifferences) {
  for (bool invert : {false, true}) {
    Normalization norm({.mean = {0.5, -1, 2}, .variance = {4, 0.25, 1}, .invert = invert});
    norm.set_dtype(DType::Float64);
    Generator gen(3);
    Tensor x = Tensor::empty({2, 3}, DType::Float64);
    for (std::int64_t i = 0; i < x.numel(); ++i) x.data<double>()[i] = gen.uniform(-1, 1);
    x.set_requires_grad();
    Tensor w = Tensor::empty({2, 3}, DType::Float64);
    for (std::int64_t i = 0; i < w.numel(); ++i) w.data<double>()[i] = gen.uniform(-1, 1);
    testing::expect_gradients_match(invert ? "normalization_invert" : "normalization",
                                    [&] { return sum(norm(x, true) * w); }, {x});
  }
}

}  // namespace
}  // namespace kiln
