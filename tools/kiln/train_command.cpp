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
// `kiln train --data DIR` on a folder of class sub-folders of images trains on it instead
// (streamed: decoded and resized on worker threads while the model trains), holding out
// --validation-split of it as the test set.
//
// `kiln train --csv FILE --label COLUMN` trains an MLP classifier or regressor on a CSV file
// (Normalization adapted to the training rows, two Dense(64, relu) layers), holding out
// --validation-split of the rows as the test set.
//
// `kiln train --resume DIR` continues a run that was stopped (even by SIGKILL) from its
// checkpoint with the same settings, and ends with the weights it would have had.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <set>
#include <thread>

#include "command.hpp"
#include "dataset_choice.hpp"
#include "kiln/core_usage.hpp"
#include "kiln/io/files.hpp"
#include "kiln/kiln.hpp"
#include "kiln/report.hpp"
#include "recipes/recipes.hpp"
#ifdef KILN_HAVE_MPI
#include "kiln/distributed.hpp"
#endif

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
  // Image folders (--data DIR with class sub-folders).
  std::string image_size;  // "H", "HxW"; empty: the first image's size
  std::string color_mode;  // grayscale, rgb, rgba; empty: the first image's
  double validation_split = 0.2;
  bool skip_invalid = false;
  std::string cache = "auto";  // memory, none, or auto: memory when the decoded images fit easily
  // CSV files.
  std::string csv, label;
  std::string task = "auto";         // auto, classification, regression
  std::string categorical = "auto";  // comma-separated feature columns; "auto": those holding text
  // --model: the user's own model (Keras architecture JSON or a Kiln model file) instead of Kiln's.
  std::string model;
  double mpi_timeout = 300;  // under mpirun: seconds a collective may wait for the other ranks
  // "bf16": every layer under the mixed_bfloat16 policy (kiln/mixed_precision.hpp); "float32": none.
  std::string precision = "float32";
  // --recipe fast|best: a time-to-accuracy recipe (examples/recipes/) instead of the article's CNN.
  std::string recipe;
};

// Under mpirun (or srun) with more than one rank, kiln train trains data-parallel
// (docs/distributed.md): rank 0 alone prints and writes the run folder.
struct RankInfo {
  int rank = 0, size = 1, local_size = 1;
  bool chief() const { return rank == 0; }
  bool distributed() const { return size > 1; }
};

RankInfo start_ranks(const TrainSettings& s) {
  RankInfo r;
#ifdef KILN_HAVE_MPI
  if (kiln::distributed::launched_by_mpi()) {
    kiln::distributed::init(nullptr, nullptr, {.timeout_seconds = s.mpi_timeout, .set_threads = false});
    r.rank = kiln::distributed::rank();
    r.size = kiln::distributed::world_size();
    r.local_size = kiln::distributed::local_size();
  }
#else
  (void)s;
#endif
  return r;
}

// Rank 0's value on every rank (the run folder's name).
std::string from_rank0(const RankInfo& r, const std::string& text) {
#ifdef KILN_HAVE_MPI
  if (r.distributed()) return kiln::distributed::broadcast(text);
#else
  (void)r;
#endif
  return text;
}

void wait_for_ranks(const RankInfo& r) {
#ifdef KILN_HAVE_MPI
  if (r.distributed()) kiln::distributed::barrier();
#else
  (void)r;
#endif
}

const std::vector<std::string>& schedule_names() {
  static const std::vector<std::string> names{"constant", "step", "cosine", "plateau"};
  return names;
}

// What a resumed run must share with the run it continues (the data location may change).
json settings_json(const TrainSettings& s, const std::string& key) {
  json j = {{"dataset", key},
            {"epochs", s.epochs},
            {"batch_size", s.batch_size},
            {"lr", s.lr},
            {"lr_schedule", s.lr_schedule},
            {"early_stopping", s.early_stopping},
            {"seed", s.seed},
            {"threads", s.threads},
            {"train_samples", s.train_samples},
            {"test_samples", s.test_samples},
            {"precision", s.precision}};
  if (key == "folder") {
    j["data"] = fs::absolute(s.data.data_dir).string();
    j["image_size"] = s.image_size;
    j["color_mode"] = s.color_mode;
    j["validation_split"] = s.validation_split;
    j["skip_invalid_images"] = s.skip_invalid;
  }
  if (key == "csv") {
    j["csv"] = fs::absolute(s.csv).string();
    j["label"] = s.label;
    j["task"] = s.task;
    j["categorical"] = s.categorical;
    j["validation_split"] = s.validation_split;
  }
  if (!s.model.empty()) j["model"] = fs::absolute(s.model).string();
  if (!s.recipe.empty()) j["recipe"] = s.recipe;
  return j;
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
    s.model = j.value("model", std::string());
    s.recipe = j.value("recipe", std::string());
    s.precision = j.value("precision", std::string("float32"));  // runs from before --precision
    if (s.data.dataset == "folder") {
      // --data given with --resume: the folder has moved.
      if (s.data.data_dir.empty()) s.data.data_dir = j.at("data").get<std::string>();
      s.image_size = j.at("image_size").get<std::string>();
      s.color_mode = j.at("color_mode").get<std::string>();
      s.validation_split = j.at("validation_split").get<double>();
      s.skip_invalid = j.at("skip_invalid_images").get<bool>();
    }
    if (s.data.dataset == "csv") {
      s.csv = j.at("csv").get<std::string>();
      s.label = j.at("label").get<std::string>();
      s.task = j.at("task").get<std::string>();
      s.categorical = j.at("categorical").get<std::string>();
      s.validation_split = j.at("validation_split").get<double>();
    }
  } catch (const json::exception& e) {
    throw Error(source + ": not the configuration of a kiln train run (" + e.what() + ")");
  }
  if (s.epochs < 1 || s.batch_size < 1 || !(s.lr > 0) || s.threads < 1 ||
      (s.precision != "float32" && s.precision != "bf16")) {
    throw Error(source + ": invalid settings");
  }
}

