// `kiln gan`, run as a user would: the eight-Gaussians test of mode coverage,
// and a short DCGAN run on Fashion-MNIST that writes its files.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "support/process.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::kCli;
using testing::kFashionTrainImages;
using testing::last_line;

using testing::run_command;
using testing::TempDir;

// The acceptance test: a fixed seed (and thread count, so the run is
// bit-identical anywhere) covers at least 6 of the 8 modes.
TEST(KilnGan, RingOfEightGaussiansCoversMostModes) {
  const auto r = run_command(kCli + " gan --toy ring8 --seed 1 --threads 1 --verbose 2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string line = last_line(r.output);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(line, m, std::regex(R"(modes covered: (\d)/8)"))) << "last line: " << line << "\n"
                                                                                 << r.output;
  EXPECT_GE(std::stoi(m[1]), 6) << r.output;
  EXPECT_NE(r.output.find("Epoch 40/40"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("d_loss: "), std::string::npos) << "fit shows the custom step's values\n" << r.output;
}

TEST(KilnGan, SameSeedSameRun) {
  const std::string cmd = kCli + " gan --toy ring8 --seed 3 --threads 1 --epochs 2 --train-samples 4096 --verbose 2";
  const auto a = run_command(cmd), b = run_command(cmd);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  // Everything but the timings.
  auto strip = [](const std::string& s) { return std::regex_replace(s, std::regex(R"(\d+m?s(/epoch|/step)?)"), "T"); };
  EXPECT_EQ(strip(a.output), strip(b.output));
}

TEST(KilnGan, BadOptionsAreUsageErrors) {
  for (const char* args : {"gan --toy moons", "gan --epochs 0", "gan --lr -1", "gan --batch-size 0", "gan --lr nan"}) {
    const auto r = run_command(kCli + " " + args);
    EXPECT_EQ(r.exit_code, 2) << args << ":\n" << r.output;
  }
  const auto help = run_command(kCli + " gan --help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* word : {"--toy", "--epochs", "--out", "--seed", "--score-samples"}) {
    EXPECT_NE(help.output.find(word), std::string::npos) << word << "\n" << help.output;
  }
}

TEST(KilnGan, DcganWritesSamplesCurvesAndScores) {
  if (!std::filesystem::exists(kFashionTrainImages)) GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  TempDir out;
  const auto r = run_command(kCli + " gan --epochs 2 --train-samples 256 --score-samples 100 --classifier-epochs 1 "
                                    "--threads 2 --verbose 2 --out " + out.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* file : {"samples_epoch_001.png", "samples_epoch_002.png", "losses.csv", "losses.png"}) {
    EXPECT_TRUE(std::filesystem::exists(out.path() / file)) << file << "\n" << r.output;
  }
  for (const char* text : {"Epoch 2/2", "d_loss: ", "g_loss: ", "real test images", "generated images", "inception-like"}) {
    EXPECT_NE(r.output.find(text), std::string::npos) << text << "\n" << r.output;
  }
  // losses.csv: a header and one row per step (256 / 64 = 4 steps per epoch).
  const auto csv = run_command("cat " + (out.path() / "losses.csv").string());
  EXPECT_EQ(csv.output.rfind("step,epoch,d_loss,g_loss\n", 0), 0u) << csv.output;
  EXPECT_EQ(std::count(csv.output.begin(), csv.output.end(), '\n'), 1 + 8) << csv.output;
}

}  // namespace
}  // namespace kiln
