// ROC and precision-recall curves, following scikit-learn 1.2's _binary_clf_curve:
// sort by score (highest first), cut at each distinct score, count true and
// false positives above each cut.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "kiln/error.hpp"
#include "kiln/metrics/ranking.hpp"

namespace kiln::metrics {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Cumulative false and true positives at each distinct score, highest score first.
struct ClfCurve {
  std::vector<double> fps, tps, thresholds;
};

ClfCurve binary_clf_curve(std::span<const std::uint8_t> positive, std::span<const double> scores, const char* who) {
  if (positive.size() != scores.size()) {
    throw Error(std::string(who) + ": " + std::to_string(positive.size()) + " labels for " +
                std::to_string(scores.size()) + " scores");
  }
  if (scores.empty()) throw Error(std::string(who) + ": there are no samples");
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) {
      throw Error(std::string(who) + ": score " + std::to_string(i) + " is " + std::to_string(scores[i]) +
                  "; scores must be finite");
    }
  }
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  ClfCurve c;
  double tp = 0, fp = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    if (positive[order[i]]) {
      tp += 1;
    } else {
      fp += 1;
    }
    // A cut after the last sample of each run of equal scores.
    if (i + 1 == order.size() || scores[order[i + 1]] != scores[order[i]]) {
      c.tps.push_back(tp);
      c.fps.push_back(fp);
      c.thresholds.push_back(scores[order[i]]);
    }
  }
  return c;
}

void check_scores_shape(std::span<const std::int64_t> y_true, const Tensor& scores, const char* who) {
  if (!scores.defined() || scores.ndim() != 2) {
    throw Error(std::string(who) + ": expected scores of shape [n, classes], got " +
                (scores.defined() ? shape_str(scores.shape()) : std::string("an undefined tensor")));
  }
  if (static_cast<std::int64_t>(y_true.size()) != scores.size(0)) {
    throw Error(std::string(who) + ": " + std::to_string(y_true.size()) + " labels for " +
                std::to_string(scores.size(0)) + " rows of scores");
  }
  for (std::size_t i = 0; i < y_true.size(); ++i) {
    if (y_true[i] < 0 || y_true[i] >= scores.size(1)) {
      throw Error(std::string(who) + ": label " + std::to_string(y_true[i]) + " of sample " + std::to_string(i) +
                  " is outside the " + std::to_string(scores.size(1)) + " score columns");
    }
  }
}

// Column c of the scores and whether each sample is of class c.
struct Column {
  std::vector<std::uint8_t> positive;
  std::vector<double> scores;
};

std::vector<Column> columns(std::span<const std::int64_t> y_true, const Tensor& scores, const char* who) {
  check_scores_shape(y_true, scores, who);
  const std::int64_t n = scores.size(0), k = scores.size(1);
  const auto v = scores.to_vector<double>();
  std::vector<Column> out(static_cast<std::size_t>(k));
  for (std::int64_t c = 0; c < k; ++c) {
    auto& col = out[static_cast<std::size_t>(c)];
    col.positive.resize(static_cast<std::size_t>(n));
    col.scores.resize(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
      col.positive[static_cast<std::size_t>(i)] = y_true[static_cast<std::size_t>(i)] == c;
      col.scores[static_cast<std::size_t>(i)] = v[static_cast<std::size_t>(i * k + c)];
    }
  }
  return out;
}

std::vector<std::int64_t> supports(std::span<const std::int64_t> y_true, std::int64_t k) {
  std::vector<std::int64_t> s(static_cast<std::size_t>(k), 0);
  for (auto t : y_true) ++s[static_cast<std::size_t>(t)];
  return s;
}

// numpy's average of per-class values: uniform (macro) or by support (weighted).
double mean_over_classes(const std::vector<double>& values, const std::vector<std::int64_t>& support, Average average,
                         const char* who) {
  if (average == Average::Micro)
    throw Error(std::string(who) + ": the micro average is not offered; use macro or weighted");
  double wsum = 0, sum = 0;
  for (std::size_t c = 0; c < values.size(); ++c) {
    const double w = average == Average::Weighted ? static_cast<double>(support[c]) : 1.0;
    wsum += w;
    sum += w * values[c];
  }
  return wsum == 0 ? 0.0 : sum / wsum;
}

}  // namespace

RocCurve roc_curve(std::span<const std::uint8_t> positive, std::span<const double> scores, bool drop_intermediate) {
  ClfCurve c = binary_clf_curve(positive, scores, "roc_curve");
  if (drop_intermediate && c.fps.size() > 2) {
    // Keep the ends and every point where the curve bends (a non-zero second difference).
    ClfCurve kept;
    const std::size_t n = c.fps.size();
    for (std::size_t i = 0; i < n; ++i) {
      const bool bend = i == 0 || i + 1 == n || c.fps[i + 1] - 2 * c.fps[i] + c.fps[i - 1] != 0 ||
                        c.tps[i + 1] - 2 * c.tps[i] + c.tps[i - 1] != 0;
      if (!bend) continue;
      kept.fps.push_back(c.fps[i]);
      kept.tps.push_back(c.tps[i]);
      kept.thresholds.push_back(c.thresholds[i]);
    }
    c = std::move(kept);
  }
  RocCurve r;
  const double negatives = c.fps.back(), positives = c.tps.back();
  r.thresholds.push_back(c.thresholds.front() + 1);
  r.fpr.push_back(negatives > 0 ? 0.0 : kNaN);
  r.tpr.push_back(positives > 0 ? 0.0 : kNaN);
  for (std::size_t i = 0; i < c.fps.size(); ++i) {
    r.thresholds.push_back(c.thresholds[i]);
    r.fpr.push_back(negatives > 0 ? c.fps[i] / negatives : kNaN);
    r.tpr.push_back(positives > 0 ? c.tps[i] / positives : kNaN);
  }
  return r;
}

