// get_layer, get_weights and set_weights on models and layers, in Keras's order (issue 18).
#include <gtest/gtest.h>

#include "kiln/kiln.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;

Sequential mlp() {
  Sequential m;
  m.add(Dense(3, DenseOptions{.activation = "relu", .input_shape = {2}, .name = "hidden"}));
  m.add(BatchNormalization());
  m.add(Dense(1, DenseOptions{.name = "out"}));
  return m;
}

TEST(WeightsAccess, GetLayerByNameAndIndex) {
  Sequential m = mlp();
  EXPECT_EQ(m.get_layer("out")->type(), "Dense");
  EXPECT_EQ(m.get_layer(0)->name(), "hidden");
  EXPECT_EQ(m.get_layer(-1)->name(), "out");
  EXPECT_EQ(m.get_layer(1)->type(), "BatchNormalization");
  const std::string missing = testing::error_of([&] { m.get_layer("outt"); });
  EXPECT_NE(missing.find("has no layer named 'outt'; its layers are 'hidden', '"), std::string::npos) << missing;
  EXPECT_NE(testing::error_of([&] { m.get_layer(3); }).find("index 3 is out of range: model '" + m.name() +
                                                             "' has 3 layers"),
            std::string::npos);
}

TEST(WeightsAccess, LayerWeightsInKerasOrder) {
  Sequential m = mlp();
  const auto bn = m.get_layer(1)->get_weights();
  // gamma, beta (trainable), then moving_mean, moving_variance, as Keras lists them.
  ASSERT_EQ(bn.size(), 4u);
  EXPECT_EQ(bn[0].to_vector<float>(), std::vector<float>(3, 1.0f));
  EXPECT_EQ(bn[1].to_vector<float>(), std::vector<float>(3, 0.0f));
  EXPECT_EQ(bn[3].to_vector<float>(), std::vector<float>(3, 1.0f));
  // Copies: changing them changes nothing in the layer.
  auto dense = m.get_layer("hidden");
  auto w = dense->get_weights();
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[0].shape(), (Shape{2, 3}));
  w[0].fill_(9.0);
  EXPECT_NE(dense->weights()[0].value.to_vector<float>()[0], 9.0f);
}

TEST(WeightsAccess, SetWeightsWritesValuesAndChecksShapesFirst) {
  Sequential m = mlp();
  auto dense = m.get_layer("hidden");
  dense->set_weights({Tensor::ones({2, 3}), Tensor::from_vector<double>({1, 2, 3})});  // float64 converted
  EXPECT_EQ(dense->weights()[0].value.to_vector<float>(), std::vector<float>(6, 1.0f));
  EXPECT_EQ(dense->weights()[1].value.to_vector<float>(), (std::vector<float>{1, 2, 3}));
  const Tensor x = Tensor::from_vector<float>({1, 1}, {1, 2});
  EXPECT_EQ((*dense)(x).to_vector<float>(), (std::vector<float>{3, 4, 5}));

  EXPECT_EQ(testing::error_of([&] { dense->set_weights({Tensor::ones({3, 2}), Tensor::ones({3})}); }),
            "Dense 'hidden': set_weights: weight 0 ('kernel') must have shape [2, 3], got [3, 2]");
  EXPECT_EQ(testing::error_of([&] { dense->set_weights({Tensor::ones({2, 3})}); }),
            "Dense 'hidden': set_weights got 1 weights, expected 2 (kernel [2, 3], bias [3])");
  EXPECT_EQ(dense->weights()[1].value.to_vector<float>(), (std::vector<float>{1, 2, 3}));  // unchanged
}

TEST(WeightsAccess, ModelGetAndSetWeightsRoundTripBetweenModels) {
  Sequential a = mlp(), b = mlp();
  const auto weights = a.get_weights();
  ASSERT_EQ(weights.size(), 2u + 4u + 2u);
  b.set_weights(weights);
  const Tensor x = random::normal({4, 2}, 0, 1, 0);
  EXPECT_EQ(a.predict(x).to_vector<float>(), b.predict(x).to_vector<float>());

  auto wrong = weights;
  wrong[6] = Tensor::ones({3, 2});
  EXPECT_EQ(testing::error_of([&] { b.set_weights(wrong); }),
            "set_weights: weight 6 is Dense 'out' kernel, of shape [3, 1], got [3, 2]");
  EXPECT_EQ(testing::error_of([&] { b.set_weights({}); }),
            "set_weights: model '" + b.name() + "' has 8 weights, got 0");
  Sequential unbuilt;
  unbuilt.add(Dense(2));
  EXPECT_NE(testing::error_of([&] { unbuilt.set_weights({Tensor::ones({2})}); }).find("build the model first"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln
