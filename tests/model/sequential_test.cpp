#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "kiln/kiln.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;


TEST(Sequential, ArticleCnnHasKerasParameterCountAndShapes) {
  Sequential model = zoo::article_cnn({32, 32, 3});
  EXPECT_EQ(model.count_params(), 122570);
  EXPECT_EQ(model.output_shape(), (Shape{10}));
  std::ostringstream out;
  model.summary(out);
  const std::string s = out.str();
  for (const char* expected : {"(None, 30, 30, 32)", "(None, 15, 15, 32)", "(None, 13, 13, 64)", "(None, 6, 6, 64)",
                               "(None, 4, 4, 64)", "(None, 1024)", "(None, 64)", "(None, 10)", "Total params: 122,570",
                               "Trainable params: 122,570", "Non-trainable params: 0", "896", "18,496", "65,600"}) {
    EXPECT_NE(s.find(expected), std::string::npos) << "missing " << expected << " in\n" << s;
  }
  // On Fashion-MNIST's 28x28x1 the same layers have fewer parameters.
  EXPECT_EQ(zoo::article_cnn({28, 28, 1}).count_params(), 93322);
}

// Images whose class is the quadrant holding a bright square: learnable only
// from spatial structure.
data::Dataset quadrant_images(std::int64_t n, std::uint64_t seed) {
  Generator gen(seed);
  Tensor x = Tensor::zeros({n, 16, 16, 1}, DType::UInt8);
  Tensor y = Tensor::empty({n}, DType::UInt8);
  std::uint8_t* px = x.data<std::uint8_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    const auto label = static_cast<std::uint8_t>(gen.below(4));
    y.data<std::uint8_t>()[i] = label;
    for (int k = 0; k < 256; ++k) px[i * 256 + k] = static_cast<std::uint8_t>(gen.below(60));  // noise
    const int r0 = (label / 2) * 8 + int(gen.below(4)), c0 = (label % 2) * 8 + int(gen.below(4));
    for (int r = r0; r < r0 + 4; ++r) {
      for (int c = c0; c < c0 + 4; ++c) px[i * 256 + r * 16 + c] = 255;
    }
  }
  return data::Dataset(x, y).rescale(1.0 / 255);
}

Sequential small_cnn() {
  Sequential model;
  model.add(Conv2D(8, 3, "relu", {16, 16, 1}));
  model.add(MaxPooling2D(2));
  model.add(Flatten());
  model.add(Dense(4, "softmax"));
  model.compile(optim::Adam(), losses::SparseCategoricalCrossentropy(), {"accuracy"});
  return model;
}

TEST(Sequential, CnnLearnsAndReportsHistory) {
  manual_seed(3);
  Sequential model = small_cnn();
  const auto train = quadrant_images(512, 1), test = quadrant_images(256, 2);
  const Logs before = model.evaluate(test, {.verbose = 0});
  History h = model.fit(train, {.epochs = 4, .batch_size = 32, .verbose = 0, .validation_data = test});
  ASSERT_EQ(h.history["loss"].size(), 4u);
  ASSERT_EQ(h.history["val_accuracy"].size(), 4u);
  EXPECT_LT(h.history["loss"].back(), h.history["loss"].front());
  const Logs after = model.evaluate(test, {.verbose = 0});
  EXPECT_LT(after.at("loss"), before.at("loss"));
  EXPECT_GT(after.at("accuracy"), 0.9) << "chance is 0.25";
  EXPECT_DOUBLE_EQ(after.at("accuracy"), h.history["val_accuracy"].back());
  Tensor p = model.predict(test.x().slice(0, 10));
  EXPECT_EQ(p.shape(), (Shape{10, 4}));
}

TEST(Sequential, SameSeedGivesBitIdenticalTraining) {
  auto run = [] {
    manual_seed(7);
    Sequential model = small_cnn();
    return model.fit(quadrant_images(256, 1), {.epochs = 2, .batch_size = 16, .verbose = 0}).history["loss"];
  };
  const auto a = run(), b = run();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], b[i]) << "epoch " << i;
}

TEST(Sequential, NanLossStopsTrainingNamingTheStep) {
  Sequential model;
  model.add(Dense(1, "", {2}));
  model.compile(optim::SGD(0.01), losses::MeanSquaredError());
  std::vector<float> xs(20, 1.0f), ys(10, 1.0f);
  ys[6] = std::nanf("");
  try {
    model.fit(Tensor::from_vector(xs, {10, 2}), Tensor::from_vector(ys, {10, 1}),
              {.epochs = 1, .batch_size = 2, .verbose = 0, .shuffle = false});
    FAIL() << "training went on";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("nan"), std::string::npos) << msg;
    EXPECT_NE(msg.find("epoch 1, step 4 of 5"), std::string::npos) << msg;
  }
  for (float w : model.layers()[0]->weights()[0].value.to_vector<float>()) EXPECT_TRUE(std::isfinite(w));
}

TEST(Sequential, FitRejectsBadOptions) {
  Sequential model = small_cnn();
  const auto data = quadrant_images(8, 1);
  EXPECT_THROW(model.fit(data, {.epochs = -1}), Error);
  EXPECT_THROW(model.fit(data, {.batch_size = 0}), Error);
  EXPECT_THROW(model.fit(data, {.validation_split = 1.5}), Error);
  Sequential uncompiled;
  uncompiled.add(Dense(2, "", {3}));
  EXPECT_THROW(uncompiled.fit(Tensor::zeros({4, 3}), Tensor::zeros({4, 2})), Error);
}

TEST(Sequential, ValidationSplitHoldsOutTheLastSamples) {
  manual_seed(1);
  Sequential model = small_cnn();
  History h = model.fit(quadrant_images(100, 1), {.epochs = 1, .batch_size = 10, .verbose = 0, .validation_split = 0.2});
  EXPECT_EQ(h.history.count("val_loss"), 1u);
  EXPECT_EQ(h.history.count("val_accuracy"), 1u);
}

TEST(Sequential, WrongInputShapeNamesLayer) {
  Sequential model = zoo::article_cnn({32, 32, 3});
  model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
  try {
    model.predict(Tensor::zeros({2, 28, 28, 1}));
    FAIL();
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("Conv2D"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[batch, 32, 32, 3]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2, 28, 28, 1]"), std::string::npos) << msg;
  }
}

TEST(Sequential, CallbacksSeeEveryEpochAndCanStopTraining) {
  struct StopAfterTwo : Callback {
    int epochs_seen = 0;
    void on_epoch_end(Model& model, int, const Logs& logs) override {
      EXPECT_EQ(logs.count("loss"), 1u);
      if (++epochs_seen == 2) model.stop_training = true;
    }
  };
  auto cb = std::make_shared<StopAfterTwo>();
  Sequential model = small_cnn();
  History h = model.fit(quadrant_images(32, 1), {.epochs = 10, .batch_size = 16, .verbose = 0, .callbacks = {cb}});
  EXPECT_EQ(cb->epochs_seen, 2);
  EXPECT_EQ(h.epoch.size(), 2u);
}

}  // namespace
}  // namespace kiln