kiln::mixed_precision::DTypePolicy policy_of(const TrainSettings& s) {
  return s.precision == "bf16" ? "mixed_bfloat16" : "float32";
}

// The run's precision on every layer, also those of a model file or a checkpoint, whatever
// policy they were saved with (both keep float32 weights, so built layers may switch).
void apply_precision(Model& model, const TrainSettings& s) {
  for (const auto& layer : model.layers()) {
    try {
      layer->set_dtype_policy(policy_of(s));
    } catch (const Error& e) {
      throw Error(std::string("--precision ") + s.precision + ": " + e.what());
    }
  }
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

std::vector<std::shared_ptr<Callback>> make_callbacks(const TrainSettings& s, const fs::path& dir,
                                                      const std::string& best_monitor) {
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
      dir / "best.safetensors", ModelCheckpointOptions{.monitor = best_monitor, .save_best_only = true}));
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

// The data of a run: in memory (the built-in datasets) or streamed (an image folder).
struct TrainData {
  std::string key, name;
  std::optional<kiln::data::Dataset> train_memory;  // trained with fit(Dataset): its shuffling
  kiln::data::Pipeline train, test;
  kiln::Shape image_shape;
  std::vector<std::string> class_names;  // empty for a regression
  std::int64_t train_count = 0, test_count = 0;
  std::string model_description = "the article's CNN (kiln::zoo::article_cnn)";
  std::string samples = "images";
  std::function<std::shared_ptr<Model>(const TrainSettings&)> make_model;
};

std::shared_ptr<Sequential> article_cnn_for(const TrainData& d, const TrainSettings& s) {
  auto model = std::make_shared<Sequential>(
      kiln::zoo::article_cnn(d.image_shape, static_cast<std::int64_t>(d.class_names.size())));
  model->compile(kiln::optim::Adam(s.lr), kiln::losses::SparseCategoricalCrossentropy(), {"accuracy"});
  return model;
}

// --model FILE: a Keras architecture JSON (fresh weights; a Normalization first layer is adapted to
// the training data, as Keras users adapt it before fit) or a Kiln model file (its weights are the
// starting point). Compiled as Kiln's own models are: Adam(--lr) with sparse categorical
// cross-entropy (from logits unless the last layer ends in softmax) or mean squared error.
std::shared_ptr<Model> user_model_for(const TrainData& d, const TrainSettings& s) {
  const std::string text = io::read_file(s.model, std::int64_t(1) << 30);
  const auto first = text.find_first_not_of(" \t\r\n");
  const bool is_json = first != std::string::npos && text[first] == '{';
  std::shared_ptr<Model> model;
  try {
    model = is_json ? model_from_json(text) : load_model(s.model);
  } catch (const Error& e) {
    throw Error("--model " + s.model + ": " + e.what());
  }
  const auto layers = model->layers();
  if (layers.empty()) throw Error("--model " + s.model + ": the model has no layers");
  std::vector<Shape> outputs;
  try {
    outputs = model->compute_output_shapes({d.image_shape});
  } catch (const Error& e) {
    throw Error("--model " + s.model + " does not take the data's samples of shape " + shape_str(d.image_shape) + ": " +
                e.what());
  }
  const bool classify = !d.class_names.empty();
  const std::int64_t want = classify ? static_cast<std::int64_t>(d.class_names.size()) : 1;
  if (outputs.size() != 1 || outputs[0].size() != 1 || outputs[0][0] != want) {
    std::string got;
    for (const auto& o : outputs) got += (got.empty() ? "" : ", ") + shape_str(o);
    throw Error("--model " + s.model + ": expected one output of shape [" + std::to_string(want) + "] (" +
                (classify ? std::to_string(want) + " classes" : std::string("a regression target")) + "), got " + got);
  }
  if (is_json && d.train_memory) {
    if (auto* norm = dynamic_cast<layers::Normalization*>(layers.front().get())) norm->adapt(*d.train_memory);
  }
  if (classify) {
    const nlohmann::json last = layers.back()->get_config();
    const bool softmax = last.contains("activation") && last.at("activation") == "softmax";
    model->compile(kiln::optim::Adam(s.lr), kiln::losses::SparseCategoricalCrossentropy(/*from_logits=*/!softmax),
                   {"accuracy"});
  } else {
    model->compile(kiln::optim::Adam(s.lr), "mse", {"mae"});
  }
  return model;
}

