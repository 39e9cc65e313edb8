// fit() callbacks: early stopping, learning-rate schedules, CSV logs, checkpoints,
// and a run resumed from a checkpoint ending with the same weights as one that never stopped.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "kiln/io/files.hpp"
#include "kiln/kiln.hpp"
#include "support/process.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::same_bits;

using namespace kiln::layers;
using namespace kiln::callbacks;
using testing::TempDir;

Sequential tiny_cnn() {
  Sequential m;
  m.add(Conv2D(4, 3, "relu", {8, 8, 1}));
  m.add(MaxPooling2D(2));
  m.add(Flatten());
  m.add(Dropout(0.3));
  m.add(Dense(3, "softmax"));
  return m;
}

data::Dataset toy_images(std::int64_t n, std::uint64_t seed) {
  Generator g(seed);
  std::vector<float> x(static_cast<std::size_t>(n * 64));
  std::vector<std::int32_t> y(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    y[i] = static_cast<std::int32_t>(g.below(3));
    for (int p = 0; p < 64; ++p) x[i * 64 + p] = static_cast<float>(g.uniform() * 0.5 + (p % 3 == y[i] ? 0.5 : 0.0));
  }
  return data::Dataset(Tensor::from_vector(x, {n, 8, 8, 1}), Tensor::from_vector(y));
}

TEST(EarlyStopping, StopsAfterPatienceEpochsWithoutImprovement) {
  manual_seed(2);
  Sequential model = tiny_cnn();
  model.compile(optim::SGD(0.0), losses::SparseCategoricalCrossentropy());  // nothing changes: no improvement
  const auto data = toy_images(32, 1);
  auto es = std::make_shared<EarlyStopping>(EarlyStoppingOptions{.patience = 2});
  History h =
      model.fit(data, {.epochs = 10, .batch_size = 16, .verbose = 0, .validation_data = data, .callbacks = {es}});
  // Epoch 0 sets the best; epochs 1 and 2 do not improve; it stops after epoch 2 (as Keras).
  EXPECT_EQ(h.epoch.size(), 3u);
  EXPECT_EQ(es->stopped_epoch(), 2);
}

TEST(EarlyStopping, RestoresTheBestWeightsAndHonoursTheBaseline) {
  Sequential model;
  model.add(Dense(1, DenseOptions{.input_shape = {2}}));
  EarlyStopping es({.monitor = "val_loss", .patience = 1, .restore_best_weights = true});
  es.on_train_begin(model);
  Tensor kernel = model.layers()[0]->weights()[0].value;
  kernel.fill_(1.0);
  es.on_epoch_end(model, 0, {{"val_loss", 0.5}});
  kernel.fill_(2.0);
  es.on_epoch_end(model, 1, {{"val_loss", 0.7}});
  EXPECT_TRUE(model.stop_training);
  EXPECT_EQ(kernel.to_vector<float>(), (std::vector<float>{1.0f, 1.0f})) << "weights of epoch 0";

  // Epochs that improve, but not past the baseline, count towards the patience (Keras's rule).
  for (bool with_baseline : {false, true}) {
    Sequential other;
    other.add(Dense(1, DenseOptions{.input_shape = {2}}));
    EarlyStopping es2({.monitor = "val_accuracy",
                       .patience = 2,
                       .baseline = with_baseline ? std::optional<double>(0.9) : std::nullopt});
    es2.on_train_begin(other);
    for (auto [e, v] : std::vector<std::pair<int, double>>{{0, 0.5}, {1, 0.6}, {2, 0.6}}) {
      es2.on_epoch_end(other, e, {{"val_accuracy", v}});
    }
    EXPECT_EQ(other.stop_training, with_baseline);
  }
}

