#include <algorithm>
#include <charconv>
#include <cmath>

#include "kiln/error.hpp"
#include "kiln/io/files.hpp"
#include "kiln/metrics/ranking.hpp"
#include "kiln/report.hpp"
#include "report/report_detail.hpp"

namespace kiln {
namespace report_detail {

std::vector<std::size_t> thin(std::size_t n, std::size_t most) {
  std::vector<std::size_t> out;
  if (n <= most || most < 2) {
    for (std::size_t i = 0; i < n; ++i) out.push_back(i);
    return out;
  }
  for (std::size_t j = 0; j < most; ++j) out.push_back(j * (n - 1) / (most - 1));
  return out;
}

std::vector<std::string> curve_metrics(const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) {
    if (k.rfind("val_", 0) == 0 || k == "learning_rate") continue;
    out.push_back(k);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const std::string& a, const std::string& b) { return (a == "loss") > (b == "loss"); });
  return out;
}

}  // namespace report_detail

namespace report {
namespace {

using json = nlohmann::json;

// JSON has no NaN: undefined values (the AUC of a class absent from the test set) are null.
json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

std::string shortest(float v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

void check_inputs(const metrics::Labels& y_true, const Tensor& scores, const std::vector<std::string>& names) {
  if (!scores.defined() || scores.ndim() != 2) throw Error("report: scores must be [n, classes]");
  if (static_cast<std::int64_t>(y_true.size()) != scores.size(0)) {
    throw Error("report: " + std::to_string(y_true.size()) + " labels for " + std::to_string(scores.size(0)) +
                " rows of scores");
  }
  if (!names.empty() && static_cast<std::int64_t>(names.size()) != scores.size(1)) {
    throw Error("report: " + std::to_string(names.size()) + " class names for " + std::to_string(scores.size(1)) +
                " score columns");
  }
}

}  // namespace

json evaluation_json(const metrics::Labels& y_true, const Tensor& scores, const std::vector<std::string>& names) {
  using namespace kiln::metrics;
  check_inputs(y_true, scores, names);
  const std::int64_t k = scores.size(1);
  const Labels y_pred = predicted_labels(scores);
  const ConfusionMatrix cm = confusion_matrix(y_true, y_pred, k);
  const ClassScores per_class = per_class_scores(cm);
  const auto auc = roc_auc_per_class(y_true, scores);
  const auto ap = average_precision_per_class(y_true, scores);
  json out = {{"num_samples", cm.total()}, {"num_classes", k}, {"accuracy", accuracy(cm)}};
  out["class_names"] = names;
  for (Average a : {Average::Macro, Average::Micro, Average::Weighted}) {
    const AveragedScores s = averaged_scores(cm, a);
    out[average_name(a)] = {{"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1}};
  }
  json classes = json::array();
  for (std::int64_t c = 0; c < k; ++c) {
    const auto i = static_cast<std::size_t>(c);
    classes.push_back({{"class", c},
                       {"name", names.empty() ? std::to_string(c) : names[i]},
                       {"precision", per_class.precision[i]},
                       {"recall", per_class.recall[i]},
                       {"f1", per_class.f1[i]},
                       {"support", per_class.support[i]},
                       {"roc_auc", number_or_null(auc[i])},
                       {"average_precision", ap[i]}});
  }
  out["per_class"] = classes;
  json matrix = json::array();
  for (std::int64_t t = 0; t < k; ++t) {
    json row = json::array();
    for (std::int64_t p = 0; p < k; ++p) row.push_back(cm(t, p));
    matrix.push_back(row);
  }
  out["confusion_matrix"] = matrix;
  // Undefined when a class is missing from the labels: null, with the per-class values above.
  for (Average a : {Average::Macro, Average::Weighted}) {
    double v = std::nan("");
    try {
      v = roc_auc_ovr(y_true, scores, a);
    } catch (const Error&) {
    }
    out["roc_auc_ovr"][average_name(a)] = number_or_null(v);
    out["average_precision"][average_name(a)] = average_precision_ovr(y_true, scores, a);
  }
  for (std::int64_t top : {1, 2, 3, 5}) {
    if (top < k) out["top_k_accuracy"][std::to_string(top)] = top_k_accuracy(y_true, scores, top);
  }
  out["classification_report"] = classification_report(cm, names, 4);
  return out;
}

std::string predictions_csv(const metrics::Labels& y_true, const Tensor& scores) {
  check_inputs(y_true, scores, {});
  const std::int64_t n = scores.size(0), k = scores.size(1);
  const metrics::Labels y_pred = metrics::predicted_labels(scores);
  // Scores are written as the shortest text that reads back as the same float32, so
  // recomputing any metric from this file gives the same ranks, ties and counts.
  const auto v = scores.to(DType::Float32).to_vector<float>();
  std::string out = "true_label,predicted_label";
  for (std::int64_t c = 0; c < k; ++c) out += ",score_" + std::to_string(c);
  out += "\n";
  for (std::int64_t i = 0; i < n; ++i) {
    out +=
        std::to_string(y_true[static_cast<std::size_t>(i)]) + "," + std::to_string(y_pred[static_cast<std::size_t>(i)]);
    for (std::int64_t c = 0; c < k; ++c) {
      out += ",";
      out += shortest(v[static_cast<std::size_t>(i * k + c)]);
    }
    out += "\n";
  }
  return out;
}

json history_json(const History& history) {
  json h = json::object();
  for (const auto& [key, values] : history.history) {
    json list = json::array();
    for (double v : values) list.push_back(number_or_null(v));
    h[key] = list;
  }
  return {{"epoch", history.epoch}, {"history", h}};
}

Written write_run_report(const std::filesystem::path& dir, const RunSummary& run) {
  Written out;
  const auto write = [&](const std::string& name, const std::string& text) {
    io::write_file_atomically(dir / name, text);
    out.files.push_back(dir / name);
  };
  const json evaluation = evaluation_json(run.y_true, run.scores, run.class_names);
  write("predictions.csv", predictions_csv(run.y_true, run.scores));
  write("metrics.json", evaluation.dump(2) + "\n");
  write("history.json", history_json(run.history).dump(2) + "\n");
  try {
    for (const auto& f : draw_pngs(dir, run)) out.files.push_back(f);
  } catch (const Error& e) {
    out.png_problem = e.what();
  }
  write("report.html", report_html(run, evaluation, out.png_problem));
  return out;
}

}  // namespace report
}  // namespace kiln