// --recipe: the recipe's model, optimizer, schedule and loss (examples/recipes/recipes.cpp).
std::shared_ptr<Model> recipe_model_for(const TrainData& d, const TrainSettings& s) {
  const recipes::Recipe r = recipes::named(s.recipe);
  auto model = std::make_shared<Sequential>(
      recipes::build_model(r, d.image_shape, static_cast<std::int64_t>(d.class_names.size())));
  recipes::compile(*model, r, (d.train_count + s.batch_size - 1) / s.batch_size);
  return model;
}

TrainData load_builtin(TrainSettings& s) {
  const LoadedDataset loaded = load_dataset(s.data);
  const auto train = head(loaded.data.train, s.train_samples);
  const auto test = head(loaded.data.test, s.test_samples);
  TrainData d;
  d.key = loaded.key;
  d.name = loaded.name;
  // As the article: pixels / 255, done per batch so the images stay uint8.
  d.train_memory = kiln::data::Dataset(train.images, train.labels).rescale(1.0 / 255);
  d.train = *d.train_memory;
  d.test = kiln::data::Dataset(test.images, test.labels).rescale(1.0 / 255);
  d.image_shape = kiln::Shape(train.images.shape().begin() + 1, train.images.shape().end());
  d.class_names = class_names_of(loaded.key);
  d.train_count = train.images.size(0);
  d.test_count = test.images.size(0);
  return d;
}

// "64" or "64x48" (height x width).
std::array<std::int64_t, 2> parse_image_size(const std::string& text) {
  const auto x = text.find('x');
  try {
    std::size_t used = 0;
    const std::int64_t h = std::stoll(text.substr(0, x), &used);
    if (used != text.substr(0, x).size()) throw std::invalid_argument(text);
    std::int64_t w = h;
    if (x != std::string::npos) {
      w = std::stoll(text.substr(x + 1), &used);
      if (used != text.size() - x - 1) throw std::invalid_argument(text);
    }
    if (h >= 1 && w >= 1 && h <= 4096 && w <= 4096) return {h, w};
  } catch (const std::exception&) {
  }
  throw Error("--image-size: got '" + text + "', expected N or HxW with sides from 1 to 4096");
}

// Sorted, as image_dataset_from_directory sorts them: the image whose size and colours
// the run takes when --image-size and --color-mode are not given.
fs::path first_image(const fs::path& dir) {
  std::vector<fs::path> classes;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.is_directory()) classes.push_back(e.path());
  }
  std::sort(classes.begin(), classes.end());
  for (const auto& c : classes) {
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(c)) {
      if (e.is_regular_file() && is_image_file(e.path())) files.push_back(e.path());
    }
    if (!files.empty()) return *std::min_element(files.begin(), files.end());
  }
  throw Error(dir.string() + ": no images in its sub-folders");
}

// Bytes of memory not in use (MemAvailable), or 0 when unknown.
std::int64_t available_memory() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  std::int64_t kb = 0;
  std::string unit;
  while (meminfo >> key >> kb >> unit) {
    if (key == "MemAvailable:") return kb * 1024;
  }
  return 0;
}

// --cache: whether the folder's decoded images stay in memory after the first epoch. "auto"
// keeps them when, at one byte per value (uint8, as decoded at the target size), they take at
// most a quarter of the memory available; then later epochs decode nothing.
bool cache_folder(const TrainSettings& s, const fs::path& dir, bool talk) {
  if (s.cache != "auto") return s.cache == "memory";
  std::int64_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) files += entry.is_regular_file() ? 1 : 0;
  const auto hw = parse_image_size(s.image_size);
  const std::int64_t channels = s.color_mode == "grayscale" ? 1 : s.color_mode == "rgb" ? 3 : 4;
  const std::int64_t bytes = files * hw[0] * hw[1] * channels;
  const bool fits = bytes <= available_memory() / 4;
  if (talk && fits) {
    std::cout << "Caching the decoded images in memory (" << (bytes + (1 << 20) - 1) / (1 << 20)
              << " MB; --cache none streams every epoch from the files)\n";
  }
  return fits;
}

