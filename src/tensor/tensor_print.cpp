// Printing a Tensor with its values, as NumPy's repr does: nested brackets, one row per
// line, every element padded to the widest, and "..." in place of the middle of any axis
// longer than six once the tensor has more than 1000 elements.
#include <algorithm>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "kiln/tensor.hpp"

namespace kiln {
namespace {

constexpr std::int64_t kThreshold = 1000;  // NumPy's printoptions threshold
constexpr std::int64_t kEdgeItems = 3;     // and edgeitems

// The indices shown along an axis of size n; -1 marks the "..." gap.
std::vector<std::int64_t> shown(std::int64_t n, bool summarise) {
  std::vector<std::int64_t> out;
  if (!summarise || n <= 2 * kEdgeItems) {
    for (std::int64_t i = 0; i < n; ++i) out.push_back(i);
  } else {
    for (std::int64_t i = 0; i < kEdgeItems; ++i) out.push_back(i);
    out.push_back(-1);
    for (std::int64_t i = n - kEdgeItems; i < n; ++i) out.push_back(i);
  }
  return out;
}

// Element i of a contiguous tensor, read in place: printing a large tensor shows a few
// dozen values and should not copy all of them.
double value_at(const Tensor& t, std::int64_t i) {
  switch (t.dtype()) {
    case DType::Float32:
      return t.data<float>()[i];
    case DType::Float64:
      return t.data<double>()[i];
    case DType::UInt8:
      return t.data<std::uint8_t>()[i];
    case DType::Int32:
      return t.data<std::int32_t>()[i];
    case DType::Int64:
      return static_cast<double>(t.data<std::int64_t>()[i]);
  }
  return 0.0;
}

std::string format_value(double v, DType dtype) {
  std::ostringstream s;
  if (is_floating(dtype)) {
    s.precision(dtype == DType::Float32 ? 6 : 8);
  } else {
    s.precision(20);  // integers are exact in a double up to 2^53, and printed without exponent below that
  }
  s << v;
  return s.str();
}

struct Printer {
  const Tensor& values;  // contiguous
  const Shape& shape;
  DType dtype;
  bool summarise;
  std::size_t width = 0;
  std::vector<std::int64_t> strides;  // of the contiguous values

  template <typename Visit>
  void each_shown(int axis, std::int64_t base, Visit visit) const {
    if (axis == static_cast<int>(shape.size())) return visit(base);
    for (auto i : shown(shape[axis], summarise)) {
      if (i >= 0) each_shown(axis + 1, base + i * strides[axis], visit);
    }
  }

  void print(std::ostream& out, int axis, std::int64_t base, std::size_t indent) const {
    if (axis == static_cast<int>(shape.size())) {
      const std::string s = format_value(value_at(values, base), dtype);
      out << std::string(width - std::min(width, s.size()), ' ') << s;
      return;
    }
    out << "[";
    const auto indices = shown(shape[axis], summarise);
    const bool last_axis = axis + 1 == static_cast<int>(shape.size());
    // Between rows: one newline per remaining axis (a blank line between matrices), as NumPy does.
    std::string between = ",";
    if (last_axis) {
      between += ' ';
    } else {
      between.append(shape.size() - static_cast<std::size_t>(axis) - 1, '\n').append(indent + 1, ' ');
    }
    for (std::size_t k = 0; k < indices.size(); ++k) {
      if (k) out << between;
      if (indices[k] < 0) {
        out << "...";
      } else {
        print(out, axis + 1, base + indices[k] * strides[axis], indent + 1);
      }
    }
    out << "]";
  }
};

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "Tensor(undefined)";
  const Tensor values = contiguous();
  const Shape& s = shape();
  Printer printer{values, s, dtype(), numel() > kThreshold};
  printer.strides.assign(s.size(), 1);
  for (int i = static_cast<int>(s.size()) - 2; i >= 0; --i) printer.strides[i] = printer.strides[i + 1] * s[i + 1];
  printer.each_shown(0, 0, [&](std::int64_t i) {
    printer.width = std::max(printer.width, format_value(value_at(values, i), dtype()).size());
  });
  std::ostringstream out;
  const std::string head = "Tensor(";
  printer.print(out, 0, 0, head.size());
  return head + out.str() + ", shape=" + shape_str(s) + ", dtype=" + dtype_name(dtype()) + ")";
}

std::ostream& operator<<(std::ostream& out, const Tensor& t) { return out << t.str(); }

}  // namespace kiln
