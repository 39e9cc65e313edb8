// Nearest-neighbour upsampling, channels last: x [N, H, W, C] -> [N, H*SH, W*SW, C],
// each pixel repeated as an SH x SW block (Keras's UpSampling2D).
#pragma once
#include <cstdint>

#include "kiln/tensor.hpp"

namespace kiln {

Tensor upsample2d_nearest(const Tensor& x, std::int64_t size_h, std::int64_t size_w);

}  // namespace kiln
