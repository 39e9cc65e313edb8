// kiln train --recipe fast|best: the recipe's model, epochs, batch size and precision unless the
// command line gives them, what the run folder records, --resume, and the options it excludes.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "kiln/io/files.hpp"
#include "kiln/kiln.hpp"
#include "recipes/recipes.hpp"
#include "support/common.hpp"
#include "support/process.hpp"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using testing::isolated;
using testing::run_command;
using testing::TempDir;

TEST(TrainRecipe, TrainsTheRecipeWithItsSettingsAndResumes) {
  TempDir home, data;
  testing::write_tiny_cifar10(data.path(), 10);
  const std::string args = "train --dataset cifar10 --no-download --seed 3 --data " + data.path().string();
  auto r = run_command(isolated(home, args + " --recipe fast --epochs 1 --verbose 2 --out run"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto fast = recipes::named("fast");
  EXPECT_TRUE(testing::contains(r.output, recipes::describe(fast))) << r.output;
  EXPECT_TRUE(testing::contains(testing::last_line(r.output), "Test accuracy: ")) << r.output;
  const fs::path run = home.path() / "run";
  auto config = nlohmann::json::parse(io::read_file(run / "config.json", 1 << 20));
  EXPECT_EQ(config.at("settings").at("recipe"), "fast");
  EXPECT_EQ(config.at("settings").at("epochs"), 1);  // given
  EXPECT_EQ(config.at("settings").at("batch_size"), fast.batch_size);
  EXPECT_EQ(config.at("settings").at("precision"), fast.precision);
  const auto model = load_model(run / "model.safetensors");
  const auto expected = recipes::build_model(fast, {32, 32, 3}, 10);
  EXPECT_EQ(model->count_params(), expected.count_params());
  EXPECT_EQ(model->layers().size(), expected.layers().size());

  // A run stopped after epoch 1 of 2 (its recorded epochs raised by hand) continues as the recipe.
  config["settings"]["epochs"] = 2;
  io::write_file_atomically(run / "config.json", config.dump(2));
  r = run_command(isolated(home, "train --resume run --verbose 2 --no-download --data " + data.path().string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(testing::contains(r.output, "Resuming run after epoch 1 of 2")) << r.output;
  EXPECT_TRUE(testing::contains(r.output, recipes::describe(fast))) << r.output;

  io::write_file_atomically(home.path() / "x.csv", "a,y\n1,0\n2,1\n");
  const std::vector<std::pair<std::string, std::string>> refused = {
      {" --recipe fast --lr 0.1", "--lr"},
      {" --recipe fast --lr-schedule cosine", "--lr-schedule"},
      {" --recipe slow", "slow"},
      {" --recipe fast --csv x.csv --label y", "--csv"}};
  for (const auto& [other, named] : refused) {
    r = run_command(isolated(home, args + " --epochs 1 --out other" + other));
    EXPECT_EQ(r.exit_code, 2) << other << "\n" << r.output;
    EXPECT_TRUE(testing::contains(r.output, named)) << other << "\n" << r.output;
  }
}

}  // namespace
}  // namespace kiln
