// A minimal line chart as a PNG, for training curves: axes with tick labels,
// one coloured line per series and a legend (text from stb_easy_font).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

namespace kiln::io {

struct PlotSeries {
  std::string label;
  std::vector<double> y;  // drawn at x = x_start + i * x_step
};

struct PlotOptions {
  std::string title;
  std::string x_label = "step";
  double x_start = 0.0, x_step = 1.0;
  int width = 800, height = 450;
};

// Non-finite values are skipped. Written atomically; throws kiln::Error on failure.
void write_line_plot(const std::filesystem::path& path, const std::vector<PlotSeries>& series,
                     const PlotOptions& options = {});

}  // namespace kiln::io
