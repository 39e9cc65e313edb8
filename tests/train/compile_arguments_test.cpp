// compile() takes each of optimizer, loss and metrics as a name, an object or a shared_ptr,
// in any mix (issue 18: an optimizer object with a loss name did not compile).
#include <gtest/gtest.h>

#include "kiln/kiln.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

Sequential tiny_classifier() {
  Sequential m;
  m.add(layers::Dense(3, "softmax", {4}));
  return m;
}

template <typename O, typename L>
void expect_compiles_to(O optimizer, L loss, const std::string& optimizer_name) {
  Sequential m = tiny_classifier();
  m.compile(optimizer, loss, {"accuracy"});
  EXPECT_EQ(m.optimizer().name(), optimizer_name);
  EXPECT_EQ(m.loss().name(), "sparse_categorical_crossentropy");
  // "accuracy" resolves against the loss however the loss was given.
  EXPECT_EQ(m.metric_names(), std::vector<std::string>{"accuracy"});
  const Tensor x = random::normal({8, 4}, 0, 1, 1);
  const Tensor y = random::randint({8}, 0, 3, 2);
  const Logs r = m.evaluate(x, y, {.verbose = 0});
  EXPECT_TRUE(r.contains("loss"));
  EXPECT_TRUE(r.contains("accuracy"));
}

TEST(CompileArguments, EveryMixOfNamesObjectsAndPointers) {
  using optim::Adam;
  using losses::SparseCategoricalCrossentropy;
  const std::string loss_name = "sparse_categorical_crossentropy";
  // optimizer: name, object, shared_ptr  x  loss: name, object, shared_ptr
  expect_compiles_to("adam", "sparse_categorical_crossentropy", "Adam");
  expect_compiles_to("adam", SparseCategoricalCrossentropy(), "Adam");
  expect_compiles_to("adam", std::make_shared<SparseCategoricalCrossentropy>(), "Adam");
  expect_compiles_to(Adam(1e-3), "sparse_categorical_crossentropy", "Adam");
  expect_compiles_to(Adam(1e-3), SparseCategoricalCrossentropy(), "Adam");
  expect_compiles_to(Adam(1e-3), std::make_shared<SparseCategoricalCrossentropy>(), "Adam");
  expect_compiles_to(std::make_shared<optim::SGD>(0.1), loss_name, "SGD");
  expect_compiles_to(std::make_shared<optim::SGD>(0.1), SparseCategoricalCrossentropy(), "SGD");
  expect_compiles_to(std::make_shared<optim::SGD>(0.1), std::make_shared<SparseCategoricalCrossentropy>(), "SGD");
  // std::string variables and base-class pointers work too.
  std::shared_ptr<optim::Optimizer> base = std::make_shared<optim::RMSprop>();
  expect_compiles_to(base, std::string(loss_name), "RMSprop");
}

TEST(CompileArguments, TheIssuesSpellingCompilesAndKeepsTheObjectsSettings) {
  Sequential m = tiny_classifier();
  m.compile(optim::Adam(1e-3), "sparse_categorical_crossentropy", {"accuracy"});
  EXPECT_DOUBLE_EQ(m.optimizer().learning_rate(), 1e-3);
  m.compile(optim::SGD(0.25, 0.9), losses::SparseCategoricalCrossentropy(true));
  EXPECT_DOUBLE_EQ(m.optimizer().learning_rate(), 0.25);
  EXPECT_TRUE(m.loss().get_config().dump().find("true") != std::string::npos);
}

TEST(CompileArguments, MetricsAsNamesObjectsAndPointersMixed) {
  Sequential m = tiny_classifier();
  auto top2 = std::make_shared<metrics::TopKAccuracy>(2, metrics::LabelKind::Sparse, "top2");
  m.compile("adam", "sparse_categorical_crossentropy",
            {"accuracy", metrics::SparseCategoricalAccuracy("acc_object"), top2});
  EXPECT_EQ(m.metric_names(), (std::vector<std::string>{"accuracy", "acc_object", "top2"}));
  const Logs r = m.evaluate(random::normal({16, 4}, 0, 1, 3), random::randint({16}, 0, 3, 4), {.verbose = 0});
  EXPECT_DOUBLE_EQ(r["accuracy"], r["acc_object"]);
  EXPECT_GE(r["top2"], r["accuracy"]);
  // A vector of names, as older code passes it.
  const std::vector<std::string> names = {"accuracy", "mae"};
  m.compile("sgd", "sparse_categorical_crossentropy", names);
  EXPECT_EQ(m.metric_names(), names);
}

TEST(CompileArguments, NullObjectsAndBadNamesAreErrorsThatLeaveTheModelAsItWas) {
  Sequential m = tiny_classifier();
  m.compile("sgd", "mse");
  EXPECT_EQ(testing::error_of([&] { m.compile(std::shared_ptr<optim::Adam>(), "mse"); }),
            "compile: optimizer is null");
  EXPECT_EQ(testing::error_of([&] { m.compile("adam", std::shared_ptr<losses::Loss>()); }), "compile: loss is null");
  EXPECT_NE(testing::error_of([&] { m.compile("adam", "mse", {"no_such_metric"}); }).find("no_such_metric"),
            std::string::npos);
  EXPECT_EQ(m.optimizer().name(), "SGD");
  EXPECT_EQ(m.loss().name(), "mean_squared_error");
}

}  // namespace
}  // namespace kiln