TrainData load_folder(TrainSettings& s, bool talk) {
  const fs::path dir = s.data.data_dir;
  if (s.train_samples > 0 || s.test_samples > 0) {
    throw Error("--train-samples and --test-samples apply to the built-in datasets, not to an image folder");
  }
  if (s.image_size.empty() || s.color_mode.empty()) {
    const Tensor image = kiln::data::read_image(first_image(dir));
    if (s.image_size.empty()) s.image_size = std::to_string(image.size(0)) + "x" + std::to_string(image.size(1));
    if (s.color_mode.empty()) s.color_mode = image.size(2) <= 2 ? "grayscale" : "rgb";
  }
  auto [train, test] = kiln::data::image_datasets_from_directory(dir, {.color_mode = s.color_mode,
                                                                       .batch_size = s.batch_size,
                                                                       .image_size = parse_image_size(s.image_size),
                                                                       .seed = s.seed,
                                                                       .validation_split = s.validation_split,
                                                                       .skip_invalid_images = s.skip_invalid,
                                                                       .cache = cache_folder(s, dir, talk),
                                                                       .verbose = talk});
  // As the article: pixels / 255 (Keras's folders give [0, 255]), on the prefetching thread.
  auto unit = [](kiln::data::Batch b) {
    Tensor x = b.x.contiguous().clone();
    float* p = x.data<float>();
    for (std::int64_t i = 0; i < x.numel(); ++i) p[i] *= 1.0f / 255;
    b.x = x;
    return b;
  };
  TrainData d;
  d.key = "folder";
  d.name = "image folder " + fs::absolute(dir).lexically_normal().filename().string();
  d.train = train.map(unit, 1).prefetch();
  d.test = test.map(unit, 1).prefetch();
  const auto hw = parse_image_size(s.image_size);
  d.image_shape = {hw[0], hw[1], s.color_mode == "grayscale" ? 1 : s.color_mode == "rgb" ? 3 : 4};
  d.class_names = train.class_names;
  d.train_count = static_cast<std::int64_t>(train.file_paths.size());
  d.test_count = static_cast<std::int64_t>(test.file_paths.size());
  return d;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  for (char c : text + ",") {
    if (c != ',') {
      item += c;
    } else if (!item.empty()) {
      out.push_back(item);
      item.clear();
    }
  }
  return out;
}

// Settles "auto": columns of text alone are categorical (a column of numbers with some text
// stays numeric, so that the stray text is reported by line and column); a label holding
// text, or at most 20 distinct whole numbers, is a classification target.
void resolve_csv_kinds(TrainSettings& s, const kiln::data::CsvTable& t) {
  const auto label_at = std::find(t.header.begin(), t.header.end(), s.label);
  if (label_at == t.header.end()) {
    std::string list;
    for (const auto& h : t.header) list += (list.empty() ? "" : ", ") + h;
    throw Error("--label: " + s.csv + " has no column '" + s.label + "'; its columns: " + list);
  }
  const auto label = static_cast<std::size_t>(label_at - t.header.begin());
  auto count_text = [&](std::size_t c) {
    std::size_t text = 0, numbers = 0;
    for (const auto& row : t.rows) {
      if (kiln::data::is_missing_value(row[c])) continue;
      ++(kiln::data::parse_number(row[c]) ? numbers : text);
    }
    return std::make_pair(text, numbers);
  };
  if (s.categorical == "auto") {
    s.categorical.clear();
    for (std::size_t c = 0; c < t.header.size(); ++c) {
      if (c != label && count_text(c).first > 0 && count_text(c).second == 0)
        s.categorical += (s.categorical.empty() ? "" : ",") + t.header[c];
    }
  }
  if (s.task == "auto") {
    std::set<double> distinct;
    bool whole = true;
    for (const auto& row : t.rows) {
      const auto v = kiln::data::parse_number(row[label]);
      if (v) whole = whole && *v == std::floor(*v), distinct.insert(*v);
    }
    s.task = count_text(label).first > 0 || (whole && distinct.size() <= 20) ? "classification" : "regression";
  }
}

