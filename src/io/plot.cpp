// A line chart drawn pixel by pixel: no plotting library in Debian is small
// enough to be worth a dependency for training curves. Text comes from
// stb_easy_font (part of Debian's libstb-dev), which turns strings into
// rectangles.
#include "kiln/io/plot.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "kiln/error.hpp"
#include "kiln/io/png.hpp"
#include "kiln/tensor.hpp"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

namespace kiln::io {
namespace {

using Color = std::array<std::uint8_t, 3>;
constexpr Color kBlack{0, 0, 0}, kAxis{90, 90, 90}, kGrid{225, 225, 225};
// Matplotlib's default cycle, so the charts look familiar.
constexpr std::array<Color, 6> kPalette{{{31, 119, 180}, {255, 127, 14}, {44, 160, 44}, {214, 39, 40},
                                         {148, 103, 189}, {140, 86, 75}}};

class Canvas {
 public:
  Canvas(int w, int h) : w_(w), h_(h), pixels_(static_cast<std::size_t>(w * h * 3), 255) {}
  int width() const { return w_; }
  int height() const { return h_; }

  void set(int x, int y, Color c) {
    if (x < 0 || y < 0 || x >= w_ || y >= h_) return;
    std::copy(c.begin(), c.end(), pixels_.begin() + (static_cast<std::ptrdiff_t>(y) * w_ + x) * 3);
  }
  void rect(int x0, int y0, int x1, int y1, Color c) {  // [x0, x1) x [y0, y1)
    for (int y = y0; y < y1; ++y) {
      for (int x = x0; x < x1; ++x) set(x, y, c);
    }
  }
  // Bresenham, `thickness` pixels wide.
  void line(double fx0, double fy0, double fx1, double fy1, Color c, int thickness = 1) {
    int x0 = int(std::lround(fx0)), y0 = int(std::lround(fy0));
    const int x1 = int(std::lround(fx1)), y1 = int(std::lround(fy1));
    const int dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    const int lo = -(thickness - 1) / 2, hi = thickness / 2;
    for (;;) {
      for (int a = lo; a <= hi; ++a) {
        for (int b = lo; b <= hi; ++b) set(x0 + a, y0 + b, c);
      }
      if (x0 == x1 && y0 == y1) break;
      const int e2 = 2 * err;
      if (e2 >= dy) err += dy, x0 += sx;
      if (e2 <= dx) err += dx, y0 += sy;
    }
  }
  // Text with its top-left corner at (x, y), `scale` canvas pixels per font pixel.
  void text(double x, double y, const std::string& s, Color c, int scale = 2) {
    std::vector<char> buffer(s.size() * 300 + 1024);
    std::string copy = s;
    const int quads = stb_easy_font_print(0, 0, copy.data(), nullptr, buffer.data(), int(buffer.size()));
    for (int q = 0; q < quads; ++q) {
      float x_min = 1e9f, y_min = 1e9f, x_max = -1e9f, y_max = -1e9f;
      for (int v = 0; v < 4; ++v) {
        float vx, vy;
        std::memcpy(&vx, buffer.data() + (q * 4 + v) * 16, sizeof(float));
        std::memcpy(&vy, buffer.data() + (q * 4 + v) * 16 + 4, sizeof(float));
        x_min = std::min(x_min, vx), x_max = std::max(x_max, vx);
        y_min = std::min(y_min, vy), y_max = std::max(y_max, vy);
      }
      rect(int(std::lround(x + x_min * scale)), int(std::lround(y + y_min * scale)),
           int(std::lround(x + x_max * scale)), int(std::lround(y + y_max * scale)), c);
    }
  }
  static int text_width(const std::string& s, int scale = 2) {
    std::string copy = s;
    return stb_easy_font_width(copy.data()) * scale;
  }

  Tensor tensor() const {
    Tensor t = Tensor::empty({h_, w_, 3}, DType::UInt8);
    std::copy(pixels_.begin(), pixels_.end(), t.data<std::uint8_t>());
    return t;
  }

