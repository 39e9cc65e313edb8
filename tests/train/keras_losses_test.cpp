// The losses beyond the cross-entropies: values by hand, gradients by finite
// differences (float64), names and configs as Keras's. Agreement with PyTorch is
// in KerasParity.LossesAndTheirGradients.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "support/errors.hpp"
#include "support/gradcheck.hpp"

namespace kiln {
namespace {

using testing::error_of;

Tensor tensor_from(std::vector<double> v, Shape s) { return Tensor::from_vector(v, s); }

TEST(KerasLosses, ValuesByHand) {
  const Tensor t = tensor_from({0.0, 1.0, 2.0, -1.0}, {2, 2});
  const Tensor p = tensor_from({0.5, 1.0, 4.0, 1.0}, {2, 2});  // errors 0.5, 0, 2, 2
  EXPECT_NEAR(losses::MeanAbsoluteError()(t, p).item(), 4.5 / 4, 1e-15);
  // Huber, delta 1: 0.125, 0, 1.5, 1.5
  EXPECT_NEAR(losses::Huber()(t, p).item(), 3.125 / 4, 1e-15);
  EXPECT_NEAR(losses::Huber(3.0)(t, p).item(), (0.125 + 2 + 2) / 4, 1e-15);
  EXPECT_NEAR(losses::LogCosh()(t, p).item(), (std::log(std::cosh(0.5)) + 2 * std::log(std::cosh(2.0))) / 4, 1e-15);
  // A huge error does not overflow: log(cosh(x)) ~ |x| - log 2.
  EXPECT_NEAR(losses::LogCosh()(tensor_from({0}, {1, 1}), tensor_from({1000}, {1, 1})).item(), 1000 - std::log(2.0), 1e-9);
  EXPECT_NEAR(losses::Poisson()(tensor_from({2.0}, {1, 1}), tensor_from({0.5}, {1, 1})).item(), 0.5 - 2 * std::log(0.5 + 1e-7),
              1e-15);
  // KL: one row, t = (0.5, 0.5), p = (0.25, 0.75)
  EXPECT_NEAR(losses::KLDivergence()(tensor_from({0.5, 0.5}, {1, 2}), tensor_from({0.25, 0.75}, {1, 2})).item(),
              0.5 * std::log(2.0) + 0.5 * std::log(0.5 / 0.75), 1e-15);
  // Cosine: (1, 0) vs (1, 1) -> -1/sqrt(2); (0, 2) vs (0, -3) -> 1
  EXPECT_NEAR(losses::CosineSimilarity()(tensor_from({1, 0, 0, 2}, {2, 2}), tensor_from({1, 1, 0, -3}, {2, 2})).item(),
              (-1 / std::sqrt(2.0) + 1) / 2, 1e-15);
  // Hinge with -1/1 labels and with 0/1 labels (turned into -1/1): margins 1 - t p = 0.5, 2, 0, 1.5
  const Tensor scores = tensor_from({0.5, 1.0, 1.0, -0.5}, {2, 2});
  EXPECT_NEAR(losses::Hinge()(tensor_from({1, -1, 1, 1}, {2, 2}), scores).item(), (0.5 + 2 + 0 + 1.5) / 4, 1e-15);
  EXPECT_NEAR(losses::Hinge()(tensor_from({1, 0, 1, 1}, {2, 2}), scores).item(), (0.5 + 2 + 0 + 1.5) / 4, 1e-15);
  EXPECT_NEAR(losses::SquaredHinge()(tensor_from({1, 0, 1, 1}, {2, 2}), scores).item(), (0.25 + 4 + 0 + 2.25) / 4, 1e-15);
  // Categorical hinge: row 1 true class 0: max(0.2 - 0.5 + 1, 0) = 0.7; row 2 true class 1: max(0.9 - 1.5 + 1, 0)
  EXPECT_NEAR(
      losses::CategoricalHinge()(tensor_from({1, 0, 0, 0, 1, 0}, {2, 3}), tensor_from({0.5, 0.2, -1, 0.9, 1.5, 0.3}, {2, 3}))
          .item(),
      (0.7 + 0.4) / 2, 1e-15);
}

TEST(KerasLosses, LabelSmoothingAndFocalByHand) {
  // BCE from logits 0 (p = 1/2): log 2 whatever the target, smoothed or not.
  EXPECT_NEAR(losses::BinaryCrossentropy(true, 0.2)(tensor_from({1}, {1, 1}), tensor_from({0}, {1, 1})).item(), std::log(2.0),
              1e-15);
  // Smoothed target 0.9 against p = 0.9 (probabilities): -(0.9 log 0.9 + 0.1 log 0.1), up to Keras's epsilon.
  EXPECT_NEAR(losses::BinaryCrossentropy(false, 0.2)(tensor_from({1}, {1, 1}), tensor_from({0.9}, {1, 1})).item(),
              -(0.9 * std::log(0.9) + 0.1 * std::log(0.1)), 1e-6);
  // CCE, 4 classes, smoothing 0.4: target (0.7, 0.1, 0.1, 0.1) against uniform p: log 4.
  EXPECT_NEAR(losses::CategoricalCrossentropy(false, 0.4)(tensor_from({1, 0, 0, 0}, {1, 4}),
                                                          tensor_from({0.25, 0.25, 0.25, 0.25}, {1, 4}))
                  .item(),
              std::log(4.0), 1e-12);
  // Focal, gamma 2, p = 0.8 for a positive: (1 - 0.8)^2 * -log(0.8); balanced with alpha 0.25 for a positive.
  const double bce = -std::log(0.8);
  EXPECT_NEAR(losses::BinaryFocalCrossentropy()(tensor_from({1}, {1, 1}), tensor_from({0.8}, {1, 1})).item(), 0.04 * bce, 1e-7);
  EXPECT_NEAR(losses::BinaryFocalCrossentropy(true)(tensor_from({1}, {1, 1}), tensor_from({0.8}, {1, 1})).item(),
              0.25 * 0.04 * bce, 1e-7);
  // gamma 0 is the plain cross-entropy.
  EXPECT_NEAR(
      losses::BinaryFocalCrossentropy(false, 0.25, 0.0, true)(tensor_from({1, 0}, {2, 1}), tensor_from({0.3, -2}, {2, 1})).item(),
      losses::BinaryCrossentropy(true)(tensor_from({1, 0}, {2, 1}), tensor_from({0.3, -2}, {2, 1})).item(), 1e-15);
}

TEST(KerasLosses, GradientsMatchFiniteDifferences) {
  using testing::expect_gradients_match;
  const Tensor t = tensor_from({0.1, -0.7, 0.4, 1.3, -0.2, 0.9}, {2, 3});
  const Tensor bits = tensor_from({1, 0, 0, 1, 1, 0}, {2, 3});
  const Tensor one_hot = tensor_from({0, 1, 0, 1, 0, 0}, {2, 3});
  const Tensor dist = tensor_from({0.2, 0.3, 0.5, 0.6, 0.1, 0.3}, {2, 3});
  const Tensor counts = tensor_from({0, 2, 1, 3, 0, 1}, {2, 3});
  const auto check = [&](const std::string& name, const losses::Loss& loss, const Tensor& y_true, Tensor y_pred) {
    y_pred.set_requires_grad();
    expect_gradients_match(name, [&] { return loss(y_true, y_pred); }, {y_pred});
  };
  const Tensor around = tensor_from({0.5, 0.2, -0.1, 1.8, 0.3, 0.35}, {2, 3});  // no error at a kink
  check("mae", losses::MeanAbsoluteError(), t, around.clone());
  check("huber", losses::Huber(0.5), t, around.clone());
  check("log_cosh", losses::LogCosh(), t, around.clone());
  check("kl_divergence", losses::KLDivergence(), dist, tensor_from({0.3, 0.3, 0.4, 0.2, 0.5, 0.3}, {2, 3}));
  check("cosine_similarity", losses::CosineSimilarity(), t, around.clone());
  check("cosine_similarity_axis0", losses::CosineSimilarity(0), t, around.clone());
  check("hinge", losses::Hinge(), bits, around.clone());
  check("squared_hinge", losses::SquaredHinge(), bits, around.clone());
  check("categorical_hinge", losses::CategoricalHinge(), one_hot, around.clone());
  check("poisson", losses::Poisson(), counts, tensor_from({0.5, 1.2, 2.0, 0.7, 0.9, 1.1}, {2, 3}));
  check("bce_smoothing", losses::BinaryCrossentropy(false, 0.1), bits, tensor_from({0.3, 0.6, 0.2, 0.8, 0.5, 0.4}, {2, 3}));
  check("cce_smoothing", losses::CategoricalCrossentropy(true, 0.1), one_hot, around.clone());
  check("focal", losses::BinaryFocalCrossentropy(true, 0.3, 2.0, true, 0.1), bits, around.clone());
  check("focal_probabilities", losses::BinaryFocalCrossentropy(), bits, tensor_from({0.3, 0.6, 0.2, 0.8, 0.5, 0.4}, {2, 3}));
}

TEST(KerasLosses, NamesConfigsAndErrors) {
  for (const auto& [alias, name] :
       std::vector<std::pair<std::string, std::string>>{{"mae", "mean_absolute_error"},
                                                        {"huber", "huber_loss"},
                                                        {"Huber", "huber_loss"},
                                                        {"logcosh", "log_cosh"},
                                                        {"kld", "kl_divergence"},
                                                        {"kullback_leibler_divergence", "kl_divergence"},
                                                        {"cosine_similarity", "cosine_similarity"},
                                                        {"hinge", "hinge"},
                                                        {"squared_hinge", "squared_hinge"},
                                                        {"categorical_hinge", "categorical_hinge"},
                                                        {"poisson", "poisson"},
                                                        {"binary_focal_crossentropy", "binary_focal_crossentropy"},
                                                        {"bce", "binary_crossentropy"}}) {
    EXPECT_EQ(losses::get(alias)->name(), name) << alias;
  }
  const losses::BinaryFocalCrossentropy focal(true, 0.4, 1.5, true, 0.1);
  const auto rebuilt = losses::from_config(focal.name(), focal.get_config());
  EXPECT_EQ(rebuilt->get_config(), focal.get_config());
  EXPECT_EQ(losses::from_config("huber_loss", losses::Huber(0.3).get_config())->get_config().at("delta"), 0.3);
  EXPECT_EQ(losses::from_config("categorical_crossentropy", {{"label_smoothing", 0.2}})->get_config(),
            losses::CategoricalCrossentropy(false, 0.2).get_config());
  EXPECT_NE(error_of([] { losses::BinaryCrossentropy(false, 1.5); }).find("label_smoothing must be in [0, 1]"),
            std::string::npos);
  EXPECT_NE(error_of([] { losses::Huber(-1.0); }).find("Huber: delta"), std::string::npos);
  EXPECT_NE(error_of([] {
              losses::CosineSimilarity(2)(Tensor::zeros({2, 3}), Tensor::zeros({2, 3}));
            }).find("CosineSimilarity: axis 2"),
            std::string::npos);
  EXPECT_NE(error_of([] { losses::get("nope"); }).find("huber"), std::string::npos);
}

TEST(KerasLosses, CompileByNameTrainsAndReportsBinaryAccuracyForFocal) {
  Sequential model;
  model.add(layers::Dense(1, "sigmoid", {2}));
  model.compile("adam", "binary_focal_crossentropy", {"accuracy"});
  EXPECT_EQ(model.loss().name(), "binary_focal_crossentropy");
  const Tensor x = tensor_from({0, 1, 1, 0}, {2, 2}).to(DType::Float32);
  const Tensor y = tensor_from({1, 0}, {2, 1}).to(DType::Float32);
  const auto logs = model.evaluate(x, y, {.verbose = 0});
  EXPECT_TRUE(logs.count("accuracy"));
  Sequential regression;
  regression.add(layers::Dense(1, "", {2}));
  regression.compile("sgd", "huber");
  EXPECT_EQ(regression.loss().name(), "huber_loss");
}

}  // namespace
}  // namespace kiln