TEST(EarlyStopping, AMissingMonitorNamesTheLogs) {
  Sequential model;
  model.add(Dense(1, DenseOptions{.input_shape = {2}}));
  EarlyStopping es;
  es.on_train_begin(model);
  try {
    es.on_epoch_end(model, 0, {{"loss", 1.0}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("val_loss"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("validation data"), std::string::npos) << e.what();
  }
}

TEST(LearningRate, StepAndCosineSchedules) {
  const auto step = schedules::step_decay(0.1, 0.5, 2);
  const std::vector<double> expected{0.1, 0.1, 0.05, 0.05, 0.025};
  for (int e = 0; e < 5; ++e) EXPECT_DOUBLE_EQ(step(e, 0), expected[e]);
  const auto cosine = schedules::cosine_decay(1.0, 4, 0.1);
  EXPECT_DOUBLE_EQ(cosine(0, 0), 1.0);
  EXPECT_NEAR(cosine(2, 0), 0.1 + 0.9 * 0.5, 1e-15);
  EXPECT_NEAR(cosine(4, 0), 0.1, 1e-15);
  EXPECT_NEAR(cosine(9, 0), 0.1, 1e-15);
  EXPECT_THROW(schedules::step_decay(0.1, 1.5, 2), Error);
}

TEST(LearningRate, SchedulerSetsTheRateEachEpochAndHistoryRecordsIt) {
  manual_seed(4);
  Sequential model = tiny_cnn();
  model.compile(optim::Adam(), losses::SparseCategoricalCrossentropy());
  History h = model.fit(toy_images(32, 2),
                        {.epochs = 4,
                         .batch_size = 16,
                         .verbose = 0,
                         .callbacks = {std::make_shared<LearningRateScheduler>(schedules::step_decay(0.01, 0.1, 2))}});
  const std::vector<double> lr = h.history.at("learning_rate");
  ASSERT_EQ(lr.size(), 4u);
  EXPECT_DOUBLE_EQ(lr[0], 0.01);
  EXPECT_DOUBLE_EQ(lr[1], 0.01);
  EXPECT_NEAR(lr[2], 0.001, 1e-18);
  EXPECT_NEAR(lr[3], 0.001, 1e-18);
}

TEST(LearningRate, ReduceOnPlateauWithCooldown) {
  Sequential model;
  model.add(Dense(1, DenseOptions{.input_shape = {2}}));
  model.compile(optim::SGD(1.0), losses::MeanSquaredError());
  ReduceLROnPlateau r({.factor = 0.5, .patience = 1, .cooldown = 2, .min_lr = 0.2});
  r.on_train_begin(model);
  std::vector<double> rates;
  for (int e = 0; e < 6; ++e) {
    r.on_epoch_end(model, e, {{"val_loss", 1.0}});  // never improves after epoch 0
    rates.push_back(model.optimizer().learning_rate());
  }
  // Epoch 1 reduces (patience 1), epoch 2 cools down, epoch 3 reduces, epoch 4 cools down,
  // epoch 5 reduces to min_lr. (As in Keras, the cooldown counts down before the check,
  // so a cooldown of 1 would not skip any epoch.)
  EXPECT_EQ(rates, (std::vector<double>{1.0, 0.5, 0.5, 0.25, 0.25, 0.2}));
}

TEST(CSVLogger, WritesOneRowPerEpochInKerasLayout) {
  manual_seed(5);
  TempDir dir;
  Sequential model = tiny_cnn();
  model.compile(optim::Adam(), losses::SparseCategoricalCrossentropy(), {"accuracy"});
  const auto data = toy_images(32, 3);
  History h = model.fit(data, {.epochs = 3,
                               .batch_size = 16,
                               .verbose = 0,
                               .validation_data = data,
                               .callbacks = {std::make_shared<CSVLogger>(dir.path() / "log.csv")}});
  std::istringstream text(io::read_file(dir.path() / "log.csv"));
  std::string line;
  std::getline(text, line);
  EXPECT_EQ(line, "epoch,accuracy,learning_rate,loss,val_accuracy,val_loss");
  for (int e = 0; e < 3; ++e) {
    ASSERT_TRUE(std::getline(text, line));
    EXPECT_EQ(line.substr(0, 2), std::to_string(e) + ",");
    // Values are written exactly (shortest round trip).
    const std::string loss = line.substr(line.find(',', line.find(',', 2) + 1) + 1);
    EXPECT_EQ(std::stod(loss.substr(0, loss.find(','))), h.history["loss"][e]);
  }
  EXPECT_FALSE(std::getline(text, line));
}

TEST(ModelCheckpoint, SavesOnImprovementUnderAFormattedName) {
  EXPECT_EQ(format_checkpoint_path("m-{epoch:02d}-{val_loss:.2f}.st", 4, {{"val_loss", 0.12345}}), "m-05-0.12.st");
  EXPECT_THROW(format_checkpoint_path("m-{val_acc}.st", 0, {{"val_loss", 1.0}}), Error);
  TempDir dir;
  Sequential model;
  model.add(Dense(1, DenseOptions{.input_shape = {2}}));
  model.compile(optim::SGD(), losses::MeanSquaredError());
  ModelCheckpoint best(dir.path() / "best-{epoch}.safetensors", {.monitor = "val_loss", .save_best_only = true});
  best.on_train_begin(model);
  for (auto [e, v] : std::vector<std::pair<int, double>>{{0, 0.9}, {1, 0.8}, {2, 0.85}, {3, 0.7}}) {
    best.after_epoch_end(model, e, {{"val_loss", v}});
  }
  for (int e : {1, 2, 4})
    EXPECT_TRUE(std::filesystem::exists(dir.path() / ("best-" + std::to_string(e) + ".safetensors"))) << e;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "best-3.safetensors"));
  EXPECT_EQ(best.best(), 0.7);
}

