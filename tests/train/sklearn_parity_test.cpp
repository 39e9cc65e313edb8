// Kiln's classification metrics against scikit-learn on the fixtures written by
// tests/fixtures/generate_sklearn_fixtures.py (ties, empty classes, a single class).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "kiln/error.hpp"
#include "kiln/metrics.hpp"
#include "kiln/metrics/classification.hpp"
#include "kiln/metrics/ranking.hpp"

namespace kiln {
namespace {

using json = nlohmann::json;
using namespace kiln::metrics;
using metrics::Average;  // (kiln::layers, which other files of the unity build use, has an Average too)
constexpr double kTol = 1e-6;

const json& fixtures() {
  static const json data = [] {
    std::ifstream in(std::string(KILN_TEST_FIXTURES) + "/sklearn_metrics.json");
    if (!in) throw std::runtime_error("cannot open sklearn_metrics.json");
    return json::parse(in);
  }();
  return data;
}

struct Case {
  std::string name;
  std::int64_t k;
  Labels y_true, y_pred;
  Tensor scores;
  std::vector<std::string> names;
  const json* expected;
};

std::vector<Case> sklearn_cases() {
  std::vector<Case> out;
  for (const auto& [name, c] : fixtures().at("cases").items()) {
    Case x{name,
           c.at("num_classes").get<std::int64_t>(),
           c.at("y_true").get<Labels>(),
           c.at("y_pred").get<Labels>(),
           Tensor(),
           c.at("class_names").get<std::vector<std::string>>(),
           &c};
    std::vector<double> flat;
    for (const auto& row : c.at("scores")) {
      for (const auto& v : row) flat.push_back(v.get<double>());
    }
    x.scores = Tensor::from_vector(flat, {static_cast<std::int64_t>(x.y_true.size()), x.k});
    out.push_back(std::move(x));
  }
  return out;
}

// null in the fixture is scikit-learn's nan.
void expect_matches_sklearn(const std::vector<double>& actual, const json& expected, const std::string& what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (expected[i].is_null()) {
      EXPECT_TRUE(std::isnan(actual[i])) << what << "[" << i << "] should be nan, is " << actual[i];
    } else {
      EXPECT_NEAR(actual[i], expected[i].get<double>(), kTol) << what << "[" << i << "]";
    }
  }
}

TEST(SklearnParity, FixturesCoverTheEdgeCases) {
  std::set<std::string> names;
  for (const auto& c : sklearn_cases()) names.insert(c.name);
  for (const char* n : {"multiclass", "ties", "empty_class", "single_class", "binary", "perfect"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
}

TEST(SklearnParity, PredictedLabelsAreTheFirstArgmax) {
  for (const auto& c : sklearn_cases()) EXPECT_EQ(predicted_labels(c.scores), c.y_pred) << c.name;
}

TEST(SklearnParity, ConfusionMatrixAndAccuracy) {
  for (const auto& c : sklearn_cases()) {
    const auto cm = confusion_matrix(c.y_true, c.y_pred, c.k);
    const auto expected = c.expected->at("confusion_matrix");
    for (std::int64_t t = 0; t < c.k; ++t) {
      for (std::int64_t p = 0; p < c.k; ++p) EXPECT_EQ(cm(t, p), expected[t][p].get<std::int64_t>()) << c.name;
    }
    EXPECT_NEAR(accuracy(cm), c.expected->at("accuracy").get<double>(), kTol) << c.name;
    EXPECT_NEAR(accuracy_score(c.y_true, c.y_pred), c.expected->at("accuracy").get<double>(), kTol) << c.name;
  }
}

TEST(SklearnParity, PrecisionRecallF1PerClassAndAveraged) {
  for (const auto& c : sklearn_cases()) {
    const auto cm = confusion_matrix(c.y_true, c.y_pred, c.k);
    const ClassScores s = per_class_scores(cm);
    const json& pc = c.expected->at("per_class");
    expect_matches_sklearn(s.precision, pc.at("precision"), c.name + " precision");
    expect_matches_sklearn(s.recall, pc.at("recall"), c.name + " recall");
    expect_matches_sklearn(s.f1, pc.at("f1"), c.name + " f1");
    EXPECT_EQ(s.support, pc.at("support").get<std::vector<std::int64_t>>()) << c.name;
    for (Average a : {Average::Macro, Average::Micro, Average::Weighted}) {
      const json& e = c.expected->at(average_name(a));
      const std::string what = c.name + " " + average_name(a);
      EXPECT_NEAR(precision_score(cm, a), e.at("precision").get<double>(), kTol) << what;
      EXPECT_NEAR(recall_score(cm, a), e.at("recall").get<double>(), kTol) << what;
      EXPECT_NEAR(f1_score(cm, a), e.at("f1").get<double>(), kTol) << what;
    }
  }
}

TEST(SklearnParity, ClassificationReportIsCharacterForCharacter) {
  for (const auto& c : sklearn_cases()) {
    const auto cm = confusion_matrix(c.y_true, c.y_pred, c.k);
    EXPECT_EQ(classification_report(cm, c.names, 2), c.expected->at("report_2").get<std::string>()) << c.name;
    EXPECT_EQ(classification_report(cm, c.names, 4), c.expected->at("report_4").get<std::string>()) << c.name;
  }
}

TEST(SklearnParity, RocCurvesAndAucOneVsRest) {
  for (const auto& c : sklearn_cases()) {
    const auto curves = roc_curves_ovr(c.y_true, c.scores);
    const auto aucs = roc_auc_per_class(c.y_true, c.scores);
    const json& ovr = c.expected->at("ovr");
    ASSERT_EQ(curves.size(), ovr.size());
    for (std::size_t k = 0; k < curves.size(); ++k) {
      const std::string what = c.name + " class " + std::to_string(k);
      expect_matches_sklearn(curves[k].fpr, ovr[k].at("roc").at("fpr"), what + " fpr");
      expect_matches_sklearn(curves[k].tpr, ovr[k].at("roc").at("tpr"), what + " tpr");
      expect_matches_sklearn(curves[k].thresholds, ovr[k].at("roc").at("thresholds"), what + " thresholds");
      if (ovr[k].at("roc_auc").is_null()) {
        EXPECT_TRUE(std::isnan(aucs[k])) << what;
      } else {
        EXPECT_NEAR(aucs[k], ovr[k].at("roc_auc").get<double>(), kTol) << what;
      }
      if (ovr[k].contains("roc_all")) {
        // Without dropping collinear points: one point per distinct score.
        std::vector<std::uint8_t> positive;
        std::vector<double> column;
        const auto v = c.scores.to_vector<double>();
        for (std::size_t i = 0; i < c.y_true.size(); ++i) {
          positive.push_back(c.y_true[i] == static_cast<std::int64_t>(k));
          column.push_back(v[i * static_cast<std::size_t>(c.k) + k]);
        }
        const RocCurve all = roc_curve(positive, column, /*drop_intermediate=*/false);
        expect_matches_sklearn(all.fpr, ovr[k].at("roc_all").at("fpr"), what + " all fpr");
        expect_matches_sklearn(all.tpr, ovr[k].at("roc_all").at("tpr"), what + " all tpr");
        expect_matches_sklearn(all.thresholds, ovr[k].at("roc_all").at("thresholds"), what + " all thresholds");
      }
    }
  }
}

TEST(SklearnParity, MulticlassRocAucOrTheSameRefusal) {
  for (const auto& c : sklearn_cases()) {
    if (c.k <= 2) continue;
    for (Average a : {Average::Macro, Average::Weighted}) {
      const json& e = c.expected->at(std::string("roc_auc_ovr_") + average_name(a));
      if (e.is_null()) {
        // scikit-learn refuses when a class has no samples (or all of them); so does Kiln, naming the class.
        try {
          roc_auc_ovr(c.y_true, c.scores, a);
          ADD_FAILURE() << c.name << ": expected an Error";
        } catch (const Error& err) {
          EXPECT_NE(std::string(err.what()).find("class "), std::string::npos) << err.what();
        }
      } else {
        EXPECT_NEAR(roc_auc_ovr(c.y_true, c.scores, a), e.get<double>(), kTol) << c.name;
      }
    }
  }
}

TEST(SklearnParity, PrecisionRecallCurvesAndAveragePrecision) {
  for (const auto& c : sklearn_cases()) {
    const auto curves = precision_recall_curves_ovr(c.y_true, c.scores);
    const auto ap = average_precision_per_class(c.y_true, c.scores);
    const json& ovr = c.expected->at("ovr");
    for (std::size_t k = 0; k < curves.size(); ++k) {
      const std::string what = c.name + " class " + std::to_string(k);
      expect_matches_sklearn(curves[k].precision, ovr[k].at("pr").at("precision"), what + " precision");
      expect_matches_sklearn(curves[k].recall, ovr[k].at("pr").at("recall"), what + " recall");
      expect_matches_sklearn(curves[k].thresholds, ovr[k].at("pr").at("thresholds"), what + " thresholds");
      EXPECT_NEAR(ap[k], ovr[k].at("average_precision").get<double>(), kTol) << what;
    }
    for (Average a : {Average::Macro, Average::Weighted}) {
      EXPECT_NEAR(average_precision_ovr(c.y_true, c.scores, a),
                  c.expected->at(std::string("average_precision_") + average_name(a)).get<double>(), kTol)
          << c.name << " " << average_name(a);
    }
  }
}

TEST(SklearnParity, TopKAccuracyIncludingTies) {
  int checked = 0;
  for (const auto& c : sklearn_cases()) {
    if (!c.expected->contains("top_k")) continue;
    for (const auto& [k, v] : c.expected->at("top_k").items()) {
      EXPECT_NEAR(top_k_accuracy(c.y_true, c.scores, std::stoll(k)), v.get<double>(), kTol) << c.name << " k=" << k;
      ++checked;
    }
  }
  EXPECT_GT(checked, 10);
}

TEST(SklearnParity, StreamingMetricsAgreeWithTheFunctions) {
  // The compile() metrics accumulate the same confusion counts batch by batch.
  for (const auto& c : sklearn_cases()) {
    if (c.k < 3) continue;
    const auto cm = confusion_matrix(c.y_true, c.y_pred, c.k);
    const Tensor labels = Tensor::from_vector(c.y_true);
    for (const char* name : {"precision", "recall", "f1_score", "micro_f1_score", "weighted_precision",
                             "top_2_accuracy", "sparse_top_k_categorical_accuracy"}) {
      auto m = metrics::get(name, "sparse_categorical_crossentropy");
      const std::int64_t n = c.scores.size(0);
      for (std::int64_t b = 0; b < n; b += 7) {
        const std::int64_t e = std::min(n, b + 7);
        m->update(labels.slice(b, e), c.scores.slice(b, e));
      }
      double expected = 0;
      const std::string s = name;
      if (s == "precision") expected = precision_score(cm, Average::Macro);
      if (s == "recall") expected = recall_score(cm, Average::Macro);
      if (s == "f1_score") expected = f1_score(cm, Average::Macro);
      if (s == "micro_f1_score") expected = f1_score(cm, Average::Micro);
      if (s == "weighted_precision") expected = precision_score(cm, Average::Weighted);
      if (s == "top_2_accuracy") expected = top_k_accuracy(c.y_true, c.scores, 2);
      if (s == "sparse_top_k_categorical_accuracy") expected = top_k_accuracy(c.y_true, c.scores, 5);
      EXPECT_NEAR(m->result(), expected, 1e-12) << c.name << " " << name;
      EXPECT_EQ(m->name(), s);
    }
  }
}

}  // namespace
}  // namespace kiln
