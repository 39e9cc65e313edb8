// Sampling plans for resizes and affine transforms, and the gather/scatter that apply them.
#include "kernels/cpu/image_sampling.hpp"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {
namespace {

// One axis of a resize: the two source indices of output index i and the weight of the second.
struct AxisTap {
  std::int64_t lo, hi;
  double w;
};

std::vector<AxisTap> resize_axis(std::int64_t out, std::int64_t offset, std::int64_t span, bool nearest) {
  std::vector<AxisTap> taps(static_cast<std::size_t>(out));
  const double scale = double(span) / double(out);
  for (std::int64_t i = 0; i < out; ++i) {
    if (nearest) {
      // tf.image.resize's nearest with half-pixel centres: floor((i + 0.5) * scale), clamped.
      const auto j = std::min(static_cast<std::int64_t>(std::floor((double(i) + 0.5) * scale)), span - 1);
      taps[i] = {offset + j, offset + j, 0.0};
      continue;
    }
    const double src = (double(i) + 0.5) * scale - 0.5;
    const double f = std::floor(src);
    const auto lo = static_cast<std::int64_t>(f);
    taps[i] = {offset + std::clamp<std::int64_t>(lo, 0, span - 1),
               offset + std::clamp<std::int64_t>(lo + 1, 0, span - 1), src - f};
  }
  return taps;
}

// TensorFlow's fill modes (ImageProjectiveTransformV3, after scipy.ndimage): a coordinate outside
// [0, len - 1] is brought inside; "constant" leaves it outside, to be filled.
double map_reflect(double c, std::int64_t len) {  // d c b a | a b c d | d c b a
  if (len <= 1) return 0;
  const double period = 2.0 * double(len);
  if (c < 0) {
    if (c < period) c += period * static_cast<double>(static_cast<std::int64_t>(-c / period));
    c = c < -double(len) ? c + period : -c - 1;
  } else if (c > double(len - 1)) {
    c -= period * static_cast<double>(static_cast<std::int64_t>(c / period));
    if (c >= double(len)) c = period - c - 1;
  }
  return std::clamp(c, 0.0, double(len - 1));
}

double map_wrap(double c, std::int64_t len) {  // a b c d | a b c d | a b c d
  if (len <= 1) return 0;
  const double period = double(len - 1);
  if (c < 0) {
    c += double(len) * static_cast<double>(static_cast<std::int64_t>(-c / period) + 1);
  } else if (c > double(len - 1)) {
    c -= double(len) * static_cast<double>(static_cast<std::int64_t>(c / period));
  }
  return std::clamp(c, 0.0, double(len - 1));
}

double map_coordinate(double c, std::int64_t len, FillMode mode) {
  switch (mode) {
    case FillMode::Reflect:
      return map_reflect(c, len);
    case FillMode::Wrap:
      return map_wrap(c, len);
    case FillMode::Nearest:
      return std::clamp(c, 0.0, double(len - 1));
    case FillMode::Constant:
      break;
  }
  return c;
}

}  // namespace

std::vector<SampleTaps> resize_plan(std::int64_t N, std::int64_t H, std::int64_t W, std::int64_t OH, std::int64_t OW,
                                    std::int64_t top, std::int64_t left, std::int64_t crop_h, std::int64_t crop_w,
                                    bool nearest) {
  const auto ys = resize_axis(OH, top, crop_h, nearest), xs = resize_axis(OW, left, crop_w, nearest);
  std::vector<SampleTaps> taps(static_cast<std::size_t>(N * OH * OW));
  std::size_t p = 0;
  for (std::int64_t n = 0; n < N; ++n) {
    const std::int64_t base = n * H * W;
    for (const AxisTap& ty : ys) {
      for (const AxisTap& tx : xs) {
        SampleTaps& t = taps[p++];
        t.pixel[0] = base + ty.lo * W + tx.lo, t.weight[0] = (1 - ty.w) * (1 - tx.w);
        t.pixel[1] = base + ty.lo * W + tx.hi, t.weight[1] = (1 - ty.w) * tx.w;
        t.pixel[2] = base + ty.hi * W + tx.lo, t.weight[2] = ty.w * (1 - tx.w);
        t.pixel[3] = base + ty.hi * W + tx.hi, t.weight[3] = ty.w * tx.w;
      }
    }
  }
  return taps;
}

std::vector<SampleTaps> affine_plan(std::int64_t N, std::int64_t H, std::int64_t W, const double* transforms,
                                    bool nearest, FillMode mode) {
  std::vector<SampleTaps> taps(static_cast<std::size_t>(N * H * W));
  std::size_t p = 0;
  for (std::int64_t n = 0; n < N; ++n) {
    const double* t = transforms + 8 * n;
    const std::int64_t base = n * H * W;
    for (std::int64_t oy = 0; oy < H; ++oy) {
      for (std::int64_t ox = 0; ox < W; ++ox) {
        SampleTaps& s = taps[p++];
        const double k = t[6] * double(ox) + t[7] * double(oy) + 1.0;
        if (k == 0) {  // a point at infinity: outside the image
          s.fill = 1;
          continue;
        }
        const double x = map_coordinate((t[0] * double(ox) + t[1] * double(oy) + t[2]) / k, W, mode);
        const double y = map_coordinate((t[3] * double(ox) + t[4] * double(oy) + t[5]) / k, H, mode);
        if (!(x >= 0 && x <= double(W - 1) && y >= 0 && y <= double(H - 1))) {  // only "constant" (or NaN) gets here
          s.fill = 1;
          continue;
        }
        if (nearest) {
          s.pixel[0] = base + static_cast<std::int64_t>(std::round(y)) * W + static_cast<std::int64_t>(std::round(x));
          s.weight[0] = 1;
          continue;
        }
        const double xf = std::floor(x), yf = std::floor(y);
        const double wx = x - xf, wy = y - yf;
        const auto x0 = static_cast<std::int64_t>(xf), y0 = static_cast<std::int64_t>(yf);
        const std::int64_t xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
        const double ws[4] = {(1 - wx) * (1 - wy), wx * (1 - wy), (1 - wx) * wy, wx * wy};
        for (int j = 0; j < 4; ++j) {
          // A neighbour past the last row or column has weight 0 here; TF reads it as the fill value.
          if (xs[j] < W && ys[j] < H) {
            s.pixel[j] = base + ys[j] * W + xs[j];
            s.weight[j] = ws[j];
          } else {
            s.fill += ws[j];
          }
        }
      }
    }
  }
  return taps;
}

