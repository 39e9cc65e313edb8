// How much ZeroPadding and Cropping layers add or remove at each edge, in
// Keras's argument forms: one number for every edge, one per axis (both of its
// edges), or each edge on its own.
#pragma once
#include <cstdint>

namespace kiln::layers {

// Along the steps of a sequence: (left, right).
struct Margins1 {
  Margins1(std::int64_t both) : left(both), right(both) {}  // NOLINT: ZeroPadding1D(2) as in Keras
  Margins1(std::int64_t left_, std::int64_t right_) : left(left_), right(right_) {}
  std::int64_t left, right;
  bool operator==(const Margins1&) const = default;
};

// Around an image: ((top, bottom), (left, right)).
struct Margins2 {
  Margins2(std::int64_t all) : top(all), bottom(all), left(all), right(all) {}  // NOLINT: as in Keras
  Margins2(std::int64_t height, std::int64_t width) : top(height), bottom(height), left(width), right(width) {}
  Margins2(std::int64_t top_, std::int64_t bottom_, std::int64_t left_, std::int64_t right_)
      : top(top_), bottom(bottom_), left(left_), right(right_) {}
  std::int64_t top, bottom, left, right;
  bool operator==(const Margins2&) const = default;
};

}  // namespace kiln::layers
