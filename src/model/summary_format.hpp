// Pieces of Keras's model.summary() table, shared by every kind of model.
#pragma once
#include <cstdint>
#include <string>

#include "kiln/shape.hpp"

namespace kiln::model_detail {

// (None, 28, 28, 1): a per-sample shape with Keras's batch placeholder.
inline std::string keras_shape(const Shape& s) {
  std::string out = "(None";
  for (auto d : s) out += ", " + std::to_string(d);
  return out + ")";
}

// 122570 -> "122,570"
inline std::string with_commas(std::int64_t v) {
  std::string digits = std::to_string(v), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// `s` padded with spaces to `width` (never cut).
inline std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s += std::string(width - s.size(), ' ');
  return s;
}

}  // namespace kiln::model_detail
