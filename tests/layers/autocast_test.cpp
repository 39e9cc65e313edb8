// Layers cast floating inputs to their own dtype, as Keras's autocasting does (issue 18:
// float64 data failed at the first layer with "expected float32 input, got float64").
#include <gtest/gtest.h>

#include "kiln/kiln.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;

TEST(Autocast, Float64IntoAFloat32LayerGivesTheFloat32Result) {
  Dense dense(3, "", {4});
  const Tensor x64 = random::normal({5, 4}, 0, 1, 1, DType::Float64);
  const Tensor out = dense(x64);
  EXPECT_EQ(out.dtype(), DType::Float32);
  EXPECT_EQ(out.to_vector<float>(), dense(x64.to(DType::Float32)).to_vector<float>());
}

TEST(Autocast, ASequentialCnnAndAFunctionalModelTrainOnFloat64Data) {
  // The Conv2D + MaxPooling2D pair runs fused; the cast happens there too.
  Sequential cnn;
  cnn.add(Conv2D(2, 3, "relu", {6, 6, 1}));
  cnn.add(MaxPooling2D(2));
  cnn.add(Flatten());
  cnn.add(Dense(2, "softmax"));
  cnn.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  const Tensor images = random::uniform({8, 6, 6, 1}, 0, 1, 2, DType::Float64);
  const Tensor labels = random::randint({8}, 0, 2, 3);
  EXPECT_NO_THROW(cnn.fit(images, labels, {.epochs = 1, .verbose = 0}));
  EXPECT_EQ(cnn.predict(images).dtype(), DType::Float32);

  // Functional, with float64 regression targets (Keras casts y_true to the prediction's dtype).
  SymbolicTensor in = Input({3});
  auto model = Model(in, Dense(1)(Dense(4, "relu")(in)));
  model.compile("sgd", "mse", {"mae"});
  const Tensor x = random::normal({16, 3}, 0, 1, 4, DType::Float64);
  const Tensor y = random::normal({16, 1}, 0, 1, 5, DType::Float64);
  const History h = model.fit(x, y, {.epochs = 2, .batch_size = 8, .verbose = 0});
  EXPECT_EQ(h.history.at("loss").size(), 2u);
  EXPECT_TRUE(model.evaluate(x, y, {.verbose = 0}).contains("mae"));
}

TEST(Autocast, IntegersStayAnErrorExceptForIdLayers) {
  Dense dense(2, "", {3});
  EXPECT_EQ(testing::error_of([&] { dense(Tensor::zeros({1, 3}, DType::Int32)); }),
            "Dense '" + dense.name() + "': expected float32 input, got int32");
  Embedding embedding(10, 4);
  EXPECT_EQ(embedding(Tensor::zeros({2, 5}, DType::Int64)).shape(), (Shape{2, 5, 4}));
  // A float tensor that carries gradients is not cast silently: the cast would cut them.
  const Tensor x = Tensor::zeros({1, 3}, DType::Float64).set_requires_grad();
  EXPECT_NE(testing::error_of([&] { dense(x); }).find("got float64 that requires gradients"), std::string::npos);
}

}  // namespace
}  // namespace kiln
