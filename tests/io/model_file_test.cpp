// Saving and loading models and weights: bit-identical predictions, optimizer
// state that continues training exactly, and errors that list every mismatch.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "kiln/io/files.hpp"
#include "kiln/io/safetensors.hpp"
#include "kiln/kiln.hpp"
#include "kiln/saving.hpp"
#include "support/process.hpp"
#include "support/errors.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::same_bits;

using namespace kiln::layers;
using testing::TempDir;

using testing::error_of;

Sequential small_model() {
  Sequential m;
  m.add(Conv2D(4, 3, "relu", {8, 8, 1}));
  m.add(MaxPooling2D(2));
  m.add(Flatten());
  m.add(Dropout(0.25));
  m.add(Dense(3, "softmax"));
  return m;
}

data::Dataset toy_data(std::int64_t n, std::uint64_t seed) {
  Generator g(seed);
  std::vector<float> x(static_cast<std::size_t>(n * 64));
  std::vector<std::int32_t> y(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    y[i] = static_cast<std::int32_t>(g.below(3));
    for (int p = 0; p < 64; ++p) x[i * 64 + p] = static_cast<float>(g.uniform() * 0.3 + (p % 3 == y[i] ? 0.7 : 0.0));
  }
  return data::Dataset(Tensor::from_vector(x, {n, 8, 8, 1}), Tensor::from_vector(y));
}

TEST(ModelFile, SavedAndLoadedModelPredictsBitIdentically) {
  manual_seed(11);
  TempDir dir;
  Sequential model = small_model();
  model.compile(optim::Adam(3e-3), losses::SparseCategoricalCrossentropy(), {"accuracy", "precision"});
  const auto data = toy_data(96, 1);
  model.fit(data, {.epochs = 1, .batch_size = 16, .verbose = 0, .seed = 3});
  const auto path = dir.path() / "model.safetensors";
  model.save(path);

  auto loaded = load_model(path);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->class_name(), "Sequential");
  EXPECT_EQ(model_to_json(*loaded), model_to_json(model));
  EXPECT_TRUE(loaded->compiled());
  EXPECT_EQ(loaded->metric_names(), (std::vector<std::string>{"accuracy", "precision"}));
  EXPECT_EQ(loaded->optimizer().name(), "Adam");
  EXPECT_EQ(loaded->optimizer().learning_rate(), 3e-3);
  EXPECT_EQ(loaded->optimizer().iterations(), model.optimizer().iterations());
  const Tensor x = data.batch(0, 40).x;
  EXPECT_TRUE(same_bits(model.predict(x), loaded->predict(x)));
}

TEST(ModelFile, OptimizerStateContinuesTrainingExactly) {
  manual_seed(5);
  TempDir dir;
  Sequential model = small_model();
  model.compile(optim::Adam(), losses::SparseCategoricalCrossentropy(), {"accuracy"});
  const auto data = toy_data(64, 2);
  model.fit(data, {.epochs = 1, .batch_size = 16, .verbose = 0, .shuffle = false});
  model.save(dir.path() / "m.safetensors");
  auto loaded = load_model(dir.path() / "m.safetensors");
  // Dropout draws from each layer's generator: give both copies the same one.
  Generator::State g = model.layers()[3]->generators()[0]->state();
  loaded->layers()[3]->generators()[0]->set_state(g);
  model.fit(data, {.epochs = 1, .batch_size = 16, .verbose = 0, .shuffle = false});
  loaded->fit(data, {.epochs = 1, .batch_size = 16, .verbose = 0, .shuffle = false});
  const auto a = model.trainable_weights(), b = loaded->trainable_weights();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same_bits(a[i], b[i])) << "weight " << i;
}

TEST(ModelFile, RMSpropMomentumAndCenteredStateContinuesTrainingExactly) {
  manual_seed(8);
  TempDir dir;
  Sequential model;
  model.add(Dense(6, "relu", {64}));
  model.add(Dense(3, "softmax"));
  model.compile(std::make_shared<optim::RMSprop>(
                    optim::RMSpropOptions{.learning_rate = 1e-2, .momentum = 0.9, .centered = true}),
                std::make_shared<losses::SparseCategoricalCrossentropy>());
  const auto images = toy_data(48, 4);
  const data::Dataset data(images.batch(0, 48).x.reshape({48, 64}), images.batch(0, 48).y);
  model.fit(data, {.epochs = 1, .batch_size = 16, .verbose = 0, .shuffle = false});
  model.save(dir.path() / "m.safetensors");
  auto loaded = load_model(dir.path() / "m.safetensors");
  EXPECT_EQ(loaded->optimizer().get_config(), model.optimizer().get_config());
  EXPECT_EQ(loaded->optimizer().slots().size(), 4u);  // two kernels, two biases
  for (const auto& [key, slots] : loaded->optimizer().slots()) EXPECT_EQ(slots.values.size(), 3u);
  model.fit(data, {.epochs = 1, .batch_size = 16, .verbose = 0, .shuffle = false});
  loaded->fit(data, {.epochs = 1, .batch_size = 16, .verbose = 0, .shuffle = false});
  const auto a = model.trainable_weights(), b = loaded->trainable_weights();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same_bits(a[i], b[i])) << "weight " << i;
}

