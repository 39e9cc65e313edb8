// `kiln train --data DIR` on an image folder: the run folder and report as for the built-in
// datasets, class names from the folder, --resume, and bad folders ending with exit code 1.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "data/image_test_util.hpp"
#include "kiln/io/files.hpp"
#include "support/process.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::isolated;
using testing::kCli;

using testing::run_command;
namespace fs = std::filesystem;

// "dark" images are 0..59, "light" ones 160..219 (with a position pattern), 20x20 grayscale.
void write_two_classes(const fs::path& dir, int per_class) {
  for (int i = 0; i < per_class; ++i) {
    for (const auto& [name, base] : std::vector<std::pair<std::string, int>>{{"dark", 0}, {"light", 160}}) {
      const auto px =
          test::pixels(20, 20, 1, [&, base = base](int y, int x, int) { return base + (x * 7 + y * 3 + i) % 60; });
      test::write_image(dir / name / (std::to_string(i) + ".png"), 20, 20, 1, px);
    }
  }
}

TEST(KilnTrainFolder, TrainsAndReportsWithTheFoldersClassNames) {
  testing::TempDir home;
  test::TempDir data;
  write_two_classes(data.path(), 12);
  const std::string args = "train --data " + data.path().string() +
                           " --epochs 4 --batch-size 4 --lr 0.005 --threads 1 --seed 1 --out run --verbose 2";
  const auto r = run_command(isolated(home, args));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Found 24 files belonging to 2 classes."), std::string::npos) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("Test accuracy: ([0-9.]+)"))) << r.output;
  EXPECT_GE(std::stod(m[1]), 0.99) << "the classes differ by brightness alone:\n" << r.output;
  const fs::path run = home.path() / "run";
  const auto config = nlohmann::json::parse(io::read_file(run / "config.json"));
  EXPECT_EQ(config["class_names"], (nlohmann::json{"dark", "light"}));
  EXPECT_EQ(config["input_shape"], (nlohmann::json{20, 20, 1}));
  EXPECT_EQ(config["settings"]["dataset"], "folder");
  EXPECT_EQ(config["settings"]["image_size"], "20x20");  // no --image-size: the first image's
  EXPECT_EQ(config["settings"]["color_mode"], "grayscale");
  const auto metrics = nlohmann::json::parse(io::read_file(run / "metrics.json"));
  EXPECT_EQ(metrics["num_samples"], 4);  // int(0.2 * 24) held out
  EXPECT_NEAR(std::stod(m[1]), metrics["accuracy"].get<double>(), 5e-5);
  EXPECT_EQ(metrics["class_names"], (nlohmann::json{"dark", "light"}));
  // --resume of a finished run: nothing left to train, the same accuracy.
  const auto again = run_command(isolated(home, "train --resume run --verbose 0"));
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find(m[0].str()), std::string::npos) << again.output;
}