bool translations_only(std::int64_t N, const double* transforms) {
  for (std::int64_t n = 0; n < N; ++n) {
    const double* t = transforms + 8 * n;
    if (t[0] != 1 || t[1] != 0 || t[3] != 0 || t[4] != 1 || t[6] != 0 || t[7] != 0) return false;
  }
  return true;
}

template <typename T>
void translate_nearest(const T* x, std::int64_t N, std::int64_t H, std::int64_t W, std::int64_t C,
                       const double* transforms, FillMode mode, double fill_value, T* y) {
  parallel_for(N, H * W * C, [&](std::int64_t begin, std::int64_t end) {
    std::vector<std::int64_t> rows(static_cast<std::size_t>(H)), cols(static_cast<std::size_t>(W));
    // The input row (column) each output row (column) reads, or -1 for the fill value, as
    // affine_plan finds it for a translation: the coordinate plus the shift, mapped by the fill mode.
    auto axis = [mode](std::vector<std::int64_t>& to, std::int64_t len, double shift) {
      for (std::int64_t o = 0; o < len; ++o) {
        const double c = map_coordinate(double(o) + shift, len, mode);
        to[static_cast<std::size_t>(o)] =
            c >= 0 && c <= double(len - 1) ? static_cast<std::int64_t>(std::round(c)) : -1;
      }
    };
    const T fill = static_cast<T>(fill_value);
    for (std::int64_t n = begin; n < end; ++n) {
      const double* t = transforms + 8 * n;
      axis(cols, W, t[2]);
      axis(rows, H, t[5]);
      const T* image = x + n * H * W * C;
      T* out = y + n * H * W * C;
      for (std::int64_t oy = 0; oy < H; ++oy) {
        const std::int64_t iy = rows[static_cast<std::size_t>(oy)];
        for (std::int64_t ox = 0; ox < W; ++ox, out += C) {
          const std::int64_t ix = cols[static_cast<std::size_t>(ox)];
          if (iy < 0 || ix < 0) {
            std::fill(out, out + C, fill);
          } else {
            std::copy_n(image + (iy * W + ix) * C, C, out);
          }
        }
      }
    }
  });
}

template void translate_nearest<float>(const float*, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                                       const double*, FillMode, double, float*);
template void translate_nearest<double>(const double*, std::int64_t, std::int64_t, std::int64_t, std::int64_t,
                                        const double*, FillMode, double, double*);

template <typename T>
void sample_forward(const T* x, const std::vector<SampleTaps>& taps, std::int64_t C, double fill_value, T* y) {
  const auto P = static_cast<std::int64_t>(taps.size());
  for (std::int64_t p = 0; p < P; ++p) {
    const SampleTaps& t = taps[static_cast<std::size_t>(p)];
    for (std::int64_t c = 0; c < C; ++c) {
      double acc = t.fill * fill_value;
      for (int k = 0; k < 4; ++k) {
        if (t.weight[k] != 0) acc += t.weight[k] * double(x[t.pixel[k] * C + c]);
      }
      y[p * C + c] = static_cast<T>(acc);
    }
  }
}

template <typename T>
void sample_backward(const T* gy, const std::vector<SampleTaps>& taps, std::int64_t C, std::int64_t input_pixels,
                     T* gx) {
  std::fill(gx, gx + input_pixels * C, T(0));
  const auto P = static_cast<std::int64_t>(taps.size());
  for (std::int64_t p = 0; p < P; ++p) {  // serial: taps of different outputs share input pixels
    const SampleTaps& t = taps[static_cast<std::size_t>(p)];
    for (int k = 0; k < 4; ++k) {
      if (t.weight[k] == 0) continue;
      const auto w = static_cast<T>(t.weight[k]);
      for (std::int64_t c = 0; c < C; ++c) gx[t.pixel[k] * C + c] += w * gy[p * C + c];
    }
  }
}

template void sample_forward<float>(const float*, const std::vector<SampleTaps>&, std::int64_t, double, float*);
template void sample_forward<double>(const double*, const std::vector<SampleTaps>&, std::int64_t, double, double*);
template void sample_backward<float>(const float*, const std::vector<SampleTaps>&, std::int64_t, std::int64_t, float*);
template void sample_backward<double>(const double*, const std::vector<SampleTaps>&, std::int64_t, std::int64_t,
                                      double*);

}  // namespace kiln::kernels::cpu
