// Classification metrics on predictions, computed as scikit-learn computes them:
// confusion matrix, accuracy, precision / recall / F1 per class and averaged
// (macro, micro, weighted), scikit-learn's classification report, top-k accuracy.
//
//   Tensor scores = model.predict(x_test);                    // [n, classes]
//   auto y_pred = kiln::metrics::predicted_labels(scores);     // argmax per row
//   auto cm = kiln::metrics::confusion_matrix(kiln::metrics::to_labels(y_test), y_pred, 10);
//   std::cout << kiln::metrics::classification_report(cm, class_names);
//
// Classes are 0..num_classes-1, always all of them (scikit-learn's
// labels=range(num_classes)): a class that never occurs still has a row of zeros
// and counts in the macro average. A ratio whose denominator is zero (precision of
// a class never predicted, recall of a class never seen) is 0, as scikit-learn's
// zero_division=0 — and its default, which also warns.
#pragma once
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "kiln/tensor.hpp"

namespace kiln::metrics {

using Labels = std::vector<std::int64_t>;

// Integer class labels from a tensor of labels (any integer or integral float dtype, [n] or [n, 1]).
Labels to_labels(const Tensor& labels);
// The predicted class of each row of scores [n, classes]: the first maximum, as numpy's argmax.
// A single column [n, 1] holds a binary classifier's probability of class 1 (threshold 0.5).
Labels predicted_labels(const Tensor& scores);

// Counts of (true class, predicted class) pairs.
class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(std::int64_t num_classes = 0);
  std::int64_t num_classes() const { return classes_; }
  // Throws an Error naming the label when it is outside [0, num_classes).
  void add(std::int64_t true_label, std::int64_t predicted_label);
  void add(std::span<const std::int64_t> y_true, std::span<const std::int64_t> y_pred);
  void reset();

  std::int64_t operator()(std::int64_t true_label, std::int64_t predicted_label) const;
  std::int64_t total() const { return total_; }
  std::int64_t support(std::int64_t c) const;                          // samples whose true class is c (row sum)
  std::int64_t predicted(std::int64_t c) const;                        // samples predicted as c (column sum)
  std::int64_t correct() const;                                        // the diagonal
  const std::vector<std::int64_t>& counts() const { return counts_; }  // row-major [true][predicted]

 private:
  std::int64_t classes_;
  std::int64_t total_ = 0;
  std::vector<std::int64_t> counts_;
};

ConfusionMatrix confusion_matrix(std::span<const std::int64_t> y_true, std::span<const std::int64_t> y_pred,
                                 std::int64_t num_classes);

enum class Average {
  Macro,     // the unweighted mean over classes
  Micro,     // from the summed counts (equals accuracy when every class is included)
  Weighted,  // the mean over classes weighted by support
};
const char* average_name(Average average);

// Per-class values, indexed by class.
struct ClassScores {
  std::vector<double> precision, recall, f1;
  std::vector<std::int64_t> support;
};
ClassScores per_class_scores(const ConfusionMatrix& cm);

struct AveragedScores {
  double precision = 0, recall = 0, f1 = 0;
};
AveragedScores averaged_scores(const ConfusionMatrix& cm, Average average);

// Fraction of samples whose predicted class is the true one; an Error on an empty matrix.
double accuracy(const ConfusionMatrix& cm);
double accuracy_score(std::span<const std::int64_t> y_true, std::span<const std::int64_t> y_pred);
double precision_score(const ConfusionMatrix& cm, Average average = Average::Macro);
double recall_score(const ConfusionMatrix& cm, Average average = Average::Macro);
double f1_score(const ConfusionMatrix& cm, Average average = Average::Macro);

// scikit-learn's classification_report, character for character: per-class
// precision, recall, F1 and support, then accuracy (or "micro avg" when some class
// never occurs, as scikit-learn writes it), macro avg and weighted avg.
// `class_names` (one per class) default to the class numbers.
std::string classification_report(const ConfusionMatrix& cm, const std::vector<std::string>& class_names = {},
                                  int digits = 2);

// The confusion matrix as aligned text, true classes down, predicted across.
std::string format_confusion_matrix(const ConfusionMatrix& cm, const std::vector<std::string>& class_names = {});

// Fraction of samples whose true class is among the k highest scores of its row
// (scores [n, classes]). Ties rank as in scikit-learn's top_k_accuracy_score: among
// equal scores the higher class index ranks first.
double top_k_accuracy(std::span<const std::int64_t> y_true, const Tensor& scores, std::int64_t k);
// The number of such samples (what a streaming metric accumulates).
std::int64_t top_k_hits(std::span<const std::int64_t> y_true, const Tensor& scores, std::int64_t k);

}  // namespace kiln::metrics
