// Constructors that take Keras's arguments in Keras's positional order (issue 18: SGD(0.1, 0.9)
// did not compile, and Dropout's second argument was a seed where Keras's is noise_shape).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kiln/kiln.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;

TEST(PositionalArguments, OptimizersTakeKerasOrder) {
  const optim::SGD sgd(0.1, 0.9, true);
  EXPECT_DOUBLE_EQ(sgd.options().learning_rate.value(), 0.1);
  EXPECT_DOUBLE_EQ(sgd.options().momentum, 0.9);
  EXPECT_TRUE(sgd.options().nesterov);
  EXPECT_DOUBLE_EQ(optim::SGD(0.1, 0.9).options().momentum, 0.9);
  const optim::Adam adam(2e-3, 0.5, 0.99, 1e-8);
  EXPECT_DOUBLE_EQ(adam.options().beta_1, 0.5);
  EXPECT_DOUBLE_EQ(adam.options().beta_2, 0.99);
  EXPECT_DOUBLE_EQ(adam.options().epsilon, 1e-8);
}

TEST(PositionalArguments, DropoutNoiseShapeSharesTheMaskAlongBroadcastAxes) {
  // Keras's noise_shape=(None, 1, 4): one mask per sample and feature, the same at every step.
  Dropout drop(0.5, Shape{-1, 1, 4}, 3);
  const Tensor x = Tensor::ones({2, 6, 4});
  const auto y = drop(x, true).to_vector<float>();
  int dropped = 0;
  for (int b = 0; b < 2; ++b) {
    for (int f = 0; f < 4; ++f) {
      const float first = y[(b * 6) * 4 + f];
      EXPECT_TRUE(first == 0.0f || first == 2.0f);
      dropped += first == 0.0f;
      for (int t = 1; t < 6; ++t) EXPECT_EQ(y[(b * 6 + t) * 4 + f], first) << b << " " << t << " " << f;
    }
  }
  EXPECT_GT(dropped, 0);
  EXPECT_LT(dropped, 8);
  EXPECT_EQ(drop(x, false).to_vector<float>(), x.to_vector<float>());  // inference: the identity
  // The config round-trips through Keras's null for "the input's size".
  const auto config = drop.get_config();
  EXPECT_EQ(config.at("noise_shape").dump(), "[null,1,4]");
  auto rebuilt = layer_from_config("Dropout", config);
  EXPECT_EQ(static_cast<Dropout&>(*rebuilt).noise_shape(), (Shape{-1, 1, 4}));
}

TEST(PositionalArguments, DropoutNoiseShapeErrors) {
  EXPECT_NE(testing::error_of([] { Dropout(0.5, Shape{0, 1}); }).find("must hold positive sizes or -1"),
            std::string::npos);
  Dropout drop(0.5, Shape{-1, 3}, 0, "d");
  EXPECT_EQ(testing::error_of([&] { drop(Tensor::ones({2, 4}), true); }),
            "Dropout 'd': noise_shape [-1, 3] does not broadcast to input [2, 4] (axis 1 must be 1, -1 or 4)");
  EXPECT_EQ(testing::error_of([&] { Dropout(0.5, Shape{1}, 0, "e")(Tensor::ones({2, 4}), true); }),
            "Dropout 'e': noise_shape [1] must have one size per input axis (2, batch included), input is [2, 4]");
}

}  // namespace
}  // namespace kiln