TrainData load_csv(TrainSettings& s) {
  if (s.train_samples > 0 || s.test_samples > 0) {
    throw Error("--train-samples and --test-samples apply to the built-in datasets, not to a CSV file");
  }
  resolve_csv_kinds(s, kiln::data::read_csv(s.csv));
  const bool classify = s.task == "classification";
  std::vector<std::string> categorical = split_list(s.categorical);
  if (classify) categorical.push_back(s.label);
  const auto all = kiln::data::csv_dataset(
      s.csv, {.label = s.label, .categorical_columns = categorical, .batch_size = 0, .shuffle = false});
  // The rows in an order fixed by the seed; the last --validation-split of them are the test set.
  const std::int64_t n = all.data.size();
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  Generator g(s.seed);
  for (std::int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[g.below(std::uint64_t(i + 1))]);
  const kiln::data::Batch rows = all.data.gather(order);
  const kiln::data::Dataset shuffled(rows.x, rows.y);
  const auto split = static_cast<std::int64_t>(double(n) * (1.0 - s.validation_split));
  if (split < 1 || split >= n) {
    throw Error(s.csv + ": " + std::to_string(n) + " rows leave no training or no test rows with --validation-split " +
                std::to_string(s.validation_split));
  }
  TrainData d;
  d.key = "csv";
  d.name = "CSV " + fs::path(s.csv).filename().string();
  d.train_memory = shuffled.subset(0, split);
  d.train = *d.train_memory;
  d.test = shuffled.subset(split, n);
  d.image_shape = {static_cast<std::int64_t>(all.feature_names.size())};
  d.class_names = all.class_names;
  d.train_count = split;
  d.test_count = n - split;
  d.samples = "rows";
  d.model_description = std::string("an MLP ") + (classify ? "classifier" : "regressor") +
                        ": Normalization, Dense(64, relu), Dense(64, relu), Dense(" +
                        (classify ? std::to_string(d.class_names.size()) + ", softmax)" : std::string("1)"));
  const kiln::data::Dataset train = *d.train_memory;
  d.make_model = [train, classify, features = d.image_shape[0],
                  classes = d.class_names.size()](const TrainSettings& s) {
    using namespace kiln::layers;
    auto norm = std::make_shared<Normalization>(NormalizationOptions{.input_shape = {features}});
    norm->adapt(train);
    auto model = std::make_shared<Sequential>();
    model->add(norm);
    model->add(Dense(64, "relu"));
    model->add(Dense(64, "relu"));
    if (classify) {
      model->add(Dense(static_cast<std::int64_t>(classes), "softmax"));
      model->compile(kiln::optim::Adam(s.lr), kiln::losses::SparseCategoricalCrossentropy(), {"accuracy"});
    } else {
      model->add(Dense(1));
      model->compile(kiln::optim::Adam(s.lr), "mse", {"mae"});
    }
    return model;
  };
  return d;
}

// Each parallel loop splits its work evenly and its threads wait for one another at the end,
// so when another process holds one of the cores, a run with a thread per core waits on the
// preempted thread and is slower than one with fewer threads (bench/busy_machine.py: 2
// threads beside one busy process ran at half the speed of 1). The count is recorded in the
// run folder, so --resume computes exactly as the run did.
void use_idle_cores(const kiln::CoreUsage& usage, TrainSettings& s, bool talk) {
  std::this_thread::sleep_until(usage.started() + std::chrono::milliseconds(150));  // clock ticks are 10 ms
  const kiln::CoreUsage::Reading r = usage.measure();
  if (r.idle_cores >= s.threads) return;
  if (talk) {
    std::printf("Threads: %d of %d (other processes keep %.1f cores busy; --threads %d uses them all)\n",
                r.idle_cores, s.threads, r.others_busy_cores, s.threads);
  }
  kiln::set_num_threads(r.idle_cores);
  s.threads = kiln::get_num_threads();
}

int run_train_ranks(TrainSettings s, const RankInfo& ranks);

int run_train(TrainSettings s) {
  const RankInfo ranks = start_ranks(s);
  if (!ranks.distributed()) return run_train_ranks(std::move(s), ranks);
  try {
    return run_train_ranks(std::move(s), ranks);
  } catch (const std::exception& e) {
    // Returning would leave the other ranks waiting in a collective: end the whole job, naming this rank.
#ifdef KILN_HAVE_MPI
    kiln::distributed::abort(std::string("kiln train: ") + e.what());
#endif
    throw;
  }
}

