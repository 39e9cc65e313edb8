// `kiln lm` end to end: a tiny smoke run of both models on a few hundred words
// (the system word list when installed, else a generated one), its last line's
// format, that the loss fell, determinism, and its errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <utility>
#include <vector>

#include "kiln/random.hpp"
#include "support/process.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::kCli;
using testing::last_line;

using testing::run_command;
using testing::TempDir;

const char* kWords = "/usr/share/dict/words";

// Pronounceable made-up words, for machines without a word list.
std::string generated_word_list(const TempDir& dir) {
  const char* onsets[] = {"b", "c", "d", "fr", "g", "l", "m", "n", "p", "st", "tr", "w"};
  const char* vowels[] = {"a", "e", "i", "o", "u", "ea", "ou"};
  const char* codas[] = {"", "n", "r", "s", "t", "ng", "ck"};
  Generator gen(5);
  const auto path = dir.path() / "words.txt";
  std::ofstream out(path);
  for (int i = 0; i < 2000; ++i) {
    std::string w;
    for (int s = 0, n = 1 + int(gen.below(3)); s < n; ++s) {
      w += std::string(onsets[gen.below(12)]) + vowels[gen.below(7)] + codas[gen.below(7)];
    }
    out << w << "\n";
  }
  return path.string();
}

// Debian's word list (wamerican) when present, else a generated one.
std::string word_list(const TempDir& dir) {
  return std::filesystem::exists(kWords) ? std::string(kWords) : generated_word_list(dir);
}

double number_after(const std::string& s, const std::string& label) {
  const auto pos = s.find(label);
  if (pos == std::string::npos) return -1;
  return std::stod(s.substr(pos + label.size()));
}

TEST(KilnLm, BothModelsRunAndTheLossFalls) {
  TempDir dir;
  std::vector<std::pair<std::string, std::string>> runs = {{"lstm", generated_word_list(dir)}};
  if (std::filesystem::exists(kWords)) {
    runs = {{"lstm", kWords}, {"transformer", kWords}, runs[0]};
  } else {
    runs.emplace_back("transformer", runs[0].second);
  }
  for (const auto& [model, data] : runs) {
    SCOPED_TRACE(model + " on " + data);
    const auto r = run_command(kCli + " lm --model " + model + " --data " + data +
                               " --max-words 400 --epochs 1 --batch-size 32 --verbose 2 --threads 1 --samples 3");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("Epoch 1/1"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("Samples"), std::string::npos) << r.output;
    const std::string line = last_line(r.output);
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, std::regex(R"(validation loss (\d+\.\d{3}) nats/char \(bigram baseline (\d+\.\d{3})\))")))
        << "last line: " << line;
    const double loss = std::stod(m[1]), bigram = std::stod(m[2]);
    const double before = number_after(r.output, "Validation loss before training: ");
    EXPECT_GT(bigram, 1.0);
    EXPECT_LT(bigram, 4.5);
    EXPECT_LT(loss, before - 0.1) << "one short epoch should lower the loss; before " << before << "\n" << r.output;
  }
}

TEST(KilnLm, SameSeedAndThreadsGiveTheSameRun) {
  TempDir dir;
  const std::string cmd = kCli + " lm --model lstm --data " + word_list(dir) +
                          " --max-words 200 --epochs 1 --verbose 0 --threads 1 --samples 4 --seed 3";
  const auto a = run_command(cmd), b = run_command(cmd);
  ASSERT_EQ(a.exit_code, 0) << a.output;
  // Everything but the peak-memory figure: losses and samples.
  auto stable = [](const std::string& s) { return std::regex_replace(s, std::regex("peak memory [0-9]+ MB"), ""); };
  EXPECT_EQ(stable(a.output), stable(b.output));
}

TEST(KilnLm, MissingWordListNamesTheFile) {
  const auto r = run_command(kCli + " lm --data /nonexistent/words.txt");
  EXPECT_EQ(r.exit_code, 2) << "a path that does not exist is a usage error:\n" << r.output;
  EXPECT_NE(r.output.find("/nonexistent/words.txt"), std::string::npos) << r.output;
}

TEST(KilnLm, InvalidValuesAreUsageErrors) {
  for (const char* args : {"--model gru", "--epochs 0", "--batch-size 0", "--lr -1", "--validation-split 1.5"}) {
    const auto r = run_command(kCli + " lm " + args);
    EXPECT_EQ(r.exit_code, 2) << args << ":\n" << r.output;
  }
}

}  // namespace
}  // namespace kiln
