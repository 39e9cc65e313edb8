// Logs: reading a value that is not there is an Error listing what is (issue 18: std::map's
// operator[] inserted a silent 0.0, and the README read evaluate()'s result that way).
#include <gtest/gtest.h>

#include "kiln/kiln.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

TEST(Logs, MissingKeyIsAnErrorListingTheKeys) {
  const Logs logs = {{"loss", 0.5}, {"accuracy", 0.75}};
  EXPECT_DOUBLE_EQ(logs["accuracy"], 0.75);
  EXPECT_DOUBLE_EQ(logs.at("loss"), 0.5);
  const std::string message = testing::error_of([&] { (void)logs["val_accuracy"]; });
  EXPECT_NE(message.find("no value named \"val_accuracy\""), std::string::npos) << message;
  EXPECT_NE(message.find("\"accuracy\", \"loss\""), std::string::npos) << message;
  EXPECT_NE(testing::error_of([&] { (void)logs.at("f1"); }).find("Logs: no value named \"f1\"; it holds"),
            std::string::npos);
  EXPECT_EQ(logs.size(), 2u);  // reading did not insert
  EXPECT_NE(testing::error_of([&] { (void)Logs()["loss"]; }).find("the logs are empty"), std::string::npos);
}

TEST(Logs, EvaluateWithoutTheMetricThrowsInsteadOfGivingZero) {
  Sequential m;
  m.add(layers::Dense(2, "softmax", {3}));
  m.compile("adam", "sparse_categorical_crossentropy");  // no metrics
  const Logs r = m.evaluate(random::normal({4, 3}, 0, 1, 0), random::randint({4}, 0, 2, 0), {.verbose = 0});
  EXPECT_TRUE(r.contains("loss"));
  EXPECT_FALSE(r.contains("accuracy"));
  EXPECT_NE(testing::error_of([&] { (void)r["accuracy"]; }).find("it holds \"loss\""), std::string::npos);
}

TEST(Logs, WritesGoThroughTheMapInterface) {
  Logs logs;
  logs.insert_or_assign("loss", 1.0);
  logs.insert_or_assign("loss", 2.0);
  logs.at("loss") += 1.0;
  EXPECT_DOUBLE_EQ(logs["loss"], 3.0);
  std::map<std::string, double> plain = logs;  // still a map for code that wants one
  EXPECT_EQ(plain.size(), 1u);
}

}  // namespace
}  // namespace kiln
