// docs/keras_coverage.md against Kiln itself, so that the table cannot drift:
// layers marked supported are exactly the types layer_from_config knows;
// losses, optimizers and activations marked supported are found by their
// lookup names and the others are not; callbacks marked supported exist.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "kiln/kiln.hpp"

namespace kiln {
namespace {

const std::string kPath = std::string(KILN_TEST_FIXTURES) + "/../../docs/keras_coverage.md";

struct Row {
  std::string name, status, lookup;
};

// The "N of M supported." sentence of each section, if it has one: title -> {N, M}.
std::map<std::string, std::pair<int, int>> read_counts() {
  std::ifstream in(kPath);
  std::map<std::string, std::pair<int, int>> counts;
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) section = line.substr(3);
    int n = 0, m = 0;
    if (std::sscanf(line.c_str(), "%d of %d supported", &n, &m) == 2) counts[section] = {n, m};
  }
  return counts;
}

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" `"), end = s.find_last_not_of(" `");
  return begin == std::string::npos ? "" : s.substr(begin, end - begin + 1);
}

// The rows of each "## " section's table: section title -> rows.
std::map<std::string, std::vector<Row>> read_tables() {
  std::ifstream in(kPath);
  std::map<std::string, std::vector<Row>> tables;
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) section = line.substr(3);
    if (line.rfind("| ", 0) != 0 || line.rfind("| Keras |", 0) == 0) continue;
    std::vector<std::string> cells;
    std::stringstream cells_in(line.substr(1));
    for (std::string cell; std::getline(cells_in, cell, '|');) cells.push_back(trim(cell));
    if (cells.size() < 3) continue;
    tables[section].push_back({cells[0], cells[1], cells.size() >= 4 ? cells[2] : ""});
  }
  return tables;
}

std::vector<Row> section(const std::string& title) {
  auto tables = read_tables();
  EXPECT_TRUE(tables.count(title)) << kPath << " has no \"## " << title << "\" table";
  const auto rows = tables[title];
  std::set<std::string> names;
  const auto counts = read_counts();
  if (counts.count(title)) {
    int supported = 0;
    for (const Row& r : rows) supported += r.status == "supported";
    EXPECT_EQ(counts.at(title), std::make_pair(supported, static_cast<int>(rows.size())))
        << title << ": the \"N of M supported\" sentence does not match the table";
  }
  for (const Row& r : rows) {
    EXPECT_TRUE(r.status == "supported" || r.status == "not yet" || r.status == "not planned")
        << title << ": " << r.name << " has status \"" << r.status << "\"";
    EXPECT_TRUE(names.insert(r.name).second) << title << ": " << r.name << " is listed twice";
  }
  return rows;
}

bool known(const std::function<void()>& lookup) {
  try {
    lookup();
    return true;
  } catch (const Error&) {
    return false;
  }
}

TEST(KerasCoverage, LayersMarkedSupportedAreExactlyTheRegisteredOnes) {
  auto rows = section("Layers");
  const auto hub = section("Layers from KerasHub");
  rows.insert(rows.end(), hub.begin(), hub.end());
  EXPECT_GT(rows.size(), 100u);
  std::set<std::string> supported;
  for (const Row& r : rows) {
    // InputLayer is read by model_from_config as the functional graph's input, not as a layer.
    if (r.status == "supported" && r.name != "InputLayer") supported.insert(r.name);
  }
  const auto registered = layers::registered_layer_types();
  for (const std::string& type : registered) {
    EXPECT_TRUE(supported.count(type)) << "layer_from_config knows " << type
                                       << ", but docs/keras_coverage.md does not mark it supported";
  }
  for (const std::string& name : supported) {
    EXPECT_TRUE(std::count(registered.begin(), registered.end(), name))
        << "docs/keras_coverage.md marks " << name << " supported, but layer_from_config does not know it";
  }
}

TEST(KerasCoverage, LossesOptimizersAndActivationsMatchTheirLookups) {
  for (const Row& r : section("Losses")) {
    EXPECT_EQ(known([&] { losses::get(r.lookup); }), r.status == "supported")
        << "loss " << r.name << " (" << r.lookup << ")";
  }
  for (const Row& r : section("Optimizers")) {
    EXPECT_EQ(known([&] { optim::get(r.lookup); }), r.status == "supported")
        << "optimizer " << r.name << " (" << r.lookup << ")";
  }
  for (const Row& r : section("Activations")) {
    EXPECT_EQ(known([&] { layers::check_activation_name(r.name, "coverage"); }), r.status == "supported")
        << "activation " << r.name;
  }
}

