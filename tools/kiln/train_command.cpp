// kiln train: the article's CNN, trained and evaluated as the article does.
#include <cstdio>
#include <iostream>

#include "command.hpp"
#include "kiln/kiln.hpp"

namespace kiln::cli {
namespace {

struct TrainSettings {
  std::string dataset = "auto";
  std::string data_dir;
  int epochs = 10;
  std::int64_t batch_size = 64;
  double lr = 1e-3;
  std::uint64_t seed = 0;
  int threads = 0;
  bool no_download = false;
  int verbose = -1;
  std::int64_t train_samples = 0;
  std::int64_t test_samples = 0;
};

kiln::datasets::LoadOptions load_options(const TrainSettings& s) {
  kiln::datasets::LoadOptions o;
  if (!s.data_dir.empty()) o.data_dir = s.data_dir;
  o.download = !s.no_download;
  return o;
}

struct Loaded {
  std::string name;
  kiln::datasets::TrainTest data;
};

// "auto": CIFAR-10 when it is present or can be downloaded, else Fashion-MNIST.
Loaded load(const TrainSettings& s) {
  namespace ds = kiln::datasets;
  const auto opts = load_options(s);
  if (s.dataset == "cifar10") return {"CIFAR-10", ds::cifar10::load_data(opts)};
  if (s.dataset == "fashion-mnist") return {"Fashion-MNIST", ds::fashion_mnist::load_data(opts)};
  if (s.dataset == "mnist") return {"MNIST", ds::mnist::load_data(opts)};
  try {
    return {"CIFAR-10", ds::cifar10::load_data(opts)};
  } catch (const ds::DatasetUnavailable& e) {
    std::cout << "CIFAR-10 is not available (" << e.problem()
              << "); training the same layers on Fashion-MNIST (28x28x1) instead.\n";
    return {"Fashion-MNIST", ds::fashion_mnist::load_data(opts)};
  }
}

kiln::datasets::Split head(const kiln::datasets::Split& split, std::int64_t n) {
  if (n <= 0 || n >= split.images.size(0)) return split;
  return {split.images.slice(0, n), split.labels.slice(0, n)};
}

int run_train(const TrainSettings& s) {
  kiln::set_num_threads(s.threads);
  kiln::manual_seed(s.seed);
  Loaded loaded = load(s);
  const auto train = head(loaded.data.train, s.train_samples);
  const auto test = head(loaded.data.test, s.test_samples);
  const kiln::Shape image_shape(train.images.shape().begin() + 1, train.images.shape().end());
  std::cout << "Dataset: " << loaded.name << ", " << train.images.size(0) << " training and "
            << test.images.size(0) << " test images of shape " << kiln::shape_str(image_shape) << "\n";

  // As the article: pixels / 255, done per batch so the images stay uint8.
  const auto train_ds = kiln::data::Dataset(train.images, train.labels).rescale(1.0 / 255);
  const auto test_ds = kiln::data::Dataset(test.images, test.labels).rescale(1.0 / 255);

  kiln::Sequential model = kiln::zoo::article_cnn(image_shape);
  model.summary();
  model.compile(kiln::optim::Adam(s.lr), kiln::losses::SparseCategoricalCrossentropy(), {"accuracy"});
  model.fit(train_ds, {.epochs = s.epochs,
                       .batch_size = s.batch_size,
                       .verbose = s.verbose,
                       .validation_data = test_ds,
                       .seed = s.seed});
  const kiln::Logs result = model.evaluate(test_ds, {.batch_size = s.batch_size, .verbose = 2});
  // The article's program ends with this line, so Kiln's does too.
  std::printf("Peak memory: %.0f MB\n", peak_rss_mb());
  std::printf("Test accuracy: %.4f\n", result.at("accuracy"));
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& parent) {
  auto settings = std::make_shared<TrainSettings>();
  TrainSettings& s = *settings;
  auto* train = parent.add_subcommand("train", "Train the article's CNN and report its test accuracy");
  train->add_option("--dataset", s.dataset,
                    "auto: CIFAR-10 if present or downloadable, else Fashion-MNIST; or cifar10, fashion-mnist, mnist")
      ->check(CLI::IsMember(dataset_names()))
      ->capture_default_str();
  train->add_option("--data", s.data_dir, "Folder holding the dataset files (searched first)");
  train->add_option("--epochs", s.epochs, "Passes over the training data")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train->add_option("--batch-size", s.batch_size, "Samples per training step")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  train->add_option("--lr", s.lr, "Adam's learning rate")->check(positive_finite())->capture_default_str();
  train->add_option("--seed", s.seed, "Seed for weights and shuffling (same seed and threads: same run)")
      ->capture_default_str();
  train->add_option("--threads", s.threads, "Threads to use (0: all cores of this process)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  train->add_option("--verbose", s.verbose,
                    "1: progress bar, 2: a line per epoch, 0: quiet (default: bar on a terminal)")
      ->check(CLI::Range(0, 2));
  train->add_flag("--no-download", s.no_download, "Never download; fail (or fall back) when the data is absent");
  train->add_option("--train-samples", s.train_samples, "Use only the first N training images (0: all)")
      ->check(CLI::NonNegativeNumber);
  train->add_option("--test-samples", s.test_samples, "Use only the first N test images (0: all)")
      ->check(CLI::NonNegativeNumber);
  return {train, [settings] { return run_train(*settings); }};
}

}  // namespace kiln::cli
