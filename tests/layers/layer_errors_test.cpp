// Wrong shapes and bad arguments give errors that name the layer and both shapes.
#include <gtest/gtest.h>

#include "kiln/kiln.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;

using testing::error_of;

TEST(LayerErrors, Conv2DGivenWrongChannelsNamesLayerAndShapes) {
  Conv2D conv(8, 3, Conv2DOptions{.input_shape = {32, 32, 3}, .name = "first_conv"});
  conv.build({32, 32, 3});
  const std::string msg = error_of([&] { conv(Tensor::zeros({4, 28, 28, 1})); });
  EXPECT_NE(msg.find("first_conv"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[batch, 32, 32, 3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[4, 28, 28, 1]"), std::string::npos) << msg;
}

TEST(LayerErrors, Conv2DGivenFlatInputExplainsTheLayout) {
  Conv2D conv(8, 3);
  const std::string msg = error_of([&] { conv(Tensor::zeros({4, 10})); });
  EXPECT_NE(msg.find("Conv2D"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[batch, height, width, channels]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[batch, 10]"), std::string::npos) << msg;
}

TEST(LayerErrors, DenseGivenWrongFeatureCount) {
  Dense dense(3, DenseOptions{.name = "classifier"});
  dense(Tensor::zeros({2, 64}));
  const std::string msg = error_of([&] { dense(Tensor::zeros({2, 32})); });
  EXPECT_NE(msg.find("classifier"), std::string::npos) << msg;
  EXPECT_NE(msg.find("64"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2, 32]"), std::string::npos) << msg;
}

TEST(LayerErrors, KernelLargerThanInput) {
  const std::string msg = error_of([] {
    Sequential m;
    m.add(Conv2D(4, 5, "relu", {3, 3, 1}));
  });
  EXPECT_NE(msg.find("smaller than the window"), std::string::npos) << msg;
}

TEST(LayerErrors, UnbuiltLayerHasNoWeightsYet) {
  Dense dense(3, DenseOptions{.name = "head"});
  const std::string msg = error_of([&] { dense.kernel(); });
  EXPECT_NE(msg.find("head"), std::string::npos) << msg;
  EXPECT_NE(msg.find("not been built"), std::string::npos) << msg;
}

TEST(LayerErrors, SequentialNamesTheMismatchedLayerWhenAdded) {
  Sequential model;
  model.add(Dense(8, "relu", {4}));
  model.add(Flatten());
  const std::string msg = error_of([&] { model.add(Conv2D(2, 3, Conv2DOptions{.name = "late_conv"})); });
  EXPECT_NE(msg.find("late_conv"), std::string::npos) << msg;
}

TEST(LayerErrors, BadArguments) {
  EXPECT_THROW(Dense(0), Error);
  EXPECT_THROW(Conv2D(-1, 3), Error);
  EXPECT_THROW(Conv2D(4, 0), Error);
  EXPECT_THROW(Conv2D(4, 3, Conv2DOptions{.padding = "full"}), Error);
  EXPECT_THROW(Conv2D(4, 3, "relu7"), Error);
  EXPECT_THROW(MaxPooling2D(0), Error);
  EXPECT_THROW(Dropout(1.0), Error);
  EXPECT_THROW(Reshape({-1, -1}), Error);
  EXPECT_THROW(Dense(3, DenseOptions{.kernel_initializer = "glorot_uniformm"}), Error);
  const std::string msg = error_of([] { Dense d(3, "swishy"); });
  EXPECT_NE(msg.find("swishy"), std::string::npos);
  EXPECT_NE(msg.find("relu"), std::string::npos) << "lists the known activations: " << msg;
}

TEST(LayerErrors, ReshapeWithIncompatibleSize) {
  Reshape r({5, -1});
  const std::string msg = error_of([&] { r(Tensor::zeros({2, 3, 4})); });
  EXPECT_NE(msg.find("Reshape"), std::string::npos) << msg;
}

}  // namespace
}  // namespace kiln
