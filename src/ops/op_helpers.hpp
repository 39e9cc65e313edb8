// Small helpers shared by the op files.
#pragma once
#include <string>

#include "kiln/autograd.hpp"
#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "kiln/tensor.hpp"

namespace kiln::ops_detail {

// Calls fn.template operator()<T>() with T = float or double for x's dtype.
template <typename Fn>
decltype(auto) dispatch_floating(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: return fn.template operator()<float>();
    case DType::Float64: return fn.template operator()<double>();
    default:
      throw Error(std::string(op) + ": expected a float32 or float64 tensor, got " + dtype_name(dtype));
  }
}

inline void check_defined(const Tensor& t, const char* op, const char* what) {
  if (!t.defined()) throw Error(std::string(op) + ": " + what + " is undefined");
}

inline void check_same_dtype(const Tensor& a, const Tensor& b, const char* op) {
  if (a.dtype() != b.dtype()) {
    throw Error(std::string(op) + ": dtypes differ (" + dtype_name(a.dtype()) + " and " + dtype_name(b.dtype()) +
                ")");
  }
}

inline void check_ndim(const Tensor& t, int ndim, const char* op, const char* what, const char* layout) {
  if (t.ndim() != ndim) {
    throw Error(std::string(op) + ": " + what + " must have " + std::to_string(ndim) + " dimensions " + layout +
                ", got shape " + shape_str(t.shape()));
  }
}

// A scalar tensor of x's dtype.
inline Tensor scalar_like(const Tensor& x, double value) { return Tensor::scalar(value, x.dtype()); }

}  // namespace kiln::ops_detail