TEST(ModelFile, WeightsAloneLoadIntoTheSameArchitecture) {
  manual_seed(1);
  TempDir dir;
  Sequential a = small_model();
  a.save_weights(dir.path() / "w.safetensors");
  // The same architecture (same layer names), with other random weights.
  auto b = model_from_config(model_to_json(a));
  const Tensor x = toy_data(8, 3).batch(0, 8).x;
  EXPECT_FALSE(same_bits(a.predict(x), b->predict(x)));
  b->load_weights(dir.path() / "w.safetensors");
  EXPECT_TRUE(same_bits(a.predict(x), b->predict(x)));
  // Built again by the same code, its layers get new names ("dense_1"): the error says so.
  Sequential c = small_model();
  const std::string msg = error_of([&] { c.load_weights(dir.path() / "w.safetensors"); });
  EXPECT_NE(msg.find("only the layer names differ"), std::string::npos) << msg;
  // A weights file is not a whole model.
  EXPECT_NE(error_of([&] { load_model(dir.path() / "w.safetensors"); }).find("holds a Kiln weights"),
            std::string::npos);
}

TEST(ModelFile, MismatchedWeightsAreListedAndNothingChanges) {
  TempDir dir;
  Sequential a;
  a.add(Dense(5, DenseOptions{.activation = "relu", .input_shape = {4}, .name = "hidden"}));
  a.add(Dense(2, DenseOptions{.name = "out"}));
  a.save_weights(dir.path() / "w.safetensors");
  Sequential b;
  b.add(Dense(6, DenseOptions{.activation = "relu", .input_shape = {4}, .name = "hidden"}));  // [4, 6], [6]
  b.add(Dense(2, DenseOptions{.name = "logits"}));                                            // another name
  const auto before = b.layers()[0]->weights()[0].value.clone();
  const std::string msg = error_of([&] { b.load_weights(dir.path() / "w.safetensors"); });
  for (const char* part : {"w.safetensors does not fit the model",
                           "hidden/kernel is float32 [4, 5] in the file, float32 [4, 6] in the model",
                           "hidden/bias is float32 [5] in the file", "missing logits/kernel (float32 [6, 2])",
                           "missing logits/bias", "unexpected out/kernel (float32 [5, 2])", "unexpected out/bias"}) {
    EXPECT_NE(msg.find(part), std::string::npos) << part << "\n" << msg;
  }
  EXPECT_TRUE(same_bits(before, b.layers()[0]->weights()[0].value));

  Sequential c;
  auto hidden = std::make_shared<Dense>(5, DenseOptions{.activation = "relu", .input_shape = {4}, .name = "hidden"});
  hidden->set_dtype(DType::Float64);
  c.add(hidden);
  c.add(Dense(2, DenseOptions{.name = "out"}));
  EXPECT_NE(error_of([&] {
              c.load_weights(dir.path() / "w.safetensors");
            }).find("hidden/kernel is float32 [4, 5] in the file, float64 [4, 5]"),
            std::string::npos);
}

// A model file whose architecture has been edited: the rest of the file stays valid.
std::string with_architecture(const std::string& bytes, const std::function<void(nlohmann::json&)>& edit) {
  auto file = io::decode_safetensors(bytes);
  auto arch = nlohmann::json::parse(file.metadata.at("kiln.architecture"));
  edit(arch);
  file.metadata["kiln.architecture"] = arch.dump();
  return io::encode_safetensors(file.tensors, file.metadata);
}

