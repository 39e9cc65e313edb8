// A cap on the weights that layers may create on this thread while a
// WeightBudget object lives. Loading a model file builds its architecture under
// the size of the file's tensors, so an architecture that asks for absurd
// weights (a Dense layer of 10^12 units) is an Error rather than an allocation
// the file cannot back. Budgets nest; the innermost one is charged.
#pragma once
#include <cstdint>
#include <string>

#include "kiln/dtype.hpp"
#include "kiln/shape.hpp"

namespace kiln::layers {

class WeightBudget {
 public:
  explicit WeightBudget(std::uint64_t bytes);
  ~WeightBudget();
  WeightBudget(const WeightBudget&) = delete;
  WeightBudget& operator=(const WeightBudget&) = delete;

  // Takes the bytes of a weight of `shape` and `dtype` from the innermost budget, if any;
  // throws an Error naming `who` when they do not fit (or the shape overflows).
  static void take(const std::string& who, const Shape& shape, DType dtype);

 private:
  std::uint64_t left_;
  WeightBudget* outer_;
};

}  // namespace kiln::layers
