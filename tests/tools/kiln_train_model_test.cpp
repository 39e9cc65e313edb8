// `kiln train --model FILE`: the user's own model — Keras 3 architecture JSON (the samples in
// tests/fixtures/keras_json) or a Kiln model file — trained on a CSV file or a built-in dataset.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "kiln/io/files.hpp"
#include "kiln/random.hpp"
#include "support/common.hpp"
#include "support/process.hpp"

namespace kiln {
namespace {

using testing::isolated;
using testing::run_command;
using testing::TempDir;
namespace fs = std::filesystem;

const std::string kKerasJson = std::string(KILN_TEST_FIXTURES) + "/keras_json/";

// 30 features uniform in [0, 1) (as the functional sample's Input(30)); the label is "yes" when
// the first exceeds the second.
void write_thirty_features(const fs::path& file, int rows) {
  std::ofstream out(file);
  for (int j = 0; j < 30; ++j) out << "f" << j << ",";
  out << "label\n";
  Generator g(3);
  for (int i = 0; i < rows; ++i) {
    double f[30];
    for (double& v : f) v = g.uniform();
    for (double v : f) out << v << ",";
    out << (f[0] > f[1] ? "yes" : "no") << "\n";
  }
}

double model_test_accuracy(const std::string& output) {
  std::smatch m;
  if (!std::regex_search(output, m, std::regex("Test accuracy: ([0-9.]+)"))) return -1;
  return std::stod(m[1]);
}

TEST(KilnTrainModel, KerasFunctionalJsonOnACsvFileThenItsOwnModelFile) {
  TempDir home;
  write_thirty_features(home.path() / "rows.csv", 300);
  auto r = run_command(isolated(home, "train --csv rows.csv --label label --model " + kKerasJson +
                                          "functional_mlp.json --epochs 30 --batch-size 16 --lr 0.01 --threads 1 "
                                          "--out run --verbose 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GE(model_test_accuracy(r.output), 0.8) << "f0 > f1 is learnable:\n" << r.output;
  const auto config = nlohmann::json::parse(io::read_file(home.path() / "run" / "config.json"));
  EXPECT_EQ(config["architecture"]["class_name"], "Functional");
  EXPECT_EQ(config["model"], "the model of functional_mlp.json");
  EXPECT_EQ(config["parameters"], (30 * 16 + 16) + (16 * 16 + 16) + (16 * 2 + 2));
  // The trained model file as --model: training starts from its weights.
  r = run_command(isolated(home,
                           "train --csv rows.csv --label label --model run/model.safetensors --epochs 1 "
                           "--batch-size 16 --lr 0.001 --threads 1 --out again --verbose 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GE(model_test_accuracy(r.output), 0.8) << r.output;
}

TEST(KilnTrainModel, KerasSequentialJsonOnFashionMnist) {
  if (!fs::exists(testing::kFashionTrainImages))
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  TempDir home;
  const auto r = run_command(isolated(home, "train --dataset fashion-mnist --model " + kKerasJson +
                                                "sequential_cnn.json --epochs 1 --train-samples 256 "
                                                "--test-samples 128 --threads 1 --out run --verbose 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("random_translation (RandomTranslation)"), std::string::npos) << r.output;
  EXPECT_GE(model_test_accuracy(r.output), 0.0) << r.output;
  const auto config = nlohmann::json::parse(io::read_file(home.path() / "run" / "config.json"));
  EXPECT_EQ(config["architecture"]["config"]["layers"][0]["class_name"], "RandomTranslation");
}

TEST(KilnTrainModel, ModelsThatDoNotFitEndWithExitCode1) {
  TempDir home;
  write_thirty_features(home.path() / "rows.csv", 40);
  // An image model on 30 features.
  auto r = run_command(isolated(
      home, "train --csv rows.csv --label label --model " + kKerasJson + "sequential_cnn.json --epochs 1 --out a"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("sequential_cnn.json"), std::string::npos) << r.output;
  // A layer class Kiln lacks is named.
  std::string text = io::read_file(kKerasJson + "functional_mlp.json");
  text.replace(text.find("\"class_name\": \"Add\""), 19, "\"class_name\": \"Hue\"");
  std::ofstream(home.path() / "hue.json") << text;
  r = run_command(isolated(home, "train --csv rows.csv --label label --model hue.json --epochs 1 --out b"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("unknown layer type \"Hue\""), std::string::npos) << r.output;
}

}  // namespace
}  // namespace kiln
