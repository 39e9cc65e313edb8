// Metrics on scores rather than labels: ROC and precision-recall curves, the
// area under the ROC curve and average precision, for a binary problem and one
// class against the rest — as scikit-learn 1.2 computes them.
//
//   auto curves = kiln::metrics::roc_curves_ovr(y_true, scores);   // one per class
//   double auc = kiln::metrics::roc_auc_ovr(y_true, scores);       // macro average
//
// Binary inputs are (is_positive, score) pairs; the curves step through the
// distinct scores from the highest down, so tied scores move the curve
// diagonally, and an ROC curve's first point is (0, 0) at threshold
// max(score) + 1 (scikit-learn 1.2; later versions write +inf there).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "kiln/metrics/classification.hpp"
#include "kiln/tensor.hpp"

namespace kiln::metrics {

struct RocCurve {
  std::vector<double> fpr, tpr, thresholds;  // fpr and tpr are NaN when there are no negatives / positives
};

struct PrecisionRecallCurve {
  // precision[i], recall[i] for predicting positive when score >= thresholds[i] (increasing),
  // then the final point (1, 0) without a threshold.
  std::vector<double> precision, recall, thresholds;
};

// `positive[i]` says whether sample i is of the positive class; scores must be finite.
// drop_intermediate removes points on a straight line between their neighbours (the area is unchanged).
RocCurve roc_curve(std::span<const std::uint8_t> positive, std::span<const double> scores,
                   bool drop_intermediate = true);
// Throws an Error when the samples are all positive or all negative (the area is undefined).
double roc_auc_score(std::span<const std::uint8_t> positive, std::span<const double> scores);
PrecisionRecallCurve precision_recall_curve(std::span<const std::uint8_t> positive, std::span<const double> scores);
// The step-wise area under the precision-recall curve: sum over thresholds of
// (recall gain) x precision. With no positives it is 0.
double average_precision_score(std::span<const std::uint8_t> positive, std::span<const double> scores);
// The trapezoidal area under a curve whose x is monotonic (either way).
double auc(std::span<const double> x, std::span<const double> y);

// One class against the rest: class c's positives are the samples labelled c, its
// scores column c of scores [n, classes].
std::vector<RocCurve> roc_curves_ovr(std::span<const std::int64_t> y_true, const Tensor& scores);
std::vector<PrecisionRecallCurve> precision_recall_curves_ovr(std::span<const std::int64_t> y_true,
                                                              const Tensor& scores);
// Each class's ROC AUC; NaN for a class that is absent from y_true or is every sample.
std::vector<double> roc_auc_per_class(std::span<const std::int64_t> y_true, const Tensor& scores);
// Macro or weighted (by support) mean of the per-class ROC AUCs; an Error naming the
// class when one is undefined (as scikit-learn's roc_auc_score(multi_class="ovr")).
double roc_auc_ovr(std::span<const std::int64_t> y_true, const Tensor& scores, Average average = Average::Macro);
// Each class's average precision (0 for a class absent from y_true).
std::vector<double> average_precision_per_class(std::span<const std::int64_t> y_true, const Tensor& scores);
double average_precision_ovr(std::span<const std::int64_t> y_true, const Tensor& scores,
                             Average average = Average::Macro);

}  // namespace kiln::metrics
