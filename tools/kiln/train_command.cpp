// kiln train: the article's CNN, trained and evaluated as the article does, into a
// run folder (runs/<time>-<dataset>/ or --out DIR):
//
//   config.json             the settings (what --resume reads back)
//   checkpoint.safetensors  the last complete epoch: model, optimizer and run state
//   best.safetensors        the epoch with the best validation accuracy
//   history.csv             one row per epoch, written as each epoch ends
//   model.safetensors       the trained model (kiln evaluate reads it)
//   predictions.csv, metrics.json, history.json, *.png, plots.gp, report.html
//                           the test-set predictions, their metrics and the pictures
//
// `kiln train --resume DIR` continues a run that was stopped (even by SIGKILL) from its
// checkpoint with the same settings, and ends with the weights it would have had.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <iostream>

#include <nlohmann/json.hpp>

#include "command.hpp"
#include "dataset_choice.hpp"
#include "kiln/io/files.hpp"
#include "kiln/kiln.hpp"
#include "kiln/report.hpp"

namespace kiln::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct TrainSettings {
  DatasetChoice data;
  int epochs = 10;
  std::int64_t batch_size = 64;
  double lr = 1e-3;
  std::uint64_t seed = 0;
  int threads = 0;
  int verbose = -1;
  std::int64_t train_samples = 0;
  std::int64_t test_samples = 0;
  std::string lr_schedule = "constant";
  int early_stopping = 0;
  std::string out;
  std::string resume;
};

const std::vector<std::string>& schedule_names() {
  static const std::vector<std::string> names{"constant", "step", "cosine", "plateau"};
  return names;
}

// What a resumed run must share with the run it continues (the data location may change).
json settings_json(const TrainSettings& s, const LoadedDataset& d) {
  return {{"dataset", d.key},
          {"epochs", s.epochs},
          {"batch_size", s.batch_size},
          {"lr", s.lr},
          {"lr_schedule", s.lr_schedule},
          {"early_stopping", s.early_stopping},
          {"seed", s.seed},
          {"threads", s.threads},
          {"train_samples", s.train_samples},
          {"test_samples", s.test_samples}};
}

void settings_from_json(const json& j, TrainSettings& s, const std::string& source) {
  try {
    s.data.dataset = j.at("dataset").get<std::string>();
    s.epochs = j.at("epochs").get<int>();
    s.batch_size = j.at("batch_size").get<std::int64_t>();
    s.lr = j.at("lr").get<double>();
    s.lr_schedule = j.at("lr_schedule").get<std::string>();
    s.early_stopping = j.at("early_stopping").get<int>();
    s.seed = j.at("seed").get<std::uint64_t>();
    s.threads = j.at("threads").get<int>();
    s.train_samples = j.at("train_samples").get<std::int64_t>();
    s.test_samples = j.at("test_samples").get<std::int64_t>();
  } catch (const json::exception& e) {
    throw Error(source + ": not the configuration of a kiln train run (" + e.what() + ")");
  }
  if (s.epochs < 1 || s.batch_size < 1 || !(s.lr > 0) || s.threads < 1) throw Error(source + ": invalid settings");
}

// runs/20250101-120000-fashion-mnist, or with -2, -3 ... when taken.
fs::path new_run_dir(const std::string& dataset) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
  const fs::path base = fs::path("runs") / (std::string(stamp) + "-" + dataset);
  fs::path dir = base;
  for (int i = 2; fs::exists(dir); ++i) dir = base.string() + "-" + std::to_string(i);
  return dir;
}

std::vector<std::shared_ptr<Callback>> make_callbacks(const TrainSettings& s, const fs::path& dir) {
  using namespace kiln::callbacks;
  std::vector<std::shared_ptr<Callback>> cbs;
  if (s.lr_schedule == "step") {
    cbs.push_back(std::make_shared<LearningRateScheduler>(schedules::step_decay(s.lr, 0.5, 3)));
  } else if (s.lr_schedule == "cosine") {
    cbs.push_back(std::make_shared<LearningRateScheduler>(schedules::cosine_decay(s.lr, s.epochs)));
  } else if (s.lr_schedule == "plateau") {
    cbs.push_back(std::make_shared<ReduceLROnPlateau>(
        ReduceLROnPlateauOptions{.factor = 0.5, .patience = 2, .min_lr = s.lr / 100}));
  }
  if (s.early_stopping > 0) {
    cbs.push_back(std::make_shared<EarlyStopping>(
        EarlyStoppingOptions{.patience = s.early_stopping, .restore_best_weights = true, .verbose = s.verbose != 0}));
  }
  cbs.push_back(std::make_shared<CSVLogger>(dir / "history.csv"));
  cbs.push_back(std::make_shared<ModelCheckpoint>(dir / "checkpoint.safetensors"));
  cbs.push_back(std::make_shared<ModelCheckpoint>(
      dir / "best.safetensors", ModelCheckpointOptions{.monitor = "val_accuracy", .save_best_only = true}));
  return cbs;
}