// --recipe on a folder: the recipe's network on the folder's image size, scored (and reported)
// with its test-time flip.
TEST(KilnTrainFolder, TrainsARecipe) {
  testing::TempDir home;
  test::TempDir data;
  write_two_classes(data.path(), 12);
  const auto r = run_command(isolated(home, "train --data " + data.path().string() +
                                                " --recipe fast --epochs 3 --batch-size 4 --threads 1 --seed 1"
                                                " --precision float32 --out run --verbose 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.output, m, std::regex("Test accuracy: ([0-9.]+)"))) << r.output;
  const fs::path run = home.path() / "run";
  const auto config = nlohmann::json::parse(io::read_file(run / "config.json"));
  EXPECT_EQ(config["model"], "recipe fast (examples/recipes/recipes.cpp)");
  EXPECT_EQ(config["input_shape"], (nlohmann::json{20, 20, 1}));
  EXPECT_EQ(config["settings"]["recipe"], "fast");
  const auto metrics = nlohmann::json::parse(io::read_file(run / "metrics.json"));
  EXPECT_NEAR(std::stod(m[1]), metrics["accuracy"].get<double>(), 5e-5);
}

TEST(KilnTrainFolder, ImageSizeAndColourModeOptions) {
  testing::TempDir home;
  test::TempDir data;
  write_two_classes(data.path(), 5);
  const auto r = run_command(isolated(home, "train --data " + data.path().string() +
                                          " --epochs 1 --batch-size 4 --threads 1 --image-size 24x28 --color-mode rgb "
                                          "--validation-split 0.3 --out run --verbose 2"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto config = nlohmann::json::parse(io::read_file(home.path() / "run" / "config.json"));
  EXPECT_EQ(config["input_shape"], (nlohmann::json{24, 28, 3}));
  EXPECT_EQ(nlohmann::json::parse(io::read_file(home.path() / "run" / "metrics.json"))["num_samples"], 3);
  const auto bad = run_command(isolated(home, "train --data " + data.path().string() + " --image-size 0x5 --out run2"));
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--image-size"), std::string::npos) << bad.output;
}

// --cache: decoded once or every epoch, the same run (same weights, same accuracy); auto caches a
// small folder and says so.
TEST(KilnTrainFolder, CachedAndStreamedRunsAgree) {
  testing::TempDir home;
  test::TempDir data;
  write_two_classes(data.path(), 6);
  const auto run = [&](const std::string& cache, const std::string& out) {
    return run_command(isolated(home, "train --data " + data.path().string() + " --epochs 2 --batch-size 4 --lr 0.005 "
                                      "--threads 1 --seed 3 --verbose 2 --out " + out + cache));
  };
  const auto streamed = run(" --cache none", "none"), cached = run(" --cache memory", "memory"), chosen = run("", "auto");
  ASSERT_EQ(streamed.exit_code, 0) << streamed.output;
  ASSERT_EQ(cached.exit_code, 0) << cached.output;
  ASSERT_EQ(chosen.exit_code, 0) << chosen.output;
  std::smatch a, b;
  ASSERT_TRUE(std::regex_search(streamed.output, a, std::regex("Test accuracy: [0-9.]+"))) << streamed.output;
  ASSERT_TRUE(std::regex_search(cached.output, b, std::regex("Test accuracy: [0-9.]+"))) << cached.output;
  EXPECT_EQ(a[0].str(), b[0].str());
  EXPECT_EQ(io::read_file(home.path() / "none" / "model.safetensors"),
            io::read_file(home.path() / "memory" / "model.safetensors"));
  EXPECT_NE(chosen.output.find("Caching the decoded images in memory"), std::string::npos) << chosen.output;
  EXPECT_EQ(streamed.output.find("Caching"), std::string::npos) << streamed.output;
  const auto bad = run(" --cache disk", "bad");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  EXPECT_NE(bad.output.find("--cache"), std::string::npos) << bad.output;
}

TEST(KilnTrainFolder, BadImagesAndFoldersEndWithExitCode1NamingTheFile) {
  testing::TempDir home;
  test::TempDir data;
  write_two_classes(data.path(), 6);
  test::write_file(data.path() / "light" / "zz_text.png", {'j', 'u', 's', 't', ' ', 't', 'e', 'x', 't'});
  const std::string base = "train --data " + data.path().string() + " --epochs 1 --batch-size 4 --threads 1 ";
  auto r = run_command(isolated(home, base + "--out a"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("zz_text.png"), std::string::npos) << r.output;
  r = run_command(isolated(home, base + "--out b --skip-invalid-images --verbose 0"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("Warning: skipping an unreadable image"), std::string::npos) << r.output;
  fs::remove(data.path() / "light" / "zz_text.png");
  // A truncated JPEG.
  test::write_image(data.path() / "dark" / "cut.jpg", 20, 20, 3,
                    test::pixels(20, 20, 3, [](int y, int x, int k) { return (x * 13 + y * 7 + k * 50) % 256; }));
  test::Bytes jpeg = test::read_file(data.path() / "dark" / "cut.jpg");
  jpeg.resize(jpeg.size() / 2);
  test::write_file(data.path() / "dark" / "cut.jpg", jpeg);
  r = run_command(isolated(home, base + "--out c"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cut.jpg"), std::string::npos) << r.output;
  fs::remove(data.path() / "dark" / "cut.jpg");
  fs::create_directories(data.path() / "empty");
  fs::create_directories(data.path() / "empty" / "nested");
  test::write_file(data.path() / "empty" / "readme.txt", {'x'});
  r = run_command(isolated(home, base + "--dataset folder --out d"));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("empty"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("holds no images"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace kiln
