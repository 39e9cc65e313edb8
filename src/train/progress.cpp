#include "train/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <ostream>

namespace kiln::train_detail {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string format_eta(double s) {
  char buf[32];
  const long t = std::lround(s);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t % 3600) / 60, t % 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

std::string format_per_step(double s) {
  char buf[32];
  if (s >= 1) std::snprintf(buf, sizeof buf, "%.0fs/step", s);
  else if (s >= 1e-3) std::snprintf(buf, sizeof buf, "%.0fms/step", s * 1e3);
  else std::snprintf(buf, sizeof buf, "%.0fus/step", s * 1e6);
  return buf;
}

std::string values_text(const std::vector<std::pair<std::string, double>>& values) {
  std::string s;
  for (const auto& [name, v] : values) s += " - " + name + ": " + format_value(v);
  return s;
}

}  // namespace

std::string format_value(double v) {
  char buf[32];
  if (std::abs(v) > 1e-3 || v == 0.0 || !std::isfinite(v)) std::snprintf(buf, sizeof buf, "%.4f", v);
  else std::snprintf(buf, sizeof buf, "%.4e", v);
  return buf;
}

int resolve_verbosity(int verbose) {
  if (verbose >= 0) return verbose;
  return isatty(STDOUT_FILENO) ? 1 : 2;
}

ProgressBar::ProgressBar(std::ostream& out, std::int64_t total, int verbose)
    : out_(out), total_(total), verbose_(verbose), start_(Clock::now()), last_draw_(start_) {}

void ProgressBar::update(std::int64_t step, const std::vector<std::pair<std::string, double>>& values) {
  if (verbose_ != 1) return;
  // Redraw at most ~20 times a second; drawing every step slows small models.
  if (step < total_ && seconds_since(last_draw_) < 0.05 && step != 1) return;
  last_draw_ = Clock::now();
  const int digits = static_cast<int>(std::to_string(total_).size());
  char head[64];
  std::snprintf(head, sizeof head, "%*lld/%lld [", digits, static_cast<long long>(step),
                static_cast<long long>(total_));
  constexpr int kWidth = 30;
  const int filled = total_ ? static_cast<int>(kWidth * step / total_) : kWidth;
  std::string bar(static_cast<std::size_t>(std::max(filled - 1, 0)), '=');
  if (filled > 0) bar += step >= total_ ? '=' : '>';
  bar += std::string(static_cast<std::size_t>(kWidth - static_cast<int>(bar.size())), '.');
  const double elapsed = seconds_since(start_);
  const double eta = step > 0 ? elapsed / double(step) * double(total_ - step) : 0.0;
  std::string line = std::string(head) + bar + "] - ETA: " + format_eta(eta) + values_text(values);
  const std::size_t width = line.size();
  if (width < last_width_) line += std::string(last_width_ - width, ' ');
  last_width_ = width;
  out_ << '\r' << line << std::flush;
}

void ProgressBar::finish(const std::vector<std::pair<std::string, double>>& values) {
  if (verbose_ == 0) return;
  const double elapsed = seconds_since(start_);
  const std::string per_step = format_per_step(total_ ? elapsed / double(total_) : 0.0);
  char time_buf[32];
  std::snprintf(time_buf, sizeof time_buf, "%.0fs", elapsed);
  const std::string total = std::to_string(total_);
  if (verbose_ == 1) {
    std::string line = total + "/" + total + " [" + std::string(30, '=') + "] - " + time_buf + " " + per_step +
                       values_text(values);
    if (line.size() < last_width_) line += std::string(last_width_ - line.size(), ' ');
    out_ << '\r' << line << '\n' << std::flush;
  } else {
    out_ << total << "/" << total << " - " << time_buf << values_text(values) << " - " << time_buf << "/epoch - "
         << per_step << '\n'
         << std::flush;
  }
}

}  // namespace kiln::train_detail