// Temporary files of checkpoints whose writing a killed run interrupted.
void remove_interrupted_writes(const fs::path& dir) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > 1 && name[0] == '.' && name.find(".tmp-") != std::string::npos) fs::remove(entry.path(), ec);
  }
}

int run_train(TrainSettings s) {
  const bool resuming = !s.resume.empty();
  fs::path dir;
  if (resuming) {
    dir = s.resume;
    const fs::path config = dir / "config.json";
    if (!fs::exists(config)) throw Error(dir.string() + ": not a run folder (no config.json)");
    json j;
    try {
      j = json::parse(io::read_file(config, 1 << 20));
    } catch (const json::exception& e) {
      throw Error(config.string() + ": not valid JSON (" + e.what() + ")");
    }
    settings_from_json(j.at("settings"), s, config.string());
    if (!fs::exists(dir / "checkpoint.safetensors")) {
      throw Error(dir.string() + ": no checkpoint.safetensors yet (the run stopped before its first epoch ended); "
                                 "start it again instead");
    }
    remove_interrupted_writes(dir);
  } else {
    if (fs::exists(fs::path(s.out) / "config.json")) {
      throw Error(s.out + " already holds a run; continue it with --resume " + s.out + " or choose another --out");
    }
  }
  // A fixed thread count, recorded, so that a resumed run computes exactly as this one.
  kiln::set_num_threads(s.threads);
  s.threads = kiln::get_num_threads();
  kiln::manual_seed(s.seed);
  // --verbose 0: nothing on standard output but the final "Test accuracy" line (errors still go to stderr).
  const bool talk = s.verbose != 0;
  s.data.quiet = !talk;
  const LoadedDataset loaded = load_dataset(s.data);
  const auto train = head(loaded.data.train, s.train_samples);
  const auto test = head(loaded.data.test, s.test_samples);
  const kiln::Shape image_shape(train.images.shape().begin() + 1, train.images.shape().end());
  if (talk) {
    std::cout << "Dataset: " << loaded.name << ", " << train.images.size(0) << " training and " << test.images.size(0)
              << " test images of shape " << kiln::shape_str(image_shape) << "\n";
  }

  // As the article: pixels / 255, done per batch so the images stay uint8.
  const auto train_ds = kiln::data::Dataset(train.images, train.labels).rescale(1.0 / 255);
  const auto test_ds = kiln::data::Dataset(test.images, test.labels).rescale(1.0 / 255);

  std::shared_ptr<Model> model;
  std::shared_ptr<const TrainingState> resume_state;
  if (resuming) {
    auto checkpoint = load_checkpoint(dir / "checkpoint.safetensors");
    model = checkpoint.model;
    resume_state = checkpoint.state;
    if (talk) {
      std::cout << "Resuming " << dir.string() << " after epoch " << resume_state->epochs_done << " of " << s.epochs
                << "\n";
    }
  } else {
    dir = s.out.empty() ? new_run_dir(loaded.key) : fs::path(s.out);
    fs::create_directories(dir);
    model = std::make_shared<Sequential>(kiln::zoo::article_cnn(image_shape));
    model->compile(kiln::optim::Adam(s.lr), kiln::losses::SparseCategoricalCrossentropy(), {"accuracy"});
    const json config = {{"settings", settings_json(s, loaded)},
                         {"dataset_name", loaded.name},
                         {"model", "the article's CNN (kiln::zoo::article_cnn)"},
                         {"input_shape", image_shape},
                         {"parameters", model->count_params()},
                         {"architecture", model_to_json(*model)}};
    io::write_file_atomically(dir / "config.json", config.dump(2) + "\n");
  }
  if (talk) {
    model->summary();
    std::cout << "Run folder: " << dir.string() << "\n";
  }
  const History history = model->fit(train_ds, {.epochs = s.epochs,
                                                .batch_size = s.batch_size,
                                                .verbose = s.verbose,
                                                .validation_data = test_ds,
                                                .seed = s.seed,
                                                .callbacks = make_callbacks(s, dir),
                                                .resume = resume_state});
  const kiln::Logs result = model->evaluate(test_ds, {.batch_size = s.batch_size, .verbose = talk ? 2 : 0});
  model->save(dir / "model.safetensors");

  report::RunSummary summary;
  summary.title = loaded.name + " - the article's CNN, " + std::to_string(history.epoch.size()) + " epochs";
  summary.config = settings_json(s, loaded);
  summary.config["dataset"] = loaded.name;
  summary.config["training images"] = train.images.size(0);
  summary.config["test images"] = test.images.size(0);
  summary.config["input shape"] = kiln::shape_str(image_shape);
  summary.config["parameters"] = model->count_params();
  summary.config["optimizer"] = "Adam";
  summary.config["run folder"] = fs::absolute(dir).string();
  summary.history = history;
  summary.class_names = class_names_of(loaded.key);
  summary.y_true = kiln::metrics::to_labels(test.labels);
  summary.scores = model->predict(test_ds, {.batch_size = s.batch_size});
  const report::Written written = report::write_run_report(dir, summary);
  if (!written.png_problem.empty()) std::cerr << "Note: " << written.png_problem << "\n";
  if (talk) {
    std::cout << "Report: " << (dir / "report.html").string() << "\n";
    std::printf("Peak memory: %.0f MB\n", peak_rss_mb());
  }
  // The article's program ends with the test accuracy, so Kiln's does too.
  std::printf("Test accuracy: %.4f\n", result.at("accuracy"));
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& parent) {
  auto settings = std::make_shared<TrainSettings>();
  TrainSettings& s = *settings;
  auto* train = parent.add_subcommand("train", "Train the article's CNN into a run folder and report on it");
  auto* dataset = train->add_option("--dataset", s.data.dataset,
                                    "auto: CIFAR-10 if present or downloadable, else Fashion-MNIST; or cifar10, "
                                    "fashion-mnist, mnist")
                      ->check(one_of(dataset_names()))
                      ->capture_default_str();
  train->add_option("--data", s.data.data_dir, "Folder holding the dataset files (searched first)")
      ->check(existing_folder());
  std::vector<CLI::Option*> run_settings = {dataset};
  run_settings.push_back(train->add_option("--epochs", s.epochs, "Passes over the training data")
                             ->check(whole_number(1))
                             ->capture_default_str());
  run_settings.push_back(train->add_option("--batch-size", s.batch_size, "Samples per training step")
                             ->check(whole_number(1))
                             ->capture_default_str());
  run_settings.push_back(
      train->add_option("--lr", s.lr, "Adam's learning rate")->check(positive_finite())->capture_default_str());
  run_settings.push_back(train->add_option("--lr-schedule", s.lr_schedule,
                                           "constant; step (halve every 3 epochs); cosine (to 0 over the run); "
                                           "plateau (halve when val_loss stalls for 2 epochs)")
                             ->check(one_of(schedule_names()))
                             ->capture_default_str());
  run_settings.push_back(train->add_option("--early-stopping", s.early_stopping,
                                           "Stop when val_loss has not improved for N epochs, keeping the best "
                                           "weights (0: off)")
                             ->check(whole_number(0)));
  run_settings.push_back(
      train->add_option("--seed", s.seed, "Seed for weights and shuffling (same seed and threads: same run)")
          ->check(seed_number())
          ->capture_default_str());
  run_settings.push_back(train->add_option("--threads", s.threads, "Threads to use (0: all cores of this process)")
                             ->check(whole_number(0))
                             ->capture_default_str());
  train->add_option("--verbose", s.verbose,
                    "1: progress bar, 2: a line per epoch, 0: quiet (default: bar on a terminal)")
      ->check(whole_number(0, 2));
  train->add_flag("--no-download", s.data.no_download, "Never download; fail (or fall back) when the data is absent");
  run_settings.push_back(
      train->add_option("--train-samples", s.train_samples, "Use only the first N training images (0: all)")
          ->check(whole_number(0)));
  run_settings.push_back(
      train->add_option("--test-samples", s.test_samples, "Use only the first N test images (0: all)")
          ->check(whole_number(0)));
  run_settings.push_back(
      train->add_option("--out", s.out, "The run folder to write (default: a new folder under runs/)")
          ->check(folder_path()));
  auto* resume = train->add_option("--resume", s.resume,
                                   "Continue the run in RUN_DIR from its last checkpoint, with its settings")
                     ->check(existing_folder());
  for (auto* o : run_settings) resume->excludes(o);
  return {train, [settings] { return run_train(*settings); }};
}

}  // namespace kiln::cli
