// Keras's "same" padding as ONNX's explicit pads, shared by export and import.
#pragma once
#include <algorithm>
#include <cstdint>
#include <utility>

namespace kiln::onnx_detail {

// The output is ceil(size / stride) and the odd pixel of padding goes after: {before, after}.
inline std::pair<std::int64_t, std::int64_t> same_pads(std::int64_t size, std::int64_t kernel, std::int64_t stride,
                                                       std::int64_t dilation) {
  const std::int64_t effective = (kernel - 1) * dilation + 1;
  const std::int64_t out = (size + stride - 1) / stride;
  const std::int64_t total = std::max<std::int64_t>((out - 1) * stride + effective - size, 0);
  return {total / 2, total - total / 2};
}

}  // namespace kiln::onnx_detail
