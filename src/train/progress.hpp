// Keras-style progress output for fit, evaluate and predict.
//   verbose 1: a bar redrawn in place (terminal);  verbose 2: one line per epoch.
#pragma once
#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace kiln::train_detail {

// -1 ("auto") becomes 1 on a terminal and 2 otherwise.
int resolve_verbosity(int verbose);

class ProgressBar {
 public:
  ProgressBar(std::ostream& out, std::int64_t total_steps, int verbose);
  // After `step` steps are done (1-based), with the running values to show.
  void update(std::int64_t step, const std::vector<std::pair<std::string, double>>& values);
  // The epoch's final line, with `values` (training and validation metrics).
  void finish(const std::vector<std::pair<std::string, double>>& values);

 private:
  std::ostream& out_;
  std::int64_t total_;
  int verbose_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  std::size_t last_width_ = 0;
};

std::string format_value(double v);

}  // namespace kiln::train_detail
