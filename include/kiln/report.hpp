// Pictures and numbers of a training run, written into its run folder:
//
//   predictions.csv      the test set: true label, predicted label, one score column per class
//   metrics.json         everything computed from those predictions (accuracy, per-class and
//                        averaged precision/recall/F1, confusion matrix, ROC AUC, average
//                        precision, top-k accuracy, the classification report)
//   history.json         metrics per epoch
//   curves_<metric>.png  training and validation curves (loss, accuracy, ...)
//   confusion_matrix.png the confusion matrix as a heat map
//   roc.png, precision_recall.png   one-vs-rest curves per class
//   plots.gp             the gnuplot script that drew the PNGs (edit and rerun it: gnuplot plots.gp)
//   report.html          one self-contained page (Chart.js and the data inlined) with the curves,
//                        the confusion matrix, ROC and precision-recall curves and the run's configuration
//
// PNGs are drawn by gnuplot (Debian's gnuplot-nox) in a child process; without it
// the rest is written and the report says the PNGs are missing.
#pragma once
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/metrics/classification.hpp"
#include "kiln/model.hpp"
#include "kiln/tensor.hpp"

namespace kiln::report {

struct RunSummary {
  std::string title;      // "Fashion-MNIST - article CNN"
  nlohmann::json config;  // the run's settings, shown as a table (an object of scalars)
  History history;        // per-epoch metrics ("loss", "val_loss", "accuracy", ...)
  std::vector<std::string> class_names;
  metrics::Labels y_true;  // the evaluated samples' labels
  Tensor scores;           // their predicted class scores [n, classes] (softmax outputs)
};

struct Written {
  std::vector<std::filesystem::path> files;
  // Empty when the PNGs were drawn; else why not (gnuplot missing or failing).
  std::string png_problem;
};

// Writes every file listed above into `dir` (which must exist).
Written write_run_report(const std::filesystem::path& dir, const RunSummary& run);

// The pieces, for other uses (kiln evaluate writes the first two):
nlohmann::json evaluation_json(const metrics::Labels& y_true, const Tensor& scores,
                               const std::vector<std::string>& class_names);
std::string predictions_csv(const metrics::Labels& y_true, const Tensor& scores);
nlohmann::json history_json(const History& history);
std::string report_html(const RunSummary& run, const nlohmann::json& evaluation, const std::string& png_problem);
// Draws the PNGs with gnuplot; returns the files, or throws an Error saying why not.
std::vector<std::filesystem::path> draw_pngs(const std::filesystem::path& dir, const RunSummary& run);

// Whether Chart.js was found when Kiln was built (else report.html shows tables only).
bool has_chartjs();

}  // namespace kiln::report
