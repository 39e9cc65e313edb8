// Metric functions on hand-made inputs: the errors they give and the text they print.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>

#include "kiln/error.hpp"
#include "kiln/metrics.hpp"
#include "kiln/metrics/classification.hpp"
#include "kiln/metrics/ranking.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

using namespace kiln::metrics;

using testing::error_of;

TEST(ClassificationMetrics, BadLabelsNameTheSampleAndTheRange) {
  const Labels t{0, 1, 2}, p{0, 1, 3};
  EXPECT_NE(error_of([&] { confusion_matrix(t, p, 3); }).find("predicted 3"), std::string::npos);
  EXPECT_NE(error_of([&] {
              confusion_matrix(t, Labels{0, 1}, 3);
            }).find("3 true labels but 2 predictions"),
            std::string::npos);
  EXPECT_NE(error_of([] {
              to_labels(Tensor::from_vector(std::vector<double>{0, 1.5}));
            }).find("entry 1"),
            std::string::npos);
  EXPECT_NE(error_of([] { to_labels(Tensor::from_vector(std::vector<double>{-1})); }).find("non-negative"),
            std::string::npos);
  EXPECT_NE(error_of([] { accuracy(ConfusionMatrix(3)); }).find("no samples"), std::string::npos);
}

TEST(ClassificationMetrics, ConfusionMatrixPrintsAligned) {
  const auto cm = confusion_matrix(Labels{0, 0, 1, 1, 1}, Labels{0, 1, 1, 1, 0}, 2);
  EXPECT_EQ(format_confusion_matrix(cm, {"cat", "dog"}),
            "true \\ predicted 0 1\n"
            "cat              1 1\n"
            "dog              1 2\n");
}

TEST(RankingMetrics, UndefinedAucIsAnErrorNotANumber) {
  const std::vector<std::uint8_t> all_positive{1, 1, 1};
  const std::vector<double> scores{0.2, 0.5, 0.9};
  EXPECT_NE(error_of([&] { roc_auc_score(all_positive, scores); }).find("only one class"), std::string::npos);
  const RocCurve r = roc_curve(all_positive, scores);
  EXPECT_TRUE(std::isnan(r.fpr[1]));
  EXPECT_EQ(r.tpr.back(), 1.0);
  EXPECT_NE(error_of([] {
              roc_curve(std::vector<std::uint8_t>{0, 1}, std::vector<double>{0.1, std::nan("")});
            }).find("finite"),
            std::string::npos);
}

TEST(RankingMetrics, PerfectAndReversedScores) {
  const std::vector<std::uint8_t> y{0, 0, 1, 1};
  EXPECT_DOUBLE_EQ(roc_auc_score(y, std::vector<double>{0.1, 0.2, 0.8, 0.9}), 1.0);
  EXPECT_DOUBLE_EQ(roc_auc_score(y, std::vector<double>{0.9, 0.8, 0.2, 0.1}), 0.0);
  EXPECT_DOUBLE_EQ(roc_auc_score(y, std::vector<double>{0.5, 0.5, 0.5, 0.5}), 0.5) << "ties: the diagonal";
  EXPECT_DOUBLE_EQ(average_precision_score(y, std::vector<double>{0.1, 0.2, 0.8, 0.9}), 1.0);
}

TEST(StreamingMetrics, UnknownNamesListTheKnownOnes) {
  const std::string msg = error_of([] { metrics::get("f2_score", "sparse_categorical_crossentropy"); });
  EXPECT_NE(msg.find("f2_score"), std::string::npos);
  EXPECT_NE(msg.find("top_<k>_accuracy"), std::string::npos);
  EXPECT_NE(error_of([] { metrics::get("precision", "mean_squared_error"); }).find("classification loss"),
            std::string::npos);
}

TEST(StreamingMetrics, BinaryPrecisionFromOneProbabilityPerSample) {
  auto m = metrics::get("precision", "binary_crossentropy");
  // Predicted positive: samples 0, 1, 3; of these 0 and 3 are positive.
  m->update(Tensor::from_vector(std::vector<float>{1, 0, 0, 1}, {4, 1}),
            Tensor::from_vector(std::vector<float>{0.9f, 0.7f, 0.2f, 0.6f}, {4, 1}));
  // Class 1 precision 2/3, class 0 precision 1/1 (sample 2): macro 5/6.
  EXPECT_NEAR(m->result(), 5.0 / 6.0, 1e-12);
  m->reset();
  EXPECT_EQ(m->result(), 0.0);
}

}  // namespace
}  // namespace kiln
