// `kiln train --csv FILE --label COLUMN`: an MLP classifier or regressor on a CSV file the
// test writes, its run folder, and bad files ending with exit code 1 naming line and column.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>

#include "kiln/io/files.hpp"
#include "kiln/random.hpp"
#include "support/process.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::isolated;
using testing::kCli;

using testing::run_command;
using testing::TempDir;
namespace fs = std::filesystem;

// Rows a, b uniform in [0, 1), a colour, and targets: "yes" when a > b, and 3a - 2b + 1.
void write_rows(const fs::path& file, int rows) {
  std::ofstream out(file);
  out << "a,colour,b,answer,value\n";
  Generator g(5);
  const char* colours[] = {"red", "green", "blue"};
  for (int i = 0; i < rows; ++i) {
    const double a = g.uniform(), b = g.uniform();
    out << a << "," << colours[i % 3] << "," << b << "," << (a > b ? "yes" : "no") << "," << 3 * a - 2 * b + 1 << "\n";
  }
}

double final_value(const std::string& output, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(output, m, std::regex(name + ": ([0-9.]+)"))) return -1;
  return std::stod(m[1]);
}

TEST(KilnTrainCsv, ClassifierLearnsTheLabelAndReportsItsClassNames) {
  TempDir home;
  write_rows(home.path() / "rows.csv", 200);
  const auto r = run_command(isolated(home,
                                "train --csv rows.csv --label answer --categorical colour --epochs 30 "
                                "--batch-size 16 --lr 0.01 --threads 1 --out run --verbose 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_GE(final_value(r.output, "Test accuracy"), 0.85) << "a > b is learnable:\n" << r.output;
  const auto config = nlohmann::json::parse(io::read_file(home.path() / "run" / "config.json"));
  EXPECT_EQ(config["class_names"], (nlohmann::json{"no", "yes"}));
  // a, colour one-hot (3), b, value: 6 features; the label is not one of them.
  EXPECT_EQ(config["input_shape"], nlohmann::json{6});
  EXPECT_EQ(config["settings"]["task"], "classification");
  const auto metrics = nlohmann::json::parse(io::read_file(home.path() / "run" / "metrics.json"));
  EXPECT_EQ(metrics["num_samples"], 40);
}

TEST(KilnTrainCsv, RegressorFitsALinearTarget) {
  TempDir home;
  write_rows(home.path() / "rows.csv", 200);
  const auto r = run_command(isolated(home,
                                "train --csv rows.csv --label value --epochs 40 --batch-size 16 --lr 0.01 "
                                "--threads 1 --out run --verbose 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // Predicting the mean would give a mean absolute error near 0.85.
  const double mae = final_value(r.output, "Test mae");
  EXPECT_GE(mae, 0);
  EXPECT_LT(mae, 0.3) << r.output;
  const auto config = nlohmann::json::parse(io::read_file(home.path() / "run" / "config.json"));
  EXPECT_EQ(config["settings"]["task"], "regression");
  EXPECT_EQ(config["settings"]["categorical"], "colour,answer");  // text columns, found by auto
}

TEST(KilnTrainCsv, BadFilesEndWithExitCode1NamingLineAndColumn) {
  TempDir home;
  std::ofstream(home.path() / "short.csv") << "a,b,y\n1,2,0\n3,4\n5,6,1\n";
  auto r = run_command(isolated(home, "train --csv short.csv --label y --out a"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("short.csv: line 3 has 2 fields; expected 3"), std::string::npos) << r.output;
  std::ofstream(home.path() / "text.csv") << "a,b,y\n1,2,0\n3,x4,1\n5,6,1\n7,8,0\n";
  r = run_command(isolated(home, "train --csv text.csv --label y --out b"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("text.csv: line 3, column 'b': 'x4' is not a number"), std::string::npos) << r.output;
  std::ofstream(home.path() / "gap.csv") << "a,b,y\n1,,0\n3,4,1\n5,6,1\n7,8,0\n";
  r = run_command(isolated(home, "train --csv gap.csv --label y --out c"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("line 2 column 'b'"), std::string::npos) << r.output;
  r = run_command(isolated(home, "train --csv gap.csv --label z --out d"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("no column 'z'"), std::string::npos) << r.output;
  r = run_command(isolated(home, "train --csv gap.csv --out e"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
}  // namespace kiln
