// Copies a strided n-d array into a contiguous one, converting the element type.
#pragma once
#include <cstdint>

#include "kiln/dtype.hpp"

namespace kiln::kernels::cpu {

// src: `ndim` dims of sizes `shape`, element strides `strides`; dst: contiguous.
void strided_copy(const void* src, DType src_dtype, const std::int64_t* shape, const std::int64_t* strides, int ndim,
                  void* dst, DType dst_dtype);

// dst[i] = value for n elements.
void fill(void* dst, DType dtype, std::int64_t n, double value);

}  // namespace kiln::kernels::cpu
