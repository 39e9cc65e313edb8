// Run folders: the files a report writes, metrics.json agreeing with predictions.csv,
// PNGs from gnuplot, and report.html drawn by headless Chromium.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "kiln/io/files.hpp"
#include "kiln/kiln.hpp"
#include "kiln/report.hpp"
#include "support/process.hpp"

namespace kiln {
namespace {

using testing::run_command;
using testing::TempDir;
namespace fs = std::filesystem;

// Three classes; class 2 never occurs in the labels (its ROC AUC is undefined).
report::RunSummary sample_run() {
  report::RunSummary run;
  run.title = "A test run";
  run.config = {{"epochs", 3}, {"dataset", "synthetic"}};
  run.history.epoch = {0, 1, 2};
  run.history.history = {{"loss", {1.0, 0.7, 0.5}},
                         {"val_loss", {1.1, 0.8, 0.65}},
                         {"accuracy", {0.5, 0.7, 0.8}},
                         {"val_accuracy", {0.45, 0.6, 0.75}},
                         {"learning_rate", {1e-3, 1e-3, 5e-4}}};
  // A class name that would break the page if it were not escaped.
  run.class_names = {"cat", "dog</script><b>bold", "bird"};
  Generator g(7);
  std::vector<float> scores;
  for (int i = 0; i < 60; ++i) {
    const int label = i % 2;
    run.y_true.push_back(label);
    float a = static_cast<float>(g.uniform()), b = static_cast<float>(g.uniform()),
          c = 0.2f * static_cast<float>(g.uniform());
    (label == 0 ? a : b) += 0.5f;
    const float sum = a + b + c;
    scores.insert(scores.end(), {a / sum, b / sum, c / sum});
  }
  run.scores = Tensor::from_vector(scores, {60, 3});
  return run;
}

bool gnuplot_installed() { return run_command("command -v gnuplot").exit_code == 0; }

TEST(RunReport, ChartJsIsEmbeddedVerbatim) {
  const fs::path chartjs = "/usr/share/javascript/chart.js/chart.min.js";
  if (!report::has_chartjs()) GTEST_SKIP() << "Kiln was built without Chart.js (apt-get install libjs-chart.js)";
  TempDir dir;
  const auto written = report::write_run_report(dir.path(), sample_run());
  const std::string html = io::read_file(dir.path() / "report.html");
  if (fs::exists(chartjs)) {
    EXPECT_NE(html.find(io::read_file(chartjs)), std::string::npos);
  }
  EXPECT_EQ(html.find("src=\"http"), std::string::npos) << "nothing is fetched from the network";
}

TEST(RunReport, WritesEveryFileAndMetricsMatchThePredictions) {
  TempDir dir;
  const auto run = sample_run();
  const auto written = report::write_run_report(dir.path(), run);
  for (const char* f : {"predictions.csv", "metrics.json", "history.json", "report.html"}) {
    EXPECT_TRUE(fs::exists(dir.path() / f)) << f;
  }
  // Recompute everything from predictions.csv: the same numbers as metrics.json.
  std::istringstream csv(io::read_file(dir.path() / "predictions.csv"));
  std::string line;
  std::getline(csv, line);
  EXPECT_EQ(line, "true_label,predicted_label,score_0,score_1,score_2");
  metrics::Labels labels;
  std::vector<float> scores;
  while (std::getline(csv, line)) {
    std::stringstream row(line);
    std::string cell;
    std::getline(row, cell, ',');
    labels.push_back(std::stoll(cell));
    std::getline(row, cell, ',');
    while (std::getline(row, cell, ',')) scores.push_back(std::stof(cell));
  }
  const Tensor reread = Tensor::from_vector(scores, {static_cast<std::int64_t>(labels.size()), 3});
  EXPECT_EQ(reread.to_vector<float>(), run.scores.to_vector<float>()) << "scores are written exactly";
  const auto saved = nlohmann::json::parse(io::read_file(dir.path() / "metrics.json"));
  EXPECT_EQ(saved, report::evaluation_json(labels, reread, run.class_names));
  EXPECT_TRUE(saved["per_class"][2]["roc_auc"].is_null()) << "class 2 never occurs";
  EXPECT_TRUE(saved["roc_auc_ovr"]["macro"].is_null());
  EXPECT_EQ(saved["confusion_matrix"].size(), 3u);
  const auto history = nlohmann::json::parse(io::read_file(dir.path() / "history.json"));
  EXPECT_EQ(history["history"]["val_loss"], nlohmann::json({1.1, 0.8, 0.65}));
}

TEST(RunReport, GnuplotDrawsThePngs) {
  if (!gnuplot_installed()) GTEST_SKIP() << "gnuplot not installed (apt-get install gnuplot-nox)";
  TempDir dir;
  const auto written = report::write_run_report(dir.path(), sample_run());
  EXPECT_EQ(written.png_problem, "");
  for (const char* f :
       {"curves_loss.png", "curves_accuracy.png", "confusion_matrix.png", "roc.png", "precision_recall.png"}) {
    const fs::path p = dir.path() / f;
    ASSERT_TRUE(fs::exists(p)) << f;
    const std::string bytes = io::read_file(p);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << f;
    EXPECT_GT(bytes.size(), 5000u) << f << " is a real picture, not an empty canvas";
  }
  EXPECT_TRUE(fs::exists(dir.path() / "plots.gp"));
}

TEST(RunReport, WithoutGnuplotTheReportSaysSo) {
  TempDir dir;
  const char* old = std::getenv("KILN_GNUPLOT");
  const std::string saved = old ? old : "";
  setenv("KILN_GNUPLOT", "/nonexistent/gnuplot", 1);
  const auto written = report::write_run_report(dir.path(), sample_run());
  if (old) {
    setenv("KILN_GNUPLOT", saved.c_str(), 1);
  } else {
    unsetenv("KILN_GNUPLOT");
  }
  EXPECT_NE(written.png_problem.find("gnuplot"), std::string::npos) << written.png_problem;
  EXPECT_NE(io::read_file(dir.path() / "report.html").find("PNG images were not drawn"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir.path() / "metrics.json"));
}

// The report as a browser shows it: headless Chromium loads the page, runs its scripts,
// and the DOM it dumps says which charts were drawn and how many pixels each painted.
TEST(RunReport, ChromiumDrawsCurvesConfusionMatrixAndRoc) {
  const auto which = run_command("command -v chromium || command -v chromium-browser");
  if (which.exit_code != 0)
    GTEST_SKIP() << "chromium not installed (apt-get install chromium); report not checked in a browser";
  if (!report::has_chartjs()) GTEST_SKIP() << "Kiln was built without Chart.js";
  const std::string chromium = which.output.substr(0, which.output.find('\n'));
  TempDir dir, profile;
  report::write_run_report(dir.path(), sample_run());
  const std::string cmd = "timeout 120 " + chromium +
                          " --headless --no-sandbox --disable-gpu --disable-background-networking "
                          "--disable-component-update --disable-sync --no-first-run --user-data-dir=" +
                          profile.path().string() + " --window-size=1280,2400 --dump-dom file://" +
                          (dir.path() / "report.html").string() + " 2>/dev/null";
  const auto r = run_command(cmd);
  ASSERT_EQ(r.exit_code, 0) << r.output.substr(0, 2000);
  const std::string& dom = r.output;
  EXPECT_EQ(dom.find("data-charts-error"), std::string::npos) << dom.substr(0, 3000);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(dom, m, std::regex("data-charts-ready=\"([^\"]*)\""))) << dom.substr(0, 3000);
  const std::string ready = m[1];
  for (const char* id : {"chart-curve-loss", "chart-curve-accuracy", "chart-learning-rate", "chart-roc", "chart-pr"}) {
    EXPECT_NE(ready.find(id), std::string::npos) << id << " not drawn; drawn: " << ready;
    std::smatch c;
    const std::regex canvas(std::string("<canvas id=\"") + id + "\"[^>]*data-painted-pixels=\"([0-9]+)\"");
    ASSERT_TRUE(std::regex_search(dom, c, canvas)) << id;
    EXPECT_GT(std::stoll(c[1]), 3000) << id << " painted almost nothing";
  }
  // The confusion matrix: a 3x3 heat map of cells, and the hostile class name shown as text.
  const auto table = dom.find("id=\"confusion-matrix\"");
  ASSERT_NE(table, std::string::npos);
  const std::string cm = dom.substr(table, dom.find("</table>", table) - table);
  int cells = 0;
  for (std::size_t p = 0; (p = cm.find("<td style=\"background:rgb(", p)) != std::string::npos; ++p) ++cells;
  EXPECT_EQ(cells, 9);
  EXPECT_NE(dom.find("dog&lt;/script&gt;&lt;b&gt;bold"), std::string::npos);
}

}  // namespace
}  // namespace kiln
