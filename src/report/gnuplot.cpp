// The run's PNG plots, drawn by gnuplot in a child process from a script that is
// kept in the run folder (plots.gp), so the pictures can be restyled and redrawn.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "kiln/error.hpp"
#include "kiln/io/files.hpp"
#include "kiln/metrics/ranking.hpp"
#include "kiln/report.hpp"
#include "report/report_detail.hpp"

extern char** environ;

namespace kiln::report {
namespace {

namespace fs = std::filesystem;

// A gnuplot single-quoted string: quotes doubled, line breaks flattened.
std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "''";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string num(double v) {
  if (!std::isfinite(v)) return "NaN";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

std::string class_name(const RunSummary& run, std::size_t c) {
  return c < run.class_names.size() ? run.class_names[c] : std::to_string(c);
}

// Matplotlib's "tab10", so ten classes get ten distinct colours (as in report.html).
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

constexpr const char* kGnuplotStyle =
    "reset\n"
    "set terminal pngcairo size 960,640 noenhanced font 'Sans,11' linewidth 1.5\n"
    "set border lw 1 lc rgb '#444444'\n"
    "set grid lc rgb '#dddddd' lw 1\n"
    "set key noenhanced\n";

void curves(std::ostringstream& gp, const fs::path& dir, const RunSummary& run, std::vector<fs::path>& files) {
  std::vector<std::string> keys;
  for (const auto& [k, v] : run.history.history) keys.push_back(k);
  int block = 0;
  for (const auto& metric : report_detail::curve_metrics(keys)) {
    const auto& train = run.history.history.at(metric);
    const auto val_it = run.history.history.find("val_" + metric);
    const fs::path out = dir / ("curves_" + metric + ".png");
    gp << kGnuplotStyle << "set output " << quote(out.string()) << "\n"
       << "set title " << quote(metric + " per epoch") << "\nset xlabel 'epoch'\nset ylabel " << quote(metric) << "\n"
       << "set key top right\nset format x '%.0f'\n";
    if (train.size() <= 20) gp << "set xtics 1\n";
    if (train.size() == 1) gp << "set xrange [0.5:1.5]\n";
    const std::string name = "$curve" + std::to_string(block++);
    gp << name << " << EOD\n";
    for (std::size_t e = 0; e < train.size(); ++e) {
      const double v =
          val_it != run.history.history.end() && e < val_it->second.size() ? val_it->second[e] : std::nan("");
      gp << (e < run.history.epoch.size() ? run.history.epoch[e] + 1 : int(e) + 1) << " " << num(train[e]) << " "
         << num(v) << "\n";
    }
    gp << "EOD\nplot " << name << " using 1:2 with linespoints lw 2 pt 7 ps 0.8 lc rgb '#1f77b4' title 'training'";
    if (val_it != run.history.history.end()) {
      gp << ", " << name << " using 1:3 with linespoints lw 2 pt 5 ps 0.8 lc rgb '#ff7f0e' title 'validation'";
    }
    gp << "\n";
    files.push_back(out);
  }
}

void confusion(std::ostringstream& gp, const fs::path& dir, const RunSummary& run, std::vector<fs::path>& files) {
  const auto k = static_cast<std::size_t>(run.scores.size(1));
  const auto cm = metrics::confusion_matrix(run.y_true, metrics::predicted_labels(run.scores), run.scores.size(1));
  std::int64_t most = 1;
  for (auto v : cm.counts()) most = std::max(most, v);
  const fs::path out = dir / "confusion_matrix.png";
  gp << kGnuplotStyle << "set terminal pngcairo size 900,820 noenhanced font 'Sans,11'\n"
     << "set output " << quote(out.string()) << "\n"
     << "set title 'Confusion matrix (" << cm.total() << " test samples)'\n"
     << "set xlabel 'predicted class'\nset ylabel 'true class'\nunset grid\nunset key\nset size square\n"
     << "set xrange [-0.5:" << k - 0.5 << "]\nset yrange [" << k - 0.5 << ":-0.5]\n"
     << "set palette defined (0 '#f7fbff', 0.5 '#6baed6', 1 '#08306b')\n"
     << "set cbrange [0:" << most << "]\nset cblabel 'samples'\nset tics scale 0\n";
  std::string tics;
  for (std::size_t c = 0; c < k; ++c) tics += (c ? ", " : "") + quote(class_name(run, c)) + " " + std::to_string(c);
  gp << "set xtics (" << tics << ") rotate by 40 right\nset ytics (" << tics << ")\n";
  gp << "$cm << EOD\n";
  for (std::size_t t = 0; t < k; ++t) {
    for (std::size_t p = 0; p < k; ++p) gp << p << " " << t << " " << cm(std::int64_t(t), std::int64_t(p)) << "\n";
  }
  const std::string half = std::to_string(most / 2.0);
  gp << "EOD\nplot $cm using 1:2:3 with image, "
     << "$cm using 1:2:($3 > " << half << " ? sprintf('%d', $3) : '') with labels font ',10' tc rgb 'white', "
     << "$cm using 1:2:($3 <= " << half << " ? sprintf('%d', $3) : '') with labels font ',10' tc rgb '#222222'\n";
  files.push_back(out);
}

// ROC (x: false positive rate, y: true positive rate) or precision-recall (x: recall, y: precision).
void one_vs_rest(std::ostringstream& gp, const fs::path& dir, const RunSummary& run, bool roc,
                 std::vector<fs::path>& files) {
  const auto k = static_cast<std::size_t>(run.scores.size(1));
  const fs::path out = dir / (roc ? "roc.png" : "precision_recall.png");
  gp << kGnuplotStyle << "set output " << quote(out.string()) << "\n"
     << "set title "
     << quote(roc ? "ROC curves, each class against the rest (test set)"
                  : "Precision-recall curves, each class against the rest (test set)")
     << "\nset xlabel " << quote(roc ? "false positive rate" : "recall") << "\nset ylabel "
     << quote(roc ? "true positive rate" : "precision") << "\n"
     << "set xrange [0:1]\nset yrange [0:1.02]\nset size ratio 1\n"
     << (roc ? "set key inside right bottom" : "set key inside left bottom") << " font ',10' box opaque\n";
  std::vector<std::string> plots;
  const auto aucs = metrics::roc_auc_per_class(run.y_true, run.scores);
  const auto aps = metrics::average_precision_per_class(run.y_true, run.scores);
  const auto roc_curves = metrics::roc_curves_ovr(run.y_true, run.scores);
  const auto pr_curves = metrics::precision_recall_curves_ovr(run.y_true, run.scores);
  for (std::size_t c = 0; c < k; ++c) {
    const std::vector<double>& x = roc ? roc_curves[c].fpr : pr_curves[c].recall;
    const std::vector<double>& y = roc ? roc_curves[c].tpr : pr_curves[c].precision;
    if (roc && std::isnan(aucs[c])) continue;  // a class absent from the test set has no ROC curve
    const std::string name = std::string(roc ? "$roc" : "$pr") + std::to_string(c);
    gp << name << " << EOD\n";
    for (std::size_t i : report_detail::thin(x.size(), 400)) gp << num(x[i]) << " " << num(y[i]) << "\n";
    gp << "EOD\n";
    char value[32];
    std::snprintf(value, sizeof value, roc ? " (AUC %.3f)" : " (AP %.3f)", roc ? aucs[c] : aps[c]);
    plots.push_back(name + " using 1:2 with lines lw 2 lc rgb '" + kPalette[c % 10] + "' title " +
                    quote(class_name(run, c) + value));
  }
  if (roc) plots.push_back("x with lines dt 2 lw 1 lc rgb '#999999' title 'chance'");
  gp << "plot ";
  for (std::size_t i = 0; i < plots.size(); ++i) gp << (i ? ", \\\n     " : "") << plots[i];
  gp << "\n";
  files.push_back(out);
}

// Runs `program script`, its output into `log`; an Error when it cannot start or fails.
void run_gnuplot(const std::string& program, const fs::path& script, const fs::path& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::string arg0 = program, arg1 = script.string();
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw Error("cannot run " + program + " (" + std::strerror(rc) +
                "); install gnuplot (apt-get install gnuplot-nox) "
                "or set KILN_GNUPLOT, then draw the PNGs with: gnuplot " +
                script.string());
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string first_lines;
    try {
      first_lines = io::read_file(log, 1 << 16);
    } catch (const Error&) {
    }
    if (first_lines.size() > 400) first_lines = first_lines.substr(0, 400) + "...";
    throw Error(program + " failed on " + script.string() +
                (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? std::string(" (not found)") : ": " + first_lines));
  }
}

}  // namespace

std::vector<fs::path> draw_pngs(const fs::path& dir, const RunSummary& run) {
  std::ostringstream gp;
  gp << "# The run's plots, drawn by kiln train. Redraw (after editing) with: gnuplot plots.gp\n"
     << "set encoding utf8\n";
  std::vector<fs::path> files;
  if (!run.history.history.empty()) curves(gp, dir, run, files);
  if (run.scores.defined() && run.scores.size(0) > 0) {
    confusion(gp, dir, run, files);
    one_vs_rest(gp, dir, run, true, files);
    one_vs_rest(gp, dir, run, false, files);
  }
  const fs::path script = dir / "plots.gp";
  io::write_file_atomically(script, gp.str());
  const char* env = std::getenv("KILN_GNUPLOT");
  const std::string program = env && *env ? env : "gnuplot";
  const fs::path log = dir / ".plots.log";
  run_gnuplot(program, script, log);
  std::error_code ec;
  fs::remove(log, ec);
  return files;
}

}  // namespace kiln::report
