// Shape: the sizes of a tensor's dimensions, outermost first.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

using Shape = std::vector<std::int64_t>;

std::int64_t shape_numel(const Shape& shape);
// "[64, 28, 28, 1]"
std::string shape_str(const Shape& shape);
// Maps a possibly negative axis into [0, ndim); throws naming `what` when out of range.
int normalize_axis(int axis, int ndim, const char* what);
// NumPy broadcasting of two shapes; throws naming `what` when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* what);

}  // namespace kiln
