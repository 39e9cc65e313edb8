// One picture from a batch of images: samples tiled row by row, as the grids
// of generated samples GAN papers show.
#pragma once
#include <cstdint>

#include "kiln/tensor.hpp"

namespace kiln::io {

struct ImageGridOptions {
  std::int64_t columns = 0;     // 0: ceil(sqrt(N)), a square-ish grid
  std::int64_t padding = 2;     // pixels between (and around) the tiles
  double padding_value = 0.0;   // in the images' own units (e.g. 0.5 for grey floats, 128 for uint8)
};

// images [N, H, W, C] (any dtype) -> [rows * (H + p) + p, columns * (W + p) + p, C] of the same dtype.
Tensor image_grid(const Tensor& images, const ImageGridOptions& options = {});

}  // namespace kiln::io
