// The `kiln` command line, run as a user would.
#include <gtest/gtest.h>

#include <filesystem>

#include "kiln/version.hpp"
#include "support/process.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::kCli;
using testing::kFashionTrainImages;
using testing::count_lines;
using testing::isolated;

using testing::run_command;
using testing::TempDir;

TEST(KilnCli, HelpExplainsCommands) {
  auto r = run_command(kCli + " --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* word : {"train", "summary", "KILN_DATA", "cifar-10-binary.tar.gz"}) {
    EXPECT_NE(r.output.find(word), std::string::npos) << word << " missing from:\n" << r.output;
  }
  r = run_command(kCli + " train --help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* word : {"--dataset", "--data", "--epochs", "--batch-size", "--lr", "--seed", "--threads"}) {
    EXPECT_NE(r.output.find(word), std::string::npos) << word << " missing from:\n" << r.output;
  }
}

TEST(KilnCli, VersionIsTheLibrarys) {
  const auto r = run_command(kCli + " --version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.output, std::string("kiln ") + kiln::version() + "\n");
  EXPECT_EQ(std::string(kiln::version()), std::to_string(KILN_VERSION_MAJOR) + "." +
                                              std::to_string(KILN_VERSION_MINOR) + "." +
                                              std::to_string(KILN_VERSION_PATCH));
}

TEST(KilnCli, SummaryShowsTheArticlesParameterCount) {
  auto r = run_command(kCli + " summary");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Total params: 122,570"), std::string::npos) << r.output;
  r = run_command(kCli + " summary --dataset fashion-mnist");
  EXPECT_NE(r.output.find("Total params: 93,322"), std::string::npos) << r.output;
}

TEST(KilnCli, InvalidValuesAreUsageErrors) {
  for (const char* args :
       {"train --epochs -1", "train --epochs 0", "train --batch-size 0", "train --lr nan", "train --lr -0.1",
        "train --lr inf", "train --dataset imagenet", "train --threads -2", "train --epochs ten", "frobnicate", ""}) {
    const auto r = run_command(kCli + " " + args);
    EXPECT_EQ(r.exit_code, 2) << args << ":\n" << r.output;
    EXPECT_LE(count_lines(r.output), 3) << "one clear message for " << args << ":\n" << r.output;
  }
}

TEST(KilnCli, MissingCifarSaysWhereToPutIt) {
  TempDir home, data;
  const auto r = run_command(isolated(home, "train --dataset cifar10 --no-download --data " + data.path().string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cifar-10-binary.tar.gz"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(data.path().string()), std::string::npos) << r.output;
}

TEST(KilnCli, TrainsOnCifarFilesInTheOfficialFormat) {
  TempDir home, data;
  testing::write_tiny_cifar10(data.path(), 40);
  const auto r = run_command(isolated(
      home,
      "train --dataset cifar10 --no-download --epochs 2 --batch-size 16 --verbose 2 --data " + data.path().string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("200 training and 40 test images of shape [32, 32, 3]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Total params: 122,570"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Epoch 2/2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Test accuracy: 0."), std::string::npos) << r.output;
}

TEST(KilnCli, AutoFallsBackToFashionMnistInOneLine) {
  if (!std::filesystem::exists(kFashionTrainImages))
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  TempDir home, data;
  const auto r = run_command(isolated(home,
                                      "train --no-download --epochs 1 --train-samples 256 --test-samples 64 "
                                      "--verbose 2 --data " +
                                          data.path().string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("training the same layers on Fashion-MNIST"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("[28, 28, 1]"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Test accuracy: "), std::string::npos) << r.output;
}

TEST(KilnCli, ArticleCnnLearnsAFashionMnistSubset) {
  if (!std::filesystem::exists(kFashionTrainImages))
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  TempDir home;
  const auto r = run_command(isolated(home,
                                      "train --dataset fashion-mnist --epochs 2 --train-samples 4000 "
                                      "--test-samples 1000 --verbose 2 --seed 1"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto pos = r.output.find("Test accuracy: ");
  ASSERT_NE(pos, std::string::npos) << r.output;
  const double accuracy = std::stod(r.output.substr(pos + 15));
  EXPECT_GT(accuracy, 0.65) << "chance is 0.10\n" << r.output;
}

TEST(KilnCli, DivergingLossStopsWithTheStep) {
  TempDir home, data;
  testing::write_tiny_cifar10(data.path(), 40);
  const auto r = run_command(isolated(
      home, "train --dataset cifar10 --no-download --epochs 3 --lr 1e30 --verbose 0 --data " + data.path().string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("loss became"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(", step "), std::string::npos) << r.output;
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// Only the numbers a run computes (losses, accuracies), without its timings.
// The values printed after ": ", except the peak memory, which depends on when
// the threads allocated (it differed by 1 MB between two identical runs).
std::string numbers_only(const std::string& output) {
  std::string out;
  std::size_t pos = 0;
  while ((pos = output.find(": ", pos)) != std::string::npos) {
    const std::size_t line_start = output.rfind('\n', pos) == std::string::npos ? 0 : output.rfind('\n', pos) + 1;
    pos += 2;
    const std::size_t end = output.find_first_of(" \n", pos);
    if (output.compare(line_start, 12, "Peak memory:") != 0) out += output.substr(pos, end - pos) + " ";
  }
  return out;
}

TEST(KilnCli, SameSeedAndThreadsGiveTheSameRun) {
  TempDir home, data;
  testing::write_tiny_cifar10(data.path(), 40);
  const std::string args =
      "train --dataset cifar10 --no-download --epochs 2 --batch-size 16 --verbose 2 --seed 5 "
      "--threads 2 --data " +
      data.path().string();
  // Each into its own run folder of the same name, so that the printed paths agree too.
  TempDir other_home;
  const auto first = run_command(isolated(home, args + " --out run")),
             second = run_command(isolated(other_home, args + " --out run"));
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_FALSE(numbers_only(first.output).empty());
  EXPECT_EQ(numbers_only(first.output), numbers_only(second.output));
}

}  // namespace
}  // namespace kiln