 private:
  int w_, h_;
  std::vector<std::uint8_t> pixels_;
};

// Tick positions at 1, 2 or 5 times a power of ten, about `count` of them.
std::vector<double> ticks(double lo, double hi, int count) {
  const double raw = (hi - lo) / count;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return out;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

}  // namespace

void write_line_plot(const std::filesystem::path& path, const std::vector<PlotSeries>& series, const PlotOptions& o) {
  const std::string where = "write_line_plot(" + path.string() + ")";
  if (o.width < 200 || o.height < 150 || o.width > 8000 || o.height > 8000) {
    throw Error(where + ": the size must be between 200x150 and 8000x8000 pixels");
  }
  if (!(o.x_step > 0) || !std::isfinite(o.x_start)) throw Error(where + ": x_step must be positive");
  double y_lo = INFINITY, y_hi = -INFINITY;
  std::size_t longest = 0;
  for (const auto& s : series) {
    longest = std::max(longest, s.y.size());
    for (double v : s.y) {
      if (std::isfinite(v)) y_lo = std::min(y_lo, v), y_hi = std::max(y_hi, v);
    }
  }
  if (!std::isfinite(y_lo)) throw Error(where + ": there is nothing to plot (no finite values)");
  if (y_hi - y_lo < 1e-12) y_lo -= 1.0, y_hi += 1.0;
  const double margin = 0.05 * (y_hi - y_lo);
  y_lo -= margin, y_hi += margin;
  const double x_lo = o.x_start, x_hi = o.x_start + o.x_step * double(std::max<std::size_t>(longest, 2) - 1);

  Canvas canvas(o.width, o.height);
  const int left = 90, right = o.width - 20, top = 50, bottom = o.height - 60;
  auto px = [&](double x) { return left + (x - x_lo) / (x_hi - x_lo) * (right - left); };
  auto py = [&](double y) { return bottom - (y - y_lo) / (y_hi - y_lo) * (bottom - top); };

  for (double t : ticks(y_lo, y_hi, 6)) {
    canvas.line(left, py(t), right, py(t), kGrid);
    const std::string label = number(t);
    canvas.text(left - 8 - Canvas::text_width(label), py(t) - 7, label, kAxis);
  }
  for (double t : ticks(x_lo, x_hi, 8)) {
    canvas.line(px(t), top, px(t), bottom, kGrid);
    const std::string label = number(t);
    canvas.text(px(t) - Canvas::text_width(label) / 2.0, bottom + 8, label, kAxis);
  }
  canvas.line(left, top, left, bottom, kAxis);
  canvas.line(left, bottom, right, bottom, kAxis);
  canvas.text((left + right - Canvas::text_width(o.x_label)) / 2.0, bottom + 32, o.x_label, kAxis);
  canvas.text((o.width - Canvas::text_width(o.title, 3)) / 2.0, 12, o.title, kBlack, 3);

  for (std::size_t k = 0; k < series.size(); ++k) {
    const Color color = kPalette[k % kPalette.size()];
    const auto& y = series[k].y;
    for (std::size_t i = 1; i < y.size(); ++i) {
      if (!std::isfinite(y[i - 1]) || !std::isfinite(y[i])) continue;
      canvas.line(px(x_lo + o.x_step * double(i - 1)), py(y[i - 1]), px(x_lo + o.x_step * double(i)), py(y[i]), color, 2);
    }
  }
  // The legend, top right, on a white box over the lines.
  int legend_width = 0;
  for (const auto& s : series) legend_width = std::max(legend_width, Canvas::text_width(s.label));
  const int lx = right - legend_width - 52, ly = top + 6, lh = int(series.size()) * 22 + 8;
  canvas.rect(lx, ly, right - 6, ly + lh, {255, 255, 255});
  canvas.line(lx, ly, right - 6, ly, kGrid), canvas.line(lx, ly + lh, right - 6, ly + lh, kGrid);
  canvas.line(lx, ly, lx, ly + lh, kGrid), canvas.line(right - 6, ly, right - 6, ly + lh, kGrid);
  for (std::size_t k = 0; k < series.size(); ++k) {
    const int y = ly + 6 + int(k) * 22;
    canvas.rect(lx + 8, y + 5, lx + 32, y + 9, kPalette[k % kPalette.size()]);
    canvas.text(lx + 40, y, series[k].label, kBlack);
  }
  write_png(path, canvas.tensor());
}

}  // namespace kiln::io