// A callback that fails in the middle of an epoch, as a crash would.
struct CrashAt : Callback {
  int epoch, step, current = -1;
  CrashAt(int e, int s) : epoch(e), step(s) {}
  void on_epoch_begin(Model&, int e) override { current = e; }
  void on_train_batch_end(Model&, std::int64_t s, const Logs&) override {
    if (current == epoch && s == step) throw std::runtime_error("crash");
  }
};

TEST(Resume, ContinuesFromACheckpointToTheSameWeights) {
  TempDir dir;
  const auto train = toy_images(80, 7), val = toy_images(40, 8);
  const auto callbacks = [&](const std::string& tag) {
    return std::vector<std::shared_ptr<Callback>>{
        std::make_shared<ReduceLROnPlateau>(ReduceLROnPlateauOptions{.monitor = "loss", .factor = 0.5, .patience = 1}),
        std::make_shared<EarlyStopping>(EarlyStoppingOptions{.patience = 10, .restore_best_weights = true}),
        std::make_shared<CSVLogger>(dir.path() / (tag + ".csv")),
        std::make_shared<ModelCheckpoint>(dir.path() / (tag + ".ckpt"))};
  };
  const auto run = [&](const std::string& tag, std::vector<std::shared_ptr<Callback>> extra) {
    manual_seed(21);
    Sequential model = tiny_cnn();
    model.compile(optim::Adam(5e-3), losses::SparseCategoricalCrossentropy(), {"accuracy"});
    auto cbs = callbacks(tag);
    cbs.insert(cbs.end(), extra.begin(), extra.end());
    return std::make_pair(
        model,
        model.fit(train,
                  {.epochs = 5, .batch_size = 16, .verbose = 0, .validation_data = val, .seed = 99, .callbacks = cbs}));
  };
  auto [uninterrupted, full_history] = run("a", {});
  // The same run, crashing in the middle of its fourth epoch (after 3 complete ones).
  EXPECT_THROW(run("b", {std::make_shared<CrashAt>(3, 2)}), std::runtime_error);
  manual_seed(12345);  // whatever the process did since, the checkpoint restores the generators
  auto [model, state] = load_checkpoint(dir.path() / "b.ckpt");
  EXPECT_EQ(state->epochs_done, 3);
  auto cbs = callbacks("b");
  cbs.push_back(std::make_shared<CrashAt>(-1, -1));  // the callbacks the run had (this one no longer fails)
  History resumed = model->fit(
      train, {.epochs = 5, .batch_size = 16, .verbose = 0, .validation_data = val, .callbacks = cbs, .resume = state});
  EXPECT_EQ(resumed.history, full_history.history);
  const auto a = uninterrupted.trainable_weights(), b = model->trainable_weights();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same_bits(a[i], b[i])) << "weight " << i;
  EXPECT_EQ(io::read_file(dir.path() / "a.csv"), io::read_file(dir.path() / "b.csv"));
  EXPECT_EQ(model->optimizer().learning_rate(), uninterrupted.optimizer().learning_rate());
}

TEST(Resume, RefusesADifferentSetOfCallbacks) {
  TempDir dir;
  manual_seed(3);
  Sequential model = tiny_cnn();
  model.compile(optim::Adam(), losses::SparseCategoricalCrossentropy());
  const auto data = toy_images(16, 1);
  model.fit(data, {.epochs = 1,
                   .batch_size = 8,
                   .verbose = 0,
                   .callbacks = {std::make_shared<ModelCheckpoint>(dir.path() / "c.ckpt")}});
  auto [loaded, state] = load_checkpoint(dir.path() / "c.ckpt");
  EXPECT_THROW(loaded->fit(data, {.epochs = 2, .verbose = 0, .resume = state}), Error);
}

}  // namespace
}  // namespace kiln
