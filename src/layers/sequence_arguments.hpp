// Checks and helpers shared by the layers added for Keras parity (the 1-D
// sequence layers, the padding and cropping layers, the global poolings).
// `who` is the layer's describe(): its type and name.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "kiln/shape.hpp"

namespace kiln::layers_detail {

// Kiln's images and sequences are channels last; Keras's None means the same.
inline void check_data_format(const std::string& who, const std::string& data_format) {
  if (data_format != "channels_last") {
    throw Error(who + ": data_format \"" + data_format + "\" is not supported; Kiln is channels_last");
  }
}

// One sample's shape must be [steps, channels] (the batch axis excluded).
inline void check_sequence_sample(const std::string& who, const Shape& in) {
  if (in.size() != 2) {
    throw Error(who + ": expected inputs of shape [batch, steps, channels], got [batch" +
                (in.empty() ? std::string("]") : ", " + shape_str(in).substr(1)));
  }
}

inline void check_non_negative(const std::string& who, const char* argument, const std::vector<std::int64_t>& values) {
  for (auto v : values) {
    if (v < 0) throw Error(who + ": " + argument + " must not be negative, got " + std::to_string(v));
  }
}

// x with `before` zeros ahead of and `after` zeros behind its entries along `axis`
// (concat's backward hands the gradient of the real entries back).
inline Tensor zero_pad_axis(const Tensor& x, int axis, std::int64_t before, std::int64_t after) {
  if (before == 0 && after == 0) return x;
  std::vector<Tensor> parts;
  Shape s = x.shape();
  if (before > 0) {
    s[axis] = before;
    parts.push_back(Tensor::zeros(s, x.dtype()));
  }
  parts.push_back(x);
  if (after > 0) {
    s[axis] = after;
    parts.push_back(Tensor::zeros(s, x.dtype()));
  }
  return concat(parts, axis);
}

}  // namespace kiln::layers_detail
