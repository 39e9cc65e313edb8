#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "kiln/error.hpp"
#include "kiln/metrics/classification.hpp"

namespace kiln::metrics {
namespace {

// tp / denominator, 0 when the denominator is 0 (scikit-learn's zero_division=0).
double ratio(double numerator, double denominator) { return denominator == 0 ? 0.0 : numerator / denominator; }

// scikit-learn's F-score from precision and recall (not from counts), so the last bits agree too.
double f1_from(double p, double r) {
  const double denominator = p + r;
  return 2 * p * r / (denominator == 0 ? 1.0 : denominator);
}

std::string class_name(const std::vector<std::string>& names, std::int64_t c) {
  return names.empty() ? std::to_string(c) : names[static_cast<std::size_t>(c)];
}

void check_names(const std::vector<std::string>& names, std::int64_t classes, const char* who) {
  if (!names.empty() && static_cast<std::int64_t>(names.size()) != classes) {
    throw Error(std::string(who) + ": " + std::to_string(names.size()) + " class names for " + std::to_string(classes) +
                " classes");
  }
}

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string right(const std::string& s, std::size_t width) {
  std::string out;
  if (s.size() < width) out.append(width - s.size(), ' ');
  return out.append(s);
}

// Appends " " and `s` right-aligned in `width`.
void append_cell(std::string& line, const std::string& s, std::size_t width) {
  line.push_back(' ');
  line.append(right(s, width));
}

}  // namespace

Labels to_labels(const Tensor& labels) {
  if (!labels.defined()) throw Error("labels: the tensor is undefined");
  if (labels.ndim() == 2 && labels.size(1) != 1) {
    throw Error("labels: expected class numbers of shape [n] or [n, 1], got " + shape_str(labels.shape()) +
                " (one-hot targets: take predicted_labels of them)");
  }
  if (labels.ndim() > 2) throw Error("labels: expected shape [n] or [n, 1], got " + shape_str(labels.shape()));
  const auto values = labels.to_vector<double>();
  Labels out(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double v = values[i];
    if (!(v >= 0 && v < 9.0e15) || v != std::floor(v)) {
      throw Error("labels: entry " + std::to_string(i) + " is " + std::to_string(v) +
                  "; class labels are non-negative integers");
    }
    out[i] = static_cast<std::int64_t>(v);
  }
  return out;
}

Labels predicted_labels(const Tensor& scores) {
  if (!scores.defined() || scores.ndim() != 2) {
    throw Error("predicted_labels: expected scores of shape [n, classes], got " +
                (scores.defined() ? shape_str(scores.shape()) : std::string("an undefined tensor")));
  }
  const std::int64_t n = scores.size(0), k = scores.size(1);
  if (k == 0) throw Error("predicted_labels: scores have no classes (shape " + shape_str(scores.shape()) + ")");
  const auto v = scores.to_vector<double>();
  Labels out(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const double* row = v.data() + i * k;
    if (k == 1) {
      out[static_cast<std::size_t>(i)] = row[0] > 0.5 ? 1 : 0;
    } else {
      out[static_cast<std::size_t>(i)] = std::max_element(row, row + k) - row;  // the first maximum
    }
  }
  return out;
}

ConfusionMatrix::ConfusionMatrix(std::int64_t num_classes) : classes_(num_classes) {
  if (num_classes < 0 || num_classes > (1 << 16)) {
    throw Error("ConfusionMatrix: num_classes must be in [0, 65536], got " + std::to_string(num_classes));
  }
  counts_.assign(static_cast<std::size_t>(num_classes * num_classes), 0);
}

void ConfusionMatrix::add(std::int64_t t, std::int64_t p) {
  if (t < 0 || t >= classes_ || p < 0 || p >= classes_) {
    throw Error("ConfusionMatrix: label pair (true " + std::to_string(t) + ", predicted " + std::to_string(p) +
                ") is outside the " + std::to_string(classes_) + " classes 0.." + std::to_string(classes_ - 1));
  }
  ++counts_[static_cast<std::size_t>(t * classes_ + p)];
  ++total_;
}

void ConfusionMatrix::add(std::span<const std::int64_t> y_true, std::span<const std::int64_t> y_pred) {
  if (y_true.size() != y_pred.size()) {
    throw Error("ConfusionMatrix: " + std::to_string(y_true.size()) + " true labels but " +
                std::to_string(y_pred.size()) + " predictions");
  }
  for (std::size_t i = 0; i < y_true.size(); ++i) add(y_true[i], y_pred[i]);
}

void ConfusionMatrix::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
}

std::int64_t ConfusionMatrix::operator()(std::int64_t t, std::int64_t p) const {
  if (t < 0 || t >= classes_ || p < 0 || p >= classes_) throw Error("ConfusionMatrix: index out of range");
  return counts_[static_cast<std::size_t>(t * classes_ + p)];
}

