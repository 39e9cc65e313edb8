#include "kiln/io/image_grid.hpp"

#include <cmath>
#include <cstring>

#include "kiln/error.hpp"

namespace kiln::io {

Tensor image_grid(const Tensor& images, const ImageGridOptions& o) {
  if (!images.defined()) throw Error("image_grid: the images are undefined");
  if (images.ndim() != 4) {
    throw Error("image_grid: expected a batch [N, height, width, channels], got shape " + shape_str(images.shape()));
  }
  const std::int64_t n = images.size(0), h = images.size(1), w = images.size(2), c = images.size(3);
  if (n == 0) throw Error("image_grid: the batch is empty");
  if (o.columns < 0 || o.padding < 0) throw Error("image_grid: columns and padding must be non-negative");
  const std::int64_t cols =
      o.columns > 0 ? o.columns : static_cast<std::int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
  const std::int64_t rows = (n + cols - 1) / cols, p = o.padding;
  const std::int64_t H = rows * (h + p) + p, W = cols * (w + p) + p;
  Tensor grid = Tensor::full({H, W, c}, o.padding_value, images.dtype());
  const Tensor src = images.contiguous();
  const std::size_t elem = dtype_size(images.dtype());
  const auto* in = static_cast<const char*>(src.raw_data());
  auto* out = static_cast<char*>(grid.raw_data());
  const std::size_t row_bytes = static_cast<std::size_t>(w * c) * elem;
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t top = p + (i / cols) * (h + p), left = p + (i % cols) * (w + p);
    for (std::int64_t y = 0; y < h; ++y) {
      std::memcpy(out + ((top + y) * W + left) * c * static_cast<std::int64_t>(elem),
                  in + ((i * h + y) * w) * c * static_cast<std::int64_t>(elem), row_bytes);
    }
  }
  return grid;
}

}  // namespace kiln::io