int run_train_ranks(TrainSettings s, const RankInfo& ranks) {
  // Without --threads (and one process), the cores other processes leave idle, measured while the data loads.
  const kiln::CoreUsage core_usage;
  const bool auto_threads = s.threads == 0 && !ranks.distributed();
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
    if (ranks.chief()) remove_interrupted_writes(dir);
  } else {
    if (fs::exists(fs::path(s.out) / "config.json")) {
      throw Error(s.out + " already holds a run; continue it with --resume " + s.out + " or choose another --out");
    }
  }
  wait_for_ranks(ranks);  // every rank has looked at the folder before rank 0 writes to it
  if (!resuming && s.data.dataset == "auto" && !s.data.data_dir.empty() && is_image_folder(s.data.data_dir)) {
    s.data.dataset = "folder";
  }
  if (s.data.dataset == "folder" && s.data.data_dir.empty()) {
    throw Error("--dataset folder needs --data DIR, a folder with one sub-folder of images per class");
  }
  // A fixed thread count, recorded, so that a resumed run computes exactly as this one. Ranks on one
  // machine share its cores.
  if (s.threads == 0 && ranks.local_size > 1) {
    s.threads = std::max(1, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) / ranks.local_size);
  }
  kiln::set_num_threads(s.threads);
  s.threads = kiln::get_num_threads();
  kiln::manual_seed(s.seed);
  // --verbose 0: nothing on standard output but the final "Test accuracy" line (errors still go to stderr).
  const bool talk = s.verbose != 0 && ranks.chief();
  s.data.quiet = !talk;
  if (!s.csv.empty() && !resuming) s.data.dataset = "csv";
  TrainData data = s.data.dataset == "folder" ? load_folder(s, talk)
                   : s.data.dataset == "csv"  ? load_csv(s)
                                              : load_builtin(s);
  if (!s.model.empty()) {
    data.model_description = "the model of " + fs::path(s.model).filename().string();
    data.make_model = [&data](const TrainSettings& t) { return user_model_for(data, t); };
  }
  if (!s.recipe.empty()) {
    if (data.class_names.empty()) throw Error("--recipe " + s.recipe + " trains image classifiers, not regressions");
    data.model_description = "recipe " + s.recipe + " (examples/recipes/recipes.cpp)";
    data.make_model = [&data](const TrainSettings& t) { return recipe_model_for(data, t); };
    if (talk) std::cout << recipes::describe(recipes::named(s.recipe)) << "\n";
  }
  if (!data.make_model) data.make_model = [&data](const TrainSettings& t) { return article_cnn_for(data, t); };
  if (auto_threads && !resuming) use_idle_cores(core_usage, s, talk);
  const bool regression = data.class_names.empty();
  if (talk && ranks.distributed()) {
    std::cout << "Data-parallel: " << ranks.size << " ranks (MPI), global batch " << s.batch_size << ", local batch "
              << s.batch_size / ranks.size
              << (s.batch_size % ranks.size ? "-" + std::to_string(s.batch_size / ranks.size + 1) : "") << ", "
              << s.threads << " thread" << (s.threads == 1 ? "" : "s") << " per rank\n";
  }
  if (talk) {
    std::cout << "Dataset: " << data.name << ", " << data.train_count << " training and " << data.test_count << " test "
              << data.samples << " of shape " << kiln::shape_str(data.image_shape) << ", "
              << (regression ? std::string("a regression target")
                             : std::to_string(data.class_names.size()) + " classes")
              << "\n";
  }
  const kiln::Shape& image_shape = data.image_shape;
  kiln::mixed_precision::set_global_policy(policy_of(s));  // prints the notice where bf16 is not native
  if (talk && s.precision == "bf16") {
    std::cout << "Precision: mixed_bfloat16 (float32 weights; convolutions and matrix products in "
              << (kiln::mixed_precision::native_bf16() ? "bf16" : "float32 on this CPU") << ")\n";
  }

  std::shared_ptr<Model> model;
  std::shared_ptr<const TrainingState> resume_state;
  if (resuming) {
    auto checkpoint = load_checkpoint(dir / "checkpoint.safetensors");
    model = checkpoint.model;
    apply_precision(*model, s);
    resume_state = checkpoint.state;
    if (talk) {
      std::cout << "Resuming " << dir.string() << " after epoch " << resume_state->epochs_done << " of " << s.epochs
                << "\n";
    }
  } else {
    const std::string tag = data.key == "folder" ? "folder-" + fs::absolute(s.data.data_dir).filename().string()
                            : data.key == "csv"  ? "csv-" + fs::path(s.csv).stem().string()
                                                 : data.key;
    dir = from_rank0(ranks, ranks.chief() ? (s.out.empty() ? new_run_dir(tag) : fs::path(s.out)).string() : "");
    if (ranks.chief()) fs::create_directories(dir);
    model = data.make_model(s);
    apply_precision(*model, s);
    const json config = {
        {"settings", settings_json(s, data.key)}, {"dataset_name", data.name},  {"class_names", data.class_names},
        {"model", data.model_description},        {"input_shape", image_shape}, {"parameters", model->count_params()},
        {"architecture", model_to_json(*model)}};
    if (ranks.chief()) io::write_file_atomically(dir / "config.json", config.dump(2) + "\n");
  }
  if (talk) {
    model->summary();
    std::cout << "Run folder: " << dir.string() << "\n";
  }
  const FitOptions fit_options{.epochs = s.epochs,
                               .batch_size = s.batch_size,
                               .verbose = s.verbose,
                               .validation_data = data.test,
                               .seed = s.seed,
                               .callbacks = make_callbacks(s, dir, regression ? "val_loss" : "val_accuracy"),
                               .resume = resume_state};