std::int64_t ConfusionMatrix::support(std::int64_t c) const {
  std::int64_t s = 0;
  for (std::int64_t p = 0; p < classes_; ++p) s += (*this)(c, p);
  return s;
}

std::int64_t ConfusionMatrix::predicted(std::int64_t c) const {
  std::int64_t s = 0;
  for (std::int64_t t = 0; t < classes_; ++t) s += (*this)(t, c);
  return s;
}

std::int64_t ConfusionMatrix::correct() const {
  std::int64_t s = 0;
  for (std::int64_t c = 0; c < classes_; ++c) s += (*this)(c, c);
  return s;
}

ConfusionMatrix confusion_matrix(std::span<const std::int64_t> y_true, std::span<const std::int64_t> y_pred,
                                 std::int64_t num_classes) {
  ConfusionMatrix cm(num_classes);
  cm.add(y_true, y_pred);
  return cm;
}

const char* average_name(Average average) {
  switch (average) {
    case Average::Macro:
      return "macro";
    case Average::Micro:
      return "micro";
    case Average::Weighted:
      return "weighted";
  }
  return "?";
}

ClassScores per_class_scores(const ConfusionMatrix& cm) {
  ClassScores s;
  for (std::int64_t c = 0; c < cm.num_classes(); ++c) {
    const double tp = static_cast<double>(cm(c, c));
    const double p = ratio(tp, static_cast<double>(cm.predicted(c)));
    const double r = ratio(tp, static_cast<double>(cm.support(c)));
    s.precision.push_back(p);
    s.recall.push_back(r);
    s.f1.push_back(f1_from(p, r));
    s.support.push_back(cm.support(c));
  }
  return s;
}

AveragedScores averaged_scores(const ConfusionMatrix& cm, Average average) {
  if (cm.num_classes() == 0) throw Error(std::string(average_name(average)) + " average: there are no classes");
  if (average == Average::Micro) {
    // Every sample is one true and one predicted label, so summed tp / predicted = tp / true = accuracy.
    const double tp = static_cast<double>(cm.correct()), n = static_cast<double>(cm.total());
    const double p = ratio(tp, n), r = ratio(tp, n);
    return {p, r, f1_from(p, r)};
  }
  const ClassScores s = per_class_scores(cm);
  // numpy's average: sum(w * x) / sum(w), with w = 1 (macro) or the supports (weighted).
  double wsum = 0, p = 0, r = 0, f = 0;
  for (std::size_t c = 0; c < s.support.size(); ++c) {
    const double w = average == Average::Weighted ? static_cast<double>(s.support[c]) : 1.0;
    wsum += w;
    p += w * s.precision[c];
    r += w * s.recall[c];
    f += w * s.f1[c];
  }
  if (wsum == 0) return {};  // weighted with no samples: scikit-learn's zero_division value
  return {p / wsum, r / wsum, f / wsum};
}

double accuracy(const ConfusionMatrix& cm) {
  if (cm.total() == 0) throw Error("accuracy: there are no samples");
  return static_cast<double>(cm.correct()) / static_cast<double>(cm.total());
}

double accuracy_score(std::span<const std::int64_t> y_true, std::span<const std::int64_t> y_pred) {
  if (y_true.size() != y_pred.size()) {
    throw Error("accuracy_score: " + std::to_string(y_true.size()) + " true labels but " +
                std::to_string(y_pred.size()) + " predictions");
  }
  if (y_true.empty()) throw Error("accuracy_score: there are no samples");
  std::int64_t correct = 0;
  for (std::size_t i = 0; i < y_true.size(); ++i) correct += y_true[i] == y_pred[i];
  return static_cast<double>(correct) / static_cast<double>(y_true.size());
}

double precision_score(const ConfusionMatrix& cm, Average average) { return averaged_scores(cm, average).precision; }
double recall_score(const ConfusionMatrix& cm, Average average) { return averaged_scores(cm, average).recall; }
double f1_score(const ConfusionMatrix& cm, Average average) { return averaged_scores(cm, average).f1; }

