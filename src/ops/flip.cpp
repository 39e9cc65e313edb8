// flip_images: each image copied pixel by pixel into its mirrored position (forward and
// backward are the same copy).
#include "kiln/ops/flip.hpp"

#include <cstring>

#include "ops/op_helpers.hpp"

namespace kiln {
namespace {

// x, y contiguous [N, H, W, C] of one element size.
void flip_copy(const Tensor& x, Tensor& y, const std::vector<std::uint8_t>& modes) {
  const std::int64_t n = x.size(0), h = x.size(1), w = x.size(2);
  const std::size_t pixel = static_cast<std::size_t>(x.size(3)) * dtype_size(x.dtype());
  const char* src = static_cast<const char*>(x.raw_data());
  char* dst = static_cast<char*>(y.raw_data());
  for (std::int64_t b = 0; b < n; ++b) {
    const bool horizontal = modes[b] & kFlipHorizontal, vertical = modes[b] & kFlipVertical;
    for (std::int64_t i = 0; i < h; ++i) {
      const std::int64_t si = vertical ? h - 1 - i : i;
      for (std::int64_t j = 0; j < w; ++j) {
        const std::int64_t sj = horizontal ? w - 1 - j : j;
        std::memcpy(dst + ((b * h + i) * w + j) * pixel, src + ((b * h + si) * w + sj) * pixel, pixel);
      }
    }
  }
}

}  // namespace

Tensor flip_images(const Tensor& x_in, const std::vector<std::uint8_t>& modes) {
  ops_detail::check_defined(x_in, "flip_images", "input");
  ops_detail::check_ndim(x_in, 4, "flip_images", "input", "[batch, height, width, channels]");
  if (static_cast<std::int64_t>(modes.size()) != x_in.size(0)) {
    throw Error("flip_images: " + std::to_string(modes.size()) + " modes for a batch of " +
                std::to_string(x_in.size(0)) + " images");
  }
  const Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  flip_copy(x, y, modes);
  if (autograd::needs_grad({&x_in})) {
    autograd::record(y, "flip_images", {x_in}, [modes](const Tensor& gy_in) -> std::vector<Tensor> {
      const Tensor gy = gy_in.contiguous();
      Tensor gx = Tensor::empty(gy.shape(), gy.dtype());
      flip_copy(gy, gx, modes);
      return {gx};
    });
  }
  return y;
}

}  // namespace kiln