// Callbacks and schedules have no lookup by name; these are the ones Kiln has, checked by the compiler.
TEST(KerasCoverage, CallbacksAndSchedulesMarkedSupportedExist) {
  const std::set<std::string> callbacks_kiln_has = {
      "CSVLogger",       "EarlyStopping", "History",          "LearningRateScheduler",
      "ModelCheckpoint", "ProgbarLogger", "ReduceLROnPlateau"};
  [[maybe_unused]] callbacks::CSVLogger* csv = nullptr;
  [[maybe_unused]] callbacks::EarlyStopping* early = nullptr;
  [[maybe_unused]] History* history = nullptr;
  [[maybe_unused]] callbacks::LearningRateScheduler* scheduler = nullptr;
  [[maybe_unused]] callbacks::ModelCheckpoint* checkpoint = nullptr;
  [[maybe_unused]] callbacks::ReduceLROnPlateau* plateau = nullptr;
  [[maybe_unused]] FitOptions progress{.verbose = 1};  // ProgbarLogger: fit's progress bar
  std::set<std::string> marked;
  for (const Row& r : section("Callbacks")) {
    if (r.status == "supported") marked.insert(r.name);
  }
  EXPECT_EQ(marked, callbacks_kiln_has);

  const std::set<std::string> schedules_kiln_has = {"CosineDecay",      "CosineDecayRestarts",    "ExponentialDecay",
                                                    "InverseTimeDecay", "PiecewiseConstantDecay", "PolynomialDecay"};
  [[maybe_unused]] optim::schedules::CosineDecay* cosine = nullptr;
  [[maybe_unused]] optim::schedules::CosineDecayRestarts* restarts = nullptr;
  [[maybe_unused]] optim::schedules::ExponentialDecay* exponential = nullptr;
  [[maybe_unused]] optim::schedules::InverseTimeDecay* inverse_time = nullptr;
  [[maybe_unused]] optim::schedules::PiecewiseConstantDecay* piecewise = nullptr;
  [[maybe_unused]] optim::schedules::PolynomialDecay* polynomial = nullptr;
  std::set<std::string> marked_schedules;
  for (const Row& r : section("Learning-rate schedules")) {
    if (r.status == "supported") marked_schedules.insert(r.name);
  }
  EXPECT_EQ(marked_schedules, schedules_kiln_has);
}

// The training arguments marked supported, as the compiler sees them.
TEST(KerasCoverage, TrainingArgumentsMarkedSupportedExist) {
  const std::set<std::string> kiln_has = {"compile: optimizer, loss, metrics",
                                          "compile: loss per output",
                                          "compile: loss_weights",
                                          "compile: metrics per output",
                                          "compile: weighted_metrics",
                                          "fit: x, y, batch_size, epochs, verbose, callbacks",
                                          "fit: y as a list or map of targets",
                                          "fit: validation_split",
                                          "fit: validation_data",
                                          "fit: shuffle",
                                          "fit: class_weight",
                                          "fit: sample_weight",
                                          "fit: initial_epoch",
                                          "fit: steps_per_epoch",
                                          "fit: validation_freq",
                                          "evaluate: x, y, batch_size, verbose",
                                          "evaluate: sample_weight",
                                          "evaluate: return_dict",
                                          "Model.output_names"};
  [[maybe_unused]] CompileOutputs outputs{.loss = {"mse"}, .loss_weights = {1.0}};
  [[maybe_unused]] FitOptions fit{.validation_split = 0.1,
                                  .shuffle = false,
                                  .initial_epoch = 0,
                                  .sample_weight = Tensor(),
                                  .class_weight = {{0, 1.0}},
                                  .steps_per_epoch = 1,
                                  .validation_freq = 1};
  [[maybe_unused]] EvaluateOptions evaluate{.sample_weight = Tensor()};
  [[maybe_unused]] std::vector<std::string> (Model::*names)() const = &Model::output_names;
  std::set<std::string> marked;
  for (const Row& r : section("Training arguments")) {
    if (r.status == "supported") marked.insert(r.name);
  }
  EXPECT_EQ(marked, kiln_has);
}

}  // namespace
}  // namespace kiln
