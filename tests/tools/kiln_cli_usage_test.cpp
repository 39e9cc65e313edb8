// The command line's first errors and quiet runs (issues 10 and 18): every usage error is one
// line on standard error naming the option, the value given and what is allowed, with exit
// code 2; unknown words get the closest valid one; --verbose 0 prints only the final line;
// kiln evaluate RUN_DIR reproduces the run's Test accuracy.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "kiln/kiln.hpp"
#include "support/process.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::kCli;
using testing::count_lines;

using testing::run_command;
using testing::TempDir;

// Standard error alone; standard output goes to `stdout_file` when given.
testing::ProcessResult stderr_of(const std::string& args, const std::string& stdout_file = "/dev/null") {
  return run_command("( " + kCli + " " + args + " 2>&1 1>" + stdout_file + " )");
}

std::string read(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct BadValue {
  std::string command, option, value, allowed;
};

TEST(KilnCliUsage, EveryOptionWithAnInvalidValueIsOneLineNamingOptionValueAndWhatIsAllowed) {
  TempDir dir;
  const std::string file = (dir.path() / "a_file").string();
  std::ofstream(file) << "x";
  const std::string missing = (dir.path() / "does-not-exist").string();
  const std::vector<BadValue> cases = {
      {"train", "--dataset", "imagenet", "expected auto, cifar10, fashion-mnist, mnist or folder"},
      {"train", "--data", missing, "expected a folder that exists"},
      {"train", "--epochs", "0", "expected a whole number >= 1"},
      {"train", "--epochs", "ten", "expected a whole number >= 1"},
      {"train", "--batch-size", "0", "expected a whole number >= 1"},
      {"train", "--lr", "nan", "expected a finite number greater than 0"},
      {"train", "--lr-schedule", "linear", "expected constant, step, cosine or plateau"},
      {"train", "--early-stopping", "2.5", "expected a whole number >= 0"},
      {"train", "--seed", "seven", "expected a whole number from 0 to 18446744073709551615"},
      {"train", "--threads", "many", "expected a whole number >= 0"},
      {"train", "--verbose", "3", "expected a whole number from 0 to 2"},
      {"train", "--train-samples", "1e3", "expected a whole number >= 0"},
      {"train", "--test-samples", "all", "expected a whole number >= 0"},
      {"train", "--out", file, "expected a folder (that is a file)"},
      {"train", "--resume", missing, "expected a folder that exists"},
      {"evaluate", "model", missing, "expected a model file or a run folder that exists"},
      {"evaluate " + dir.path().string(), "--dataset", "cifar100", "expected auto, cifar10, fashion-mnist or mnist"},
      {"evaluate " + dir.path().string(), "--data", file, "expected a folder (that is a file)"},
      {"evaluate " + dir.path().string(), "--split", "validation", "expected test or train"},
      {"evaluate " + dir.path().string(), "--samples", "some", "expected a whole number >= 0"},
      {"evaluate " + dir.path().string(), "--batch-size", "0", "expected a whole number >= 1"},
      {"evaluate " + dir.path().string(), "--digits", "9", "expected a whole number from 1 to 8"},
      {"evaluate " + dir.path().string(), "--out", file, "expected a folder (that is a file)"},
      {"summary", "--dataset", "cifar100", "expected auto, cifar10, fashion-mnist or mnist"},
      {"lm", "--model", "gru", "expected lstm or transformer"},
      {"lm", "--data", missing, "expected a file that exists"},
      {"lm", "--epochs", "0", "expected a whole number >= 1"},
      {"lm", "--batch-size", "0", "expected a whole number >= 1"},
      {"lm", "--lr", "0", "expected a finite number greater than 0"},
      {"lm", "--seed", "abc", "expected a whole number from 0 to 18446744073709551615"},
      {"lm", "--threads", "1.5", "expected a whole number >= 0"},
      {"lm", "--verbose", "5", "expected a whole number from 0 to 2"},
      {"lm", "--max-words", "lots", "expected a whole number >= 0"},
      {"lm", "--validation-split", "0.95", "expected a number from 0.001 to 0.9"},
      {"lm", "--samples", "x", "expected a whole number >= 0"},
      {"gan", "--toy", "ring9", "expected ring8 (did you mean ring8?)"},
      {"gan", "--epochs", "0", "expected a whole number >= 1"},
      {"gan", "--batch-size", "0", "expected a whole number >= 1"},
      {"gan", "--lr", "inf", "expected a finite number greater than 0"},
      {"gan", "--latent-dim", "0", "expected a whole number >= 1"},
      {"gan", "--seed", "1.5", "expected a whole number from 0 to 18446744073709551615"},
      {"gan", "--threads", "x", "expected a whole number >= 0"},
      {"gan", "--verbose", "9", "expected a whole number from 0 to 2"},
      {"gan", "--out", file, "expected a folder (that is a file)"},
      {"gan", "--data", missing, "expected a folder that exists"},
      {"gan", "--train-samples", "none", "expected a whole number >= 0"},
      {"gan", "--classifier-epochs", "0", "expected a whole number >= 1"},
      {"gan", "--score-samples", "0", "expected a whole number >= 1"},
  };
  for (const auto& c : cases) {
    const std::string args = c.command + " " + (c.option == "model" ? "" : c.option + " ") + c.value;
    const auto r = stderr_of(args, (dir.path() / "stdout").string());
    EXPECT_EQ(r.exit_code, 2) << args << ":\n" << r.output;
    EXPECT_EQ(count_lines(r.output), 1) << args << ":\n" << r.output;
    const std::string sub = c.command.substr(0, c.command.find(' '));
    const std::string expected = "kiln " + sub + ": " + c.option + ": got " + c.value + ", " + c.allowed;
    EXPECT_EQ(r.output.substr(0, expected.size()), expected) << args << ":\n" << r.output;
    EXPECT_EQ(read(dir.path() / "stdout"), "") << args;
  }
}

TEST(KilnCliUsage, UnknownCommandsAndOptionsNameTheClosestValidOne) {
  auto r = stderr_of("trian");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output,
            "kiln: unknown command 'trian'; did you mean 'train'? (commands: train, summary, lm, evaluate, gan, "
            "export, import, predict) "
            "(see kiln --help)\n");
  r = stderr_of("evalute x");
  EXPECT_NE(r.output.find("did you mean 'evaluate'?"), std::string::npos) << r.output;
  r = stderr_of("train --epoch 3");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output, "kiln train: unknown option --epoch; did you mean --epochs? (see kiln train --help)\n");
  r = stderr_of("lm --learning-rate=0.1");
  EXPECT_EQ(r.output, "kiln lm: unknown option --learning-rate (see kiln lm --help)\n");
  r = stderr_of("gan --lattent-dim 4");
  EXPECT_NE(r.output.find("did you mean --latent-dim?"), std::string::npos) << r.output;
  r = stderr_of("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.output,
            "kiln: a command is required: one of train, summary, lm, evaluate, gan, export, import, predict (see kiln "
            "--help)\n");
  r = stderr_of("train --epochs");
  EXPECT_EQ(r.output, "kiln train: --epochs: needs a value (INT:N>=1) (see kiln train --help)\n");
  // Negative numbers given as values are values, not options.
  EXPECT_NE(stderr_of("train --lr -0.5").output.find("--lr"), std::string::npos);
}