#ifdef KILN_HAVE_MPI
  std::optional<kiln::distributed::DataParallel> data_parallel;
  if (ranks.distributed()) data_parallel.emplace(*model);
#endif
  const History history =
      data.train_memory ? model->fit(*data.train_memory, fit_options) : model->fit(data.train, fit_options);
  const kiln::Logs result = model->evaluate(data.test, {.batch_size = s.batch_size, .verbose = talk ? 2 : 0});
  if (!ranks.chief()) return 0;  // rank 0 writes the model and the report
  model->save(dir / "model.safetensors");
  if (regression) {
    io::write_file_atomically(dir / "history.json", report::history_json(history).dump(2) + "\n");
    if (talk) std::printf("Peak memory: %.0f MB\n", peak_rss_mb());
    std::printf("Test mae: %.4f\n", result.at("mae"));
    return 0;
  }

  report::RunSummary summary;
  summary.title = data.name + " - " +
                  (!s.model.empty() || !s.recipe.empty() ? data.model_description
                   : data.key == "csv"                   ? "an MLP classifier"
                                                         : "the article's CNN") +
                  ", " + std::to_string(history.epoch.size()) + " epochs";
  summary.config = settings_json(s, data.key);
  summary.config["dataset"] = data.name;
  summary.config["training " + data.samples] = data.train_count;
  summary.config["test " + data.samples] = data.test_count;
  summary.config["input shape"] = kiln::shape_str(image_shape);
  summary.config["parameters"] = model->count_params();
  summary.config["optimizer"] = s.recipe.empty() ? "Adam" : "AdamW";
  summary.config["run folder"] = fs::absolute(dir).string();
  summary.history = history;
  summary.class_names = data.class_names;
  // One pass gives scores and labels together, so a shuffled test pipeline keeps them paired.
  std::vector<Tensor> scores, labels;
  auto it = (data.test.batched() ? data.test : data.test.batch(s.batch_size)).iterate();
  while (auto batch = it.next()) {
    // A recipe scores with its test-time augmentation (the mirror images' predictions averaged in).
    scores.push_back(s.recipe.empty() ? model->predict(kiln::data::Dataset(batch->x), {.batch_size = s.batch_size})
                                      : recipes::predict(*model, recipes::named(s.recipe), batch->x));
    labels.push_back(batch->y);
  }
  summary.scores = scores.size() == 1 ? scores[0] : kiln::concat(scores, 0);
  summary.y_true = kiln::metrics::to_labels(labels.size() == 1 ? labels[0] : kiln::concat(labels, 0));
  double accuracy = result.at("accuracy");
  if (!s.recipe.empty()) {
    const kiln::metrics::Labels predicted = kiln::metrics::predicted_labels(summary.scores);
    accuracy = predicted.empty() ? 0.0 : kiln::metrics::accuracy_score(summary.y_true, predicted);
  }
  const report::Written written = report::write_run_report(dir, summary);
  if (!written.png_problem.empty()) std::cerr << "Note: " << written.png_problem << "\n";
  if (talk) {
    std::cout << "Report: " << (dir / "report.html").string() << "\n";
    std::printf("Peak memory: %.0f MB\n", peak_rss_mb());
  }
  // The article's program ends with the test accuracy, so Kiln's does too.
  std::printf("Test accuracy: %.4f\n", accuracy);
  return 0;
}

}  // namespace

