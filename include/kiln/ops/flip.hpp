// Per-image flips, channels last: x [N, H, W, C]; image n is mirrored left-right when bit 1 of
// modes[n] is set and upside down when bit 2 is (RandomFlip's op). A flip is its own inverse,
// so the gradient is the output gradient flipped the same way.
#pragma once
#include <cstdint>
#include <vector>

#include "kiln/tensor.hpp"

namespace kiln {

inline constexpr std::uint8_t kFlipHorizontal = 1;
inline constexpr std::uint8_t kFlipVertical = 2;

Tensor flip_images(const Tensor& x, const std::vector<std::uint8_t>& modes);

}  // namespace kiln
