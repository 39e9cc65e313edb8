// kiln evaluate: a saved model on a dataset — scikit-learn's classification report
// (per-class precision, recall, F1 and support), the confusion matrix, ROC AUC,
// average precision and top-k accuracy.
//
//   kiln evaluate runs/20250101-120000-fashion-mnist        # a run folder: its model and dataset
//   kiln evaluate model.safetensors --dataset cifar10 --split test
#include <cstdio>
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

struct EvaluateSettings {
  std::string path;
  DatasetChoice data;
  std::string split = "test";
  std::int64_t samples = 0;
  std::int64_t batch_size = 256;
  int digits = 4;
  std::string out;
};

std::string with_commas(std::int64_t v) {
  std::string digits = std::to_string(v), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// What a run folder's config.json says about the data it was tested on.
struct RunData {
  std::string dataset;
  std::int64_t train_samples = 0, test_samples = 0;
  std::int64_t batch_size = 0;
};

RunData run_data(const fs::path& config) {
  try {
    const auto settings = nlohmann::json::parse(io::read_file(config, 1 << 20)).at("settings");
    return {settings.at("dataset").get<std::string>(), settings.value("train_samples", std::int64_t{0}),
            settings.value("test_samples", std::int64_t{0}), settings.value("batch_size", std::int64_t{0})};
  } catch (const nlohmann::json::exception& e) {
    throw Error(config.string() + ": cannot read its dataset (" + e.what() + ")");
  }
}

int run_evaluate(EvaluateSettings s, bool samples_given, bool batch_size_given) {
  fs::path model_file = s.path;
  if (fs::is_directory(model_file)) {
    // A run folder: its trained model, scored on the run's own data (its dataset, and as many
    // images as it trained or was tested on) unless told otherwise, so that the accuracy is
    // the run's "Test accuracy".
    const fs::path dir = model_file;
    model_file = dir / "model.safetensors";
    if (!fs::exists(model_file)) throw Error(dir.string() + ": no model.safetensors (is the run finished?)");
    if (fs::exists(dir / "config.json")) {
      const RunData run = run_data(dir / "config.json");
      if (s.data.dataset == "auto") s.data.dataset = run.dataset;
      if (!samples_given && s.data.dataset == run.dataset) {
        s.samples = s.split == "train" ? run.train_samples : run.test_samples;
      }
      // The run's batch size too: the same batches give bit-identical scores, not merely equal accuracy.
      if (!batch_size_given && run.batch_size > 0) s.batch_size = run.batch_size;
    }
  }
  auto model = load_model(model_file);
  if (model->is_functional() && model->inputs().size() != 1) {
    std::string shapes;
    for (const auto& in : model->inputs()) shapes += (shapes.empty() ? "" : ", ") + shape_str(in.shape());
    throw Error(model_file.string() + ": the model takes " + std::to_string(model->inputs().size()) + " inputs (" +
                shapes +
                "); kiln evaluate gives a model one batch of images. Evaluate it in C++ "
                "with one tensor per input: model->evaluate(kiln::data::Dataset({x1, x2}, y))");
  }
  const auto* sequential = dynamic_cast<const Sequential*>(model.get());
  const Shape input = sequential && sequential->built() ? sequential->input_shape()
                      : model->is_functional()          ? model->inputs()[0].shape()
                                                        : Shape{};
  if (s.data.dataset == "auto") {
    // A model file alone: the dataset its input shape fits.
    if (input == Shape{32, 32, 3}) {
      s.data.dataset = "cifar10";
    } else if (input == Shape{28, 28, 1}) {
      s.data.dataset = "fashion-mnist";
    } else {
      throw Error(model_file.string() + ": takes inputs of shape " +
                  (input.empty() ? std::string("(unknown: the model is not built)") : shape_str(input)) +
                  ", which fits none of the datasets (cifar10 [32, 32, 3], fashion-mnist and mnist [28, 28, 1]); "
                  "give --dataset");
    }
  }
  const LoadedDataset loaded = load_dataset(s.data);
  const auto split = head(s.split == "train" ? loaded.data.train : loaded.data.test, s.samples);
  const Shape image(split.images.shape().begin() + 1, split.images.shape().end());
  if (!input.empty() && input != image) {
    throw Error(model_file.string() + " takes inputs of shape " + shape_str(input) + ", but " + loaded.name +
                " images are " + shape_str(image));
  }
  std::cout << "Model: " << model_file.string() << " (" << model->class_name() << ", "
            << with_commas(model->count_params()) << " parameters)\n";
  std::cout << "Data: " << loaded.name << " " << s.split << " split, " << split.images.size(0)
            << " images (pixels / 255, as kiln train)\n\n";

  const auto dataset = kiln::data::Dataset(split.images, split.labels).rescale(1.0 / 255);
  const Tensor scores = model->predict(dataset, {.batch_size = s.batch_size});
  if (scores.ndim() != 2)
    throw Error(model_file.string() + ": the model's output " + shape_str(scores.shape()) + " is not class scores");
  const auto& names = class_names_of(loaded.key);
  if (scores.size(1) != static_cast<std::int64_t>(names.size())) {
    throw Error(model_file.string() + ": the model scores " + std::to_string(scores.size(1)) + " classes, " +
                loaded.name + " has " + std::to_string(names.size()));
  }
  const metrics::Labels y_true = metrics::to_labels(split.labels);
  const metrics::Labels y_pred = metrics::predicted_labels(scores);
  const auto cm = metrics::confusion_matrix(y_true, y_pred, scores.size(1));
  std::cout << metrics::classification_report(cm, names, s.digits) << "\n";
  std::cout << "Confusion matrix (rows: true class, columns: predicted class):\n";
  std::cout << metrics::format_confusion_matrix(cm, names) << "\n";
  for (std::size_t c = 0; c < names.size(); ++c) std::cout << "  " << c << ": " << names[c] << "\n";
  std::cout << "\n";
  const nlohmann::json e = report::evaluation_json(y_true, scores, names);
  const auto value = [](const nlohmann::json& v) {
    char buf[32];
    if (v.is_null()) return std::string("undefined (a class is missing)");
    std::snprintf(buf, sizeof buf, "%.*f", 4, v.get<double>());
    return std::string(buf);
  };
  std::cout << "Accuracy: " << value(e.at("accuracy")) << "\n";
  for (const auto& [k, v] : e.at("top_k_accuracy").items()) {
    if (k != "1") std::cout << "Top-" << k << " accuracy: " << value(v) << "\n";
  }
  std::cout << "ROC AUC (one class against the rest), macro: " << value(e.at("roc_auc_ovr").at("macro"))
            << ", weighted: " << value(e.at("roc_auc_ovr").at("weighted")) << "\n";
  std::cout << "Average precision, macro: " << value(e.at("average_precision").at("macro"))
            << ", weighted: " << value(e.at("average_precision").at("weighted")) << "\n";
  if (!s.out.empty()) {
    fs::create_directories(s.out);
    io::write_file_atomically(fs::path(s.out) / "predictions.csv", report::predictions_csv(y_true, scores));
    io::write_file_atomically(fs::path(s.out) / "metrics.json", e.dump(2) + "\n");
    std::cout << "Wrote " << (fs::path(s.out) / "predictions.csv").string() << " and metrics.json\n";
  }
  return 0;
}

}  // namespace