Command add_train_command(CLI::App& parent) {
  auto settings = std::make_shared<TrainSettings>();
  TrainSettings& s = *settings;
  auto* train = parent.add_subcommand("train", "Train the article's CNN into a run folder and report on it");
  std::vector<std::string> train_datasets = dataset_names();
  train_datasets.push_back("folder");
  auto* dataset = train
                      ->add_option("--dataset", s.data.dataset,
                                   "auto: an image folder given as --data, else CIFAR-10 if present or "
                                   "downloadable, else Fashion-MNIST; or cifar10, fashion-mnist, mnist, folder")
                      ->check(one_of(train_datasets))
                      ->capture_default_str();
  train
      ->add_option("--data", s.data.data_dir,
                   "Folder holding the dataset files (searched first), or an image folder: one sub-folder of "
                   "images (JPEG, PNG, BMP, GIF) per class, named after it")
      ->check(existing_folder());
  std::vector<CLI::Option*> run_settings = {dataset};
  auto* epochs = train->add_option("--epochs", s.epochs, "Passes over the training data (a recipe: its own)")
                     ->check(whole_number(1))
                     ->capture_default_str();
  auto* batch_size = train->add_option("--batch-size", s.batch_size, "Samples per training step (a recipe: its own)")
                         ->check(whole_number(1))
                         ->capture_default_str();
  run_settings.push_back(epochs);
  run_settings.push_back(batch_size);
  auto* lr = train->add_option("--lr", s.lr, "Adam's learning rate")->check(positive_finite())->capture_default_str();
  run_settings.push_back(lr);
  auto* recipe = train
                     ->add_option("--recipe", s.recipe,
                                  "Train a time-to-accuracy recipe instead of the article's CNN: fast or best "
                                  "(examples/recipes/recipes.cpp; its model, schedule, augmentation, epochs, batch "
                                  "size and precision unless given)")
                     ->check(one_of({"fast", "best"}));
  run_settings.push_back(recipe);
  recipe->excludes(lr);
  auto* lr_schedule = train
                          ->add_option("--lr-schedule", s.lr_schedule,
                                       "constant; step (halve every 3 epochs); cosine (to 0 over the run); "
                                       "plateau (halve when val_loss stalls for 2 epochs)")
                          ->check(one_of(schedule_names()))
                          ->capture_default_str();
  run_settings.push_back(lr_schedule);
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
  run_settings.push_back(
      train
          ->add_option("--image-size", s.image_size,
                       "Image folders: resize images to N or HxW pixels (default: the first image's size; "
                       "the CNN needs at least 18)")
          ->check(CLI::Validator(
              [](std::string& value) -> std::string {
                try {
                  parse_image_size(value);
                  return "";
                } catch (const Error&) {
                  return "got " + value + ", expected N or HxW with sides from 1 to 4096";
                }
              },
              "HxW")));
  run_settings.push_back(train
                             ->add_option("--color-mode", s.color_mode,
                                          "Image folders: grayscale, rgb or rgba (default: the first image's)")
                             ->check(one_of({"grayscale", "rgb", "rgba"})));
  run_settings.push_back(
      train
          ->add_option("--validation-split", s.validation_split, "Image folders: the fraction held out as the test set")
          ->check(number_in(0.01, 0.9))
          ->capture_default_str());
  run_settings.push_back(train->add_flag("--skip-invalid-images", s.skip_invalid,
                                         "Image folders: skip unreadable images with a warning instead of stopping"));
  train
      ->add_option("--cache", s.cache,
                   "Image folders: keep the decoded images in memory after the first epoch (memory), decode every "
                   "epoch (none), or memory when they take at most a quarter of the available memory (auto)")
      ->check(one_of({"auto", "memory", "none"}))
      ->capture_default_str();
  auto* csv = train
                  ->add_option("--csv", s.csv,
                               "Train an MLP on a CSV file (a header row, one example per row) instead of images")
                  ->check(existing_file());
  auto* label = train->add_option("--label", s.label, "The CSV column to predict");
  csv->needs(label);
  recipe->excludes(csv);
  label->needs(csv);
  run_settings.push_back(csv);
  run_settings.push_back(label);
  auto* model = train
                    ->add_option("--model", s.model,
                                 "Train this model instead of Kiln's: a Keras architecture JSON "
                                 "(model.to_json()) or a Kiln model file")
                    ->check(existing_file());
  run_settings.push_back(model);
  recipe->excludes(model);
  recipe->excludes(lr_schedule);
  run_settings.push_back(train
                             ->add_option("--task", s.task,
                                          "CSV: classification or regression (auto: classification when the label "
                                          "holds text or at most 20 distinct whole numbers)")
                             ->check(one_of({"auto", "classification", "regression"}))
                             ->capture_default_str());
  run_settings.push_back(train
                             ->add_option("--categorical", s.categorical,
                                          "CSV: the feature columns holding categories, comma-separated, one-hot "
                                          "encoded (auto: those holding text alone)")
                             ->capture_default_str());
  auto* precision = train
                        ->add_option("--precision", s.precision,
                                     "bf16: Keras's mixed_bfloat16 policy (float32 weights, convolutions and "
                                     "matrix products in bf16; float32 where the CPU lacks native bf16)")
                        ->check(one_of({"float32", "bf16"}))
                        ->capture_default_str();
  run_settings.push_back(precision);
  train
      ->add_option("--mpi-timeout", s.mpi_timeout,
                   "Under mpirun: end the job when a collective waits this many seconds for the other ranks")
      ->check(positive_finite())
      ->capture_default_str();
  auto* resume = train->add_option("--resume", s.resume,
                                   "Continue the run in RUN_DIR from its last checkpoint, with its settings")
                     ->check(existing_folder());
  for (auto* o : run_settings) resume->excludes(o);
  return {train, [settings, epochs, batch_size, precision] {
            if (!settings->recipe.empty()) {
              // The recipe's own settings, where the command line does not give them.
              const recipes::Recipe r = recipes::named(settings->recipe);
              if (epochs->count() == 0) settings->epochs = r.epochs;
              if (batch_size->count() == 0) settings->batch_size = r.batch_size;
              if (precision->count() == 0) settings->precision = r.precision;
            }
            return run_train(*settings);
          }};
}

}  // namespace kiln::cli