// A short CIFAR-10 run on files in the official format (40 images per batch file).
std::string tiny_run(const TempDir& home, const TempDir& data, const std::string& extra) {
  return "cd " + home.path().string() + " && HOME=" + home.path().string() + " KILN_DATA= " + kCli +
         " train --dataset cifar10 --no-download --epochs 1 --batch-size 16 --train-samples 64 --threads 1 --data " +
         data.path().string() + " " + extra;
}

TEST(KilnCliUsage, VerboseZeroPrintsOnlyTheTestAccuracy) {
  TempDir home, data;
  testing::write_tiny_cifar10(data.path(), 40);
  const auto r = run_command("( " + tiny_run(home, data, "--verbose 0 --out run") + " 2>/dev/null )");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("Test accuracy: 0.", 0), 0u) << r.output;
  EXPECT_EQ(count_lines(r.output), 1) << r.output;
  EXPECT_TRUE(std::filesystem::exists(home.path() / "run" / "model.safetensors"));
}

TEST(KilnCliUsage, LmVerboseZeroPrintsOnlyTheValidationLoss) {
  TempDir dir;
  const auto words = dir.path() / "words.txt";
  {
    std::ofstream out(words);
    Generator gen(1);
    for (int i = 0; i < 300; ++i) {
      std::string w;
      for (int k = 0, n = 2 + int(gen.below(5)); k < n; ++k) w += char('a' + gen.below(6));
      out << w << "\n";
    }
  }
  const auto r = run_command("( " + kCli + " lm --data " + words.string() +
                             " --epochs 1 --batch-size 32 --threads 1 --samples 2 --verbose 0 2>/dev/null )");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("validation loss ", 0), 0u) << r.output;
  EXPECT_EQ(count_lines(r.output), 1) << r.output;
}

TEST(KilnCliUsage, EvaluateOfARunFolderReproducesItsTestAccuracy) {
  TempDir home, data;
  testing::write_tiny_cifar10(data.path(), 40);
  const auto train = run_command(tiny_run(home, data, "--test-samples 25 --verbose 2 --seed 3 --out run"));
  ASSERT_EQ(train.exit_code, 0) << train.output;
  const auto at = train.output.find("Test accuracy: ");
  ASSERT_NE(at, std::string::npos) << train.output;
  const std::string accuracy = train.output.substr(at + 15, 6);

  const auto r = run_command(kCli + " evaluate " + (home.path() / "run").string() + " --no-download --data " +
                             data.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("CIFAR-10 test split, 25 images"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Accuracy: " + accuracy + "\n"), std::string::npos) << "the run said " << accuracy << "\n"
                                                                              << r.output;
  // --samples still chooses.
  const auto all = run_command(kCli + " evaluate " + (home.path() / "run").string() +
                               " --no-download --samples 0 --data " + data.path().string());
  EXPECT_NE(all.output.find("CIFAR-10 test split, 40 images"), std::string::npos) << all.output;
}

TEST(KilnCliUsage, EvaluateOfAMultiInputModelSaysHowToGiveItData) {
  TempDir dir;
  SymbolicTensor a = Input({28, 28, 1}, "image"), b = Input({4}, "extra");
  SymbolicTensor h = layers::Concatenate()({layers::Flatten()(a), b});
  Model model({a, b}, {layers::Dense(10, "softmax")(h)});
  model.save(dir.path() / "two_inputs.safetensors");
  const auto r = stderr_of("evaluate " + (dir.path() / "two_inputs.safetensors").string());
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("the model takes 2 inputs ([28, 28, 1], [4])"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("model->evaluate(kiln::data::Dataset({x1, x2}, y))"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace kiln
