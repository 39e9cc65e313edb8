// resize_image: tf.image.resize's bilinear and nearest-neighbour sampling (half-pixel
// centres, no antialiasing), which image_dataset_from_directory uses.
//
// Output pixel (y, x) samples the input at ((y + 0.5) * in_h / out_h - 0.5, ...):
// bilinear blends the four neighbours of that point (clamped to the border); nearest
// takes floor((y + 0.5) * in_h / out_h), clamped.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kiln/data/images.hpp"
#include "kiln/error.hpp"

namespace kiln::data {
namespace {

struct Tap {
  std::int64_t lo, hi;
  float w;  // weight of hi
};

std::vector<Tap> bilinear_taps(std::int64_t in, std::int64_t out, std::int64_t offset, std::int64_t span) {
  std::vector<Tap> taps(static_cast<std::size_t>(out));
  const double scale = double(span) / double(out);
  for (std::int64_t i = 0; i < out; ++i) {
    const double src = (double(i) + 0.5) * scale - 0.5;
    const double f = std::floor(src);
    const auto lo = static_cast<std::int64_t>(f);
    taps[i] = {offset + std::clamp<std::int64_t>(lo, 0, span - 1),
               offset + std::clamp<std::int64_t>(lo + 1, 0, span - 1), static_cast<float>(src - f)};
    (void)in;
  }
  return taps;
}

std::vector<std::int64_t> nearest_taps(std::int64_t out, std::int64_t offset, std::int64_t span) {
  std::vector<std::int64_t> taps(static_cast<std::size_t>(out));
  const double scale = double(span) / double(out);
  for (std::int64_t i = 0; i < out; ++i) {
    taps[i] = offset + std::min(static_cast<std::int64_t>(std::floor((double(i) + 0.5) * scale)), span - 1);
  }
  return taps;
}

}  // namespace

Tensor resize_image(const Tensor& image, std::int64_t height, std::int64_t width, const std::string& interpolation,
                    bool crop_to_aspect_ratio) {
  if (image.ndim() != 3)
    throw Error("resize_image: expected an image [height, width, channels], got shape " + shape_str(image.shape()));
  if (height < 1 || width < 1) {
    throw Error("resize_image: the size must be at least 1x1, got " + std::to_string(height) + "x" +
                std::to_string(width));
  }
  if (interpolation != "bilinear" && interpolation != "nearest") {
    throw Error("resize_image: interpolation must be \"bilinear\" or \"nearest\", got \"" + interpolation + "\"");
  }
  const Tensor src = image.to(DType::Float32).contiguous();
  const std::int64_t h = src.size(0), w = src.size(1), c = src.size(2);
  if (h < 1 || w < 1) throw Error("resize_image: the image is empty (shape " + shape_str(image.shape()) + ")");
  // The window to sample: all of it, or Keras's smart_resize crop.
  std::int64_t top = 0, left = 0, crop_h = h, crop_w = w;
  if (crop_to_aspect_ratio) {
    crop_h = std::min(h, static_cast<std::int64_t>(double(w * height) / double(width)));
    crop_w = std::min(w, static_cast<std::int64_t>(double(h * width) / double(height)));
    crop_h = std::max<std::int64_t>(crop_h, 1), crop_w = std::max<std::int64_t>(crop_w, 1);
    top = static_cast<std::int64_t>(double(h - crop_h) / 2);
    left = static_cast<std::int64_t>(double(w - crop_w) / 2);
  }
  Tensor out = Tensor::empty({height, width, c}, DType::Float32);
  const float* in = src.data<float>();
  float* o = out.data<float>();
  if (interpolation == "nearest") {
    const auto ys = nearest_taps(height, top, crop_h), xs = nearest_taps(width, left, crop_w);
    for (std::int64_t y = 0; y < height; ++y) {
      for (std::int64_t x = 0; x < width; ++x) {
        std::copy_n(in + (ys[y] * w + xs[x]) * c, c, o + (y * width + x) * c);
      }
    }
    return out;
  }
  const auto ys = bilinear_taps(h, height, top, crop_h), xs = bilinear_taps(w, width, left, crop_w);
  for (std::int64_t y = 0; y < height; ++y) {
    const float* r0 = in + ys[y].lo * w * c;
    const float* r1 = in + ys[y].hi * w * c;
    const float wy = ys[y].w;
    for (std::int64_t x = 0; x < width; ++x) {
      const Tap& tx = xs[x];
      for (std::int64_t k = 0; k < c; ++k) {
        // As TensorFlow: blend along x on both rows, then along y.
        const float top_v = r0[tx.lo * c + k] + (r0[tx.hi * c + k] - r0[tx.lo * c + k]) * tx.w;
        const float bottom_v = r1[tx.lo * c + k] + (r1[tx.hi * c + k] - r1[tx.lo * c + k]) * tx.w;
        o[(y * width + x) * c + k] = top_v + (bottom_v - top_v) * wy;
      }
    }
  }
  return out;
}

}  // namespace kiln::data