Command add_evaluate_command(CLI::App& parent) {
  auto settings = std::make_shared<EvaluateSettings>();
  EvaluateSettings& s = *settings;
  auto* evaluate = parent.add_subcommand(
      "evaluate", "Classification report and confusion matrix of a saved model (or a run folder) on a dataset");
  evaluate->add_option("model", s.path, "A model file (model.safetensors) or a kiln train run folder")
      ->required()
      ->check(existing_path());
  evaluate
      ->add_option("--dataset", s.data.dataset,
                   "auto: the run's dataset, or the one the model's input shape fits; or cifar10, fashion-mnist, mnist")
      ->check(one_of(dataset_names()))
      ->capture_default_str();
  evaluate->add_option("--data", s.data.data_dir, "Folder holding the dataset files (searched first)")
      ->check(existing_folder());
  evaluate->add_flag("--no-download", s.data.no_download, "Never download the dataset");
  evaluate->add_option("--split", s.split, "Which images: test or train")
      ->check(one_of({"test", "train"}))
      ->capture_default_str();
  evaluate
      ->add_option("--samples", s.samples,
                   "Use only the first N images (0: all; for a run folder, by default as many as the run used)")
      ->check(whole_number(0));
  evaluate->add_option("--batch-size", s.batch_size, "Images per forward pass (for a run folder: the run's)")
      ->check(whole_number(1))
      ->capture_default_str();
  evaluate->add_option("--digits", s.digits, "Decimals in the report")
      ->check(whole_number(1, 8))
      ->capture_default_str();
  evaluate->add_option("--out", s.out, "Also write predictions.csv and metrics.json into this folder")
      ->check(folder_path());
  auto* samples = evaluate->get_option("--samples");
  auto* batch_size = evaluate->get_option("--batch-size");
  return {evaluate, [settings, samples, batch_size] {
            return run_evaluate(*settings, samples->count() > 0, batch_size->count() > 0);
          }};
}

}  // namespace kiln::cli
