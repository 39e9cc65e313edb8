// `kiln train` run folders, `kiln evaluate`, and a run killed with SIGKILL in the middle
// of an epoch, resumed, ending with the very weights of a run that was never killed.
#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>

#include "kiln/io/files.hpp"
#include "kiln/io/safetensors.hpp"
#include "support/process.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::kCli;
using testing::isolated;

using testing::run_command;
using testing::TempDir;
namespace fs = std::filesystem;

// The same, with the program replacing the shell (so that a signal sent to the pid reaches kiln).
std::string isolated_exec(const TempDir& home, const std::string& args) {
  return "cd " + home.path().string() + " && exec env HOME=" + home.path().string() + " KILN_DATA= " + kCli + " " +
         args;
}

std::string cifar_args(const TempDir& data) {
  return "train --dataset cifar10 --no-download --threads 1 --batch-size 8 --seed 3 --data " + data.path().string();
}

TEST(RunFolder, TrainWritesCheckpointsMetricsPlotsAndReport) {
  TempDir home, data;
  testing::write_tiny_cifar10(data.path(), 20);
  const auto r = run_command(isolated(home, cifar_args(data) + " --epochs 2 --verbose 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Without --out: a new folder under runs/ in the working directory.
  std::vector<fs::path> runs;
  for (const auto& e : fs::directory_iterator(home.path() / "runs")) runs.push_back(e.path());
  ASSERT_EQ(runs.size(), 1u);
  const fs::path dir = runs[0];
  EXPECT_NE(dir.filename().string().find("-cifar10"), std::string::npos) << dir;
  for (const char* f : {"config.json", "checkpoint.safetensors", "best.safetensors", "history.csv", "history.json",
                        "model.safetensors", "predictions.csv", "metrics.json", "report.html"}) {
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  }
  const std::string csv = io::read_file(dir / "history.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3) << csv;
  const auto metrics = nlohmann::json::parse(io::read_file(dir / "metrics.json"));
  EXPECT_EQ(metrics["num_samples"], 20);
  // The printed test accuracy is the one in metrics.json (the same model, the same images).
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("Test accuracy: ([0-9.]+)")));
  EXPECT_NEAR(std::stod(m[1]), metrics["accuracy"].get<double>(), 5e-5);

  // kiln evaluate on the run folder: scikit-learn's report and the confusion matrix.
  const auto e =
      run_command(isolated(home, "evaluate " + dir.string() + " --no-download --data " + data.path().string()));
  ASSERT_EQ(e.exit_code, 0) << e.output;
  for (const char* part : {"precision    recall  f1-score   support", "airplane", "macro avg", "weighted avg",
                           "Confusion matrix", "true \\ predicted", "ROC AUC", "test split, 20 images"}) {
    EXPECT_NE(e.output.find(part), std::string::npos) << part << "\n" << e.output;
  }
  ASSERT_TRUE(std::regex_search(e.output, m, std::regex("Accuracy: ([0-9.]+)")));
  EXPECT_NEAR(std::stod(m[1]), metrics["accuracy"].get<double>(), 5e-5);
}

TEST(RunFolder, EvaluateAndResumeErrorsAreClear) {
  TempDir home, data;
  testing::write_tiny_cifar10(data.path(), 10);
  auto r = run_command(isolated(home, "evaluate " + (home.path() / "nothing.safetensors").string()));
  EXPECT_EQ(r.exit_code, 2) << "a path that does not exist is a usage error:\n" << r.output;
  EXPECT_NE(r.output.find("nothing.safetensors, expected a model file or a run folder that exists"), std::string::npos)
      << r.output;
  r = run_command(isolated(home, "train --resume " + home.path().string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("not a run folder"), std::string::npos) << r.output;
  r = run_command(isolated(home, "train --resume " + home.path().string() + " --epochs 3"));
  EXPECT_EQ(r.exit_code, 2) << "settings come from the run being resumed:\n" << r.output;
  r = run_command(isolated(home, cifar_args(data) + " --epochs 1 --verbose 0 --out first"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_command(isolated(home, cifar_args(data) + " --epochs 1 --verbose 0 --out first"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("already holds a run"), std::string::npos) << r.output;
  r = run_command(isolated(home, "evaluate first --dataset fashion-mnist"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("takes inputs of shape [32, 32, 3]"), std::string::npos) << r.output;
  // A model file alone: the dataset comes from its input shape; --out keeps predictions and metrics.
  r = run_command(isolated(home, "evaluate first/model.safetensors --no-download --data " + data.path().string() +
                                     " --split train --samples 30 --out eval"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("CIFAR-10 train split, 30 images"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(home.path() / "eval" / "predictions.csv"));
  EXPECT_TRUE(fs::exists(home.path() / "eval" / "metrics.json"));
}

// The epoch the progress bar of `output` is in, and the step it last showed.
bool inside_epoch(const std::string& output, int epoch) {
  const auto at = output.find("Epoch " + std::to_string(epoch) + "/");
  if (at == std::string::npos) return false;
  std::smatch m;
  const std::string after = output.substr(at);
  if (!std::regex_search(after, m, std::regex("\r *([0-9]+)/([0-9]+) \\["))) return false;
  return std::stoi(m[1]) < std::stoi(m[2]);
}

TEST(RunFolder, SigkillMidEpochThenResumeGivesBitIdenticalWeights) {
  TempDir home, data;
  testing::write_tiny_cifar10(data.path(), 400);  // 2000 training images: 250 steps an epoch
  const std::string args = cifar_args(data) + " --epochs 3 --lr-schedule plateau --early-stopping 5";
  const auto whole = run_command(isolated(home, args + " --verbose 2 --out whole"));
  ASSERT_EQ(whole.exit_code, 0) << whole.output;

  testing::Child killed(isolated_exec(home, args + " --verbose 1 --out killed"));
  ASSERT_TRUE(killed.read_until([](const std::string& out) { return inside_epoch(out, 2); }, 300)) << killed.output();
  EXPECT_EQ(killed.kill_and_wait(SIGKILL), -SIGKILL);
  const fs::path dir = home.path() / "killed";
  EXPECT_FALSE(fs::exists(dir / "model.safetensors")) << "the run did not finish";
  // Killed in epoch 2: the last complete checkpoint is epoch 1's, intact.
  const auto checkpoint = io::load_safetensors(dir / "checkpoint.safetensors");
  EXPECT_EQ(nlohmann::json::parse(checkpoint.metadata.at("kiln.training"))["epochs_done"], 1);

  const auto resumed = run_command(
      isolated(home, "train --verbose 2 --no-download --data " + data.path().string() + " --resume " + dir.string()));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("Resuming " + dir.string() + " after epoch 1 of 3"), std::string::npos)
      << resumed.output;
  EXPECT_EQ(resumed.output.find("Epoch 1/3"), std::string::npos) << "epoch 1 is not trained again";

  // Every tensor of the final models is bit-identical (weights and optimizer state), and so is the log.
  const auto a = io::load_safetensors(home.path() / "whole" / "model.safetensors");
  const auto b = io::load_safetensors(dir / "model.safetensors");
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    const Tensor& x = a.tensors[i].tensor;
    const Tensor* y = b.find(a.tensors[i].name);
    ASSERT_NE(y, nullptr) << a.tensors[i].name;
    ASSERT_EQ(x.shape(), y->shape());
    EXPECT_EQ(std::memcmp(x.raw_data(), y->raw_data(), x.numel() * dtype_size(x.dtype())), 0) << a.tensors[i].name;
  }
  EXPECT_EQ(a.metadata, b.metadata);
  EXPECT_EQ(io::read_file(home.path() / "whole" / "history.csv"), io::read_file(dir / "history.csv"));
  EXPECT_EQ(io::read_file(home.path() / "whole" / "metrics.json"), io::read_file(dir / "metrics.json"));
}

}  // namespace
}  // namespace kiln