std::string classification_report(const ConfusionMatrix& cm, const std::vector<std::string>& class_names, int digits) {
  check_names(class_names, cm.num_classes(), "classification_report");
  if (digits < 0 || digits > 15) throw Error("classification_report: digits must be in [0, 15]");
  // scikit-learn's layout: a name column as wide as the longest name (at least
  // "weighted avg" and `digits`), a space, then one " {:>9}" cell per column.
  const std::string weighted = "weighted avg";
  std::size_t name_width = std::max<std::size_t>(weighted.size(), static_cast<std::size_t>(digits));
  for (std::int64_t c = 0; c < cm.num_classes(); ++c)
    name_width = std::max(name_width, class_name(class_names, c).size());
  const auto row = [&](const std::string& name, const std::vector<std::string>& cells) {
    std::string line = right(name, name_width);
    line.push_back(' ');
    for (const auto& cell : cells) append_cell(line, cell, 9);
    line.push_back('\n');
    return line;
  };
  std::string out = row("", {"precision", "recall", "f1-score", "support"}) + "\n";
  const ClassScores s = per_class_scores(cm);
  for (std::int64_t c = 0; c < cm.num_classes(); ++c) {
    const auto i = static_cast<std::size_t>(c);
    out += row(class_name(class_names, c), {fixed(s.precision[i], digits), fixed(s.recall[i], digits),
                                            fixed(s.f1[i], digits), std::to_string(s.support[i])});
  }
  out += "\n";
  const std::string total = std::to_string(cm.total());
  // scikit-learn shows the micro average as "accuracy" (its F1 only) when the classes
  // are exactly those that occur; with a class that never occurs it shows "micro avg".
  bool all_occur = true;
  for (std::int64_t c = 0; c < cm.num_classes(); ++c) all_occur = all_occur && (cm.support(c) || cm.predicted(c));
  if (all_occur) {
    out += row("accuracy", {"", "", fixed(cm.total() ? accuracy(cm) : 0.0, digits), total});
  }
  for (Average a : {Average::Micro, Average::Macro, Average::Weighted}) {
    if (a == Average::Micro && all_occur) continue;
    const AveragedScores v = averaged_scores(cm, a);
    out += row(std::string(average_name(a)) + " avg",
               {fixed(v.precision, digits), fixed(v.recall, digits), fixed(v.f1, digits), total});
  }
  return out;
}

std::string format_confusion_matrix(const ConfusionMatrix& cm, const std::vector<std::string>& class_names) {
  check_names(class_names, cm.num_classes(), "format_confusion_matrix");
  const std::int64_t k = cm.num_classes();
  std::size_t name_width = std::string("true \\ predicted").size(), cell = 1;
  for (std::int64_t c = 0; c < k; ++c) name_width = std::max(name_width, class_name(class_names, c).size());
  for (auto v : cm.counts()) cell = std::max(cell, std::to_string(v).size());
  for (std::int64_t c = 0; c < k; ++c) cell = std::max(cell, std::to_string(c).size());
  std::string out = "true \\ predicted";
  out.append(name_width - out.size(), ' ');
  for (std::int64_t c = 0; c < k; ++c) append_cell(out, std::to_string(c), cell);
  out.push_back('\n');
  for (std::int64_t t = 0; t < k; ++t) {
    const std::string name = class_name(class_names, t);
    std::string line = name;
    line.append(name_width - name.size(), ' ');
    for (std::int64_t p = 0; p < k; ++p) append_cell(line, std::to_string(cm(t, p)), cell);
    out += line;
    out.push_back('\n');
  }
  return out;
}

double top_k_accuracy(std::span<const std::int64_t> y_true, const Tensor& scores, std::int64_t k) {
  if (y_true.empty()) throw Error("top_k_accuracy: there are no samples");
  return static_cast<double>(top_k_hits(y_true, scores, k)) / static_cast<double>(y_true.size());
}

std::int64_t top_k_hits(std::span<const std::int64_t> y_true, const Tensor& scores, std::int64_t k) {
  if (!scores.defined() || scores.ndim() != 2) throw Error("top_k_accuracy: expected scores of shape [n, classes]");
  const std::int64_t n = scores.size(0), classes = scores.size(1);
  if (static_cast<std::int64_t>(y_true.size()) != n) {
    throw Error("top_k_accuracy: " + std::to_string(y_true.size()) + " labels for " + std::to_string(n) +
                " rows of scores");
  }
  if (k < 1) throw Error("top_k_accuracy: k must be at least 1, got " + std::to_string(k));
  const auto v = scores.to_vector<double>();
  std::int64_t hits = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t t = y_true[static_cast<std::size_t>(i)];
    if (t < 0 || t >= classes) {
      throw Error("top_k_accuracy: label " + std::to_string(t) + " of sample " + std::to_string(i) +
                  " is outside the " + std::to_string(classes) + " score columns");
    }
    const double* row = v.data() + i * classes;
    // The true class's rank: classes scored higher, and tied classes with a higher index
    // (scikit-learn sorts with a stable argsort and reverses it).
    std::int64_t rank = 0;
    for (std::int64_t j = 0; j < classes; ++j) rank += row[j] > row[t] || (row[j] == row[t] && j > t);
    hits += rank < k;
  }
  return hits;
}

}  // namespace kiln::metrics
