#include "kiln/layers/weight_budget.hpp"

#include "kiln/error.hpp"

namespace kiln::layers {
namespace {

thread_local WeightBudget* current = nullptr;

}  // namespace

WeightBudget::WeightBudget(std::uint64_t bytes) : left_(bytes), outer_(current) { current = this; }

WeightBudget::~WeightBudget() { current = outer_; }

void WeightBudget::take(const std::string& who, const Shape& shape, DType dtype) {
  if (!current) return;
  std::uint64_t bytes = dtype_size(dtype);
  bool fits = true;
  for (auto d : shape) {
    if (d < 0) throw Error(who + ": weight shape " + shape_str(shape) + " has a negative size");
    const auto v = static_cast<std::uint64_t>(d);
    if (v != 0 && bytes > current->left_ / v) fits = false;
    if (fits) bytes *= v;
  }
  if (!fits || bytes > current->left_) {
    throw Error(who + ": the architecture asks for a " + std::string(dtype_name(dtype)) + " weight of shape " +
                shape_str(shape) + ", more than the file's tensors hold");
  }
  current->left_ -= bytes;
}

}  // namespace kiln::layers