double auc(std::span<const double> x, std::span<const double> y) {
  if (x.size() != y.size()) throw Error("auc: x and y have different lengths");
  if (x.size() < 2) throw Error("auc: at least 2 points are needed, got " + std::to_string(x.size()));
  bool increasing = true, decreasing = true;
  for (std::size_t i = 1; i < x.size(); ++i) {
    increasing = increasing && x[i] >= x[i - 1];
    decreasing = decreasing && x[i] <= x[i - 1];
  }
  if (!increasing && !decreasing) throw Error("auc: x is neither increasing nor decreasing");
  double area = 0;
  for (std::size_t i = 1; i < x.size(); ++i) area += (x[i] - x[i - 1]) * (y[i] + y[i - 1]) / 2.0;
  return increasing ? area : -area;
}

double roc_auc_score(std::span<const std::uint8_t> positive, std::span<const double> scores) {
  const std::size_t positives =
      static_cast<std::size_t>(std::count_if(positive.begin(), positive.end(), [](std::uint8_t p) { return p != 0; }));
  if (positives == 0 || positives == positive.size()) {
    throw Error(std::string("roc_auc_score: only one class is present (") +
                (positives == 0 ? "no positive" : "no negative") +
                " samples); the area under the ROC curve is not defined");
  }
  const RocCurve r = roc_curve(positive, scores, true);
  return auc(r.fpr, r.tpr);
}

PrecisionRecallCurve precision_recall_curve(std::span<const std::uint8_t> positive, std::span<const double> scores) {
  const ClfCurve c = binary_clf_curve(positive, scores, "precision_recall_curve");
  const std::size_t n = c.tps.size();
  const double positives = c.tps.back();
  PrecisionRecallCurve out;
  // Lowest threshold first (scikit-learn reverses its highest-first cuts).
  for (std::size_t j = n; j-- > 0;) {
    const double predicted = c.tps[j] + c.fps[j];
    out.precision.push_back(predicted > 0 ? c.tps[j] / predicted : 0.0);
    // With no positives at all, recall is 1 at every threshold (scikit-learn's convention).
    out.recall.push_back(positives > 0 ? c.tps[j] / positives : 1.0);
    out.thresholds.push_back(c.thresholds[j]);
  }
  out.precision.push_back(1.0);
  out.recall.push_back(0.0);
  return out;
}

double average_precision_score(std::span<const std::uint8_t> positive, std::span<const double> scores) {
  const PrecisionRecallCurve c = precision_recall_curve(positive, scores);
  double ap = 0;
  for (std::size_t i = 0; i + 1 < c.recall.size(); ++i) ap -= (c.recall[i + 1] - c.recall[i]) * c.precision[i];
  return ap;
}

std::vector<RocCurve> roc_curves_ovr(std::span<const std::int64_t> y_true, const Tensor& scores) {
  std::vector<RocCurve> out;
  for (const auto& col : columns(y_true, scores, "roc_curves_ovr")) out.push_back(roc_curve(col.positive, col.scores));
  return out;
}

std::vector<PrecisionRecallCurve> precision_recall_curves_ovr(std::span<const std::int64_t> y_true,
                                                              const Tensor& scores) {
  std::vector<PrecisionRecallCurve> out;
  for (const auto& col : columns(y_true, scores, "precision_recall_curves_ovr")) {
    out.push_back(precision_recall_curve(col.positive, col.scores));
  }
  return out;
}

std::vector<double> roc_auc_per_class(std::span<const std::int64_t> y_true, const Tensor& scores) {
  std::vector<double> out;
  for (const auto& col : columns(y_true, scores, "roc_auc_per_class")) {
    const auto positives = std::count(col.positive.begin(), col.positive.end(), 1);
    const bool defined = positives > 0 && positives < static_cast<std::ptrdiff_t>(col.positive.size());
    out.push_back(defined ? roc_auc_score(col.positive, col.scores) : kNaN);
  }
  return out;
}

double roc_auc_ovr(std::span<const std::int64_t> y_true, const Tensor& scores, Average average) {
  const std::vector<double> per_class = roc_auc_per_class(y_true, scores);
  const auto support = supports(y_true, scores.size(1));
  for (std::size_t c = 0; c < per_class.size(); ++c) {
    if (std::isnan(per_class[c])) {
      throw Error("roc_auc_ovr: class " + std::to_string(c) + " has " + std::to_string(support[c]) + " of " +
                  std::to_string(y_true.size()) +
                  " samples, so its ROC AUC (against the rest) is not defined; see roc_auc_per_class");
    }
  }
  return mean_over_classes(per_class, support, average, "roc_auc_ovr");
}

std::vector<double> average_precision_per_class(std::span<const std::int64_t> y_true, const Tensor& scores) {
  std::vector<double> out;
  for (const auto& col : columns(y_true, scores, "average_precision_per_class")) {
    out.push_back(average_precision_score(col.positive, col.scores));
  }
  return out;
}

double average_precision_ovr(std::span<const std::int64_t> y_true, const Tensor& scores, Average average) {
  const auto per_class = average_precision_per_class(y_true, scores);
  return mean_over_classes(per_class, supports(y_true, scores.size(1)), average, "average_precision_ovr");
}

}  // namespace kiln::metrics
