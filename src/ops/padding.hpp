// Output size and padding for Keras's "valid" and "same" windows.
#pragma once
#include <cstdint>
#include <string>

#include "kiln/error.hpp"

namespace kiln::ops_detail {

struct Window1d {
  std::int64_t out = 0, pad_before = 0, pad_after = 0;
};

// size: input extent; kernel: window extent after dilation.
inline Window1d window_1d(std::int64_t size, std::int64_t kernel, std::int64_t stride, const std::string& padding,
                          const char* op) {
  if (stride < 1) throw Error(std::string(op) + ": strides must be positive, got " + std::to_string(stride));
  Window1d w;
  if (padding == "valid") {
    if (size < kernel) {
      throw Error(std::string(op) + ": input size " + std::to_string(size) + " is smaller than the window " +
                  std::to_string(kernel) + " (padding \"valid\")");
    }
    w.out = (size - kernel) / stride + 1;
  } else if (padding == "same") {
    // TensorFlow's rule: output = ceil(size / stride), the odd pixel of padding goes after.
    w.out = (size + stride - 1) / stride;
    const std::int64_t total = std::max<std::int64_t>((w.out - 1) * stride + kernel - size, 0);
    w.pad_before = total / 2;
    w.pad_after = total - w.pad_before;
  } else {
    throw Error(std::string(op) + ": padding must be \"valid\" or \"same\", got \"" + padding + "\"");
  }
  return w;
}

}  // namespace kiln::ops_detail