TEST(ModelFile, HostileArchitecturesAreErrorsNotAllocations) {
  TempDir dir;
  Sequential m;
  m.add(Dense(3, DenseOptions{.activation = "relu", .input_shape = {4}, .name = "d"}));
  m.save(dir.path() / "m.safetensors");
  const std::string bytes = io::read_file(dir.path() / "m.safetensors");
  const auto load = [&](const std::string& b) {
    io::write_file_atomically(dir.path() / "x.safetensors", b);
    return error_of([&] { load_model(dir.path() / "x.safetensors"); });
  };
  EXPECT_EQ(load(bytes), "(no error)");
  const auto units = [](nlohmann::json v) {
    return [v](nlohmann::json& a) { a["config"]["layers"][0]["config"]["units"] = v; };
  };
  EXPECT_NE(load(with_architecture(bytes, units(1'000'000'000'000LL))).find("more than the file's tensors hold"),
            std::string::npos);
  EXPECT_NE(load(with_architecture(bytes, units(1e300))).find("out of range"), std::string::npos);
  EXPECT_NE(load(with_architecture(bytes, units(-3))).find("x.safetensors"), std::string::npos);
  EXPECT_NE(load(with_architecture(bytes, units("three"))).find("x.safetensors"), std::string::npos);
  EXPECT_NE(
      load(with_architecture(bytes, [](nlohmann::json& a) { a["class_name"] = "Graph"; })).find("unknown model type"),
      std::string::npos);
  EXPECT_NE(load(with_architecture(bytes, [](nlohmann::json& a) { a["config"]["layers"][0]["class_name"] = "Conv9D"; }))
                .find("unknown layer type"),
            std::string::npos);
  // Every truncation of a real model file is an error naming the file.
  for (std::size_t n = 0; n < bytes.size(); n += 7)
    EXPECT_NE(load(bytes.substr(0, n)).find("x.safetensors"), std::string::npos) << n;
}

TEST(ModelFile, NotAKilnFileSaysSo) {
  TempDir dir;
  io::save_safetensors(dir.path() / "other.safetensors", {{"weight", Tensor::ones({2})}});
  EXPECT_NE(error_of([&] { load_model(dir.path() / "other.safetensors"); }).find("not a Kiln model file"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_model(dir.path() / "missing.safetensors"); }).find("no such file"), std::string::npos);
}

// A process killed while it rewrites a file leaves the old file or the new one, whole.
// A functional graph (a shared layer called twice, a nested model, a merge)
// with BatchNormalization: the file rebuilds the graph and restores every
// weight, moving statistics included, so inference is bit-identical.
TEST(ModelFile, FunctionalModelWithBatchNormRoundTrips) {
  manual_seed(21);
  TempDir dir;
  auto encoder = std::make_shared<Sequential>();
  encoder->set_name("encoder");
  encoder->add(Dense(6, "relu", {4}));
  encoder->add(BatchNormalization());
  const SymbolicTensor x = Input({4}, "x");
  const SymbolicTensor h = (*encoder)(x);
  auto shared = std::make_shared<Dense>(6, "tanh");
  const SymbolicTensor joined = Concatenate()({(*shared)(h), (*shared)(LeakyReLU(0.2)(h))});
  Model model(x, Dense(2)(joined), "branches");
  model.compile(optim::Adam(1e-2), losses::MeanSquaredError());
  Generator g(4);
  std::vector<float> xs(64 * 4), ts(64 * 2);
  for (auto* v : {&xs, &ts}) {
    for (auto& e : *v) e = static_cast<float>(g.uniform() * 2 - 1);
  }
  const Tensor inputs = Tensor::from_vector(xs, {64, 4});
  // Training moves the moving statistics off their start (0 and 1).
  model.fit(inputs, Tensor::from_vector(ts, {64, 2}), {.epochs = 2, .batch_size = 16, .verbose = 0});
  const auto path = dir.path() / "branches.safetensors";
  model.save(path);
  auto loaded = load_model(path);
  EXPECT_EQ(loaded->class_name(), "Functional");
  EXPECT_EQ(model_to_json(*loaded), model_to_json(model));
  EXPECT_EQ(loaded->layers().size(), model.layers().size());
  EXPECT_TRUE(same_bits(model.predict(inputs), loaded->predict(inputs)));
}

TEST(AtomicWrite, SigkillAtAnyMomentLeavesACompleteFile) {
  TempDir dir;
  const auto path = dir.path() / "state.bin";
  const std::string a(3 << 20, 'a'), b(2 << 20, 'b');
  io::write_file_atomically(path, a);
  for (int trial = 0; trial < 12; ++trial) {
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int i = 0;; ++i) io::write_file_atomically(path, i % 2 ? a : b);
    }
    usleep(static_cast<useconds_t>(3000 + 2500 * trial));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    const std::string now = io::read_file(path);
    EXPECT_TRUE(now == a || now == b) << "trial " << trial << ": " << now.size() << " bytes";
  }
  int interrupted = 0;  // temporary files left by kills in the middle of a write
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) interrupted += entry.path() != path;
  RecordProperty("interrupted_writes", interrupted);
  EXPECT_NE(error_of([&] { io::write_file_atomically(dir.path() / "no" / "such" / "dir.bin", "x"); }).find("dir.bin"),
            std::string::npos);
}

}  // namespace
}  // namespace kiln
