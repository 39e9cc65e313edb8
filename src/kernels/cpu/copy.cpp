#include "kernels/cpu/copy.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace kiln::kernels::cpu {
namespace {

template <typename Fn>
void visit_dtype(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: fn(float{}); break;
    case DType::Float64: fn(double{}); break;
    case DType::UInt8: fn(std::uint8_t{}); break;
    case DType::Int32: fn(std::int32_t{}); break;
    case DType::Int64: fn(std::int64_t{}); break;
  }
}

template <typename S, typename D>
void copy_typed(const S* src, const std::int64_t* shape, const std::int64_t* strides, int ndim, D* dst) {
  std::int64_t n = 1;
  for (int i = 0; i < ndim; ++i) n *= shape[i];
  if (n == 0) return;
  if (ndim == 0) {
    dst[0] = static_cast<D>(src[0]);
    return;
  }
  // Walk the output in order with an odometer over the source index; the
  // innermost dimension is a plain strided loop.
  std::vector<std::int64_t> index(ndim, 0);
  const std::int64_t inner = shape[ndim - 1];
  const std::int64_t inner_stride = strides[ndim - 1];
  std::int64_t src_offset = 0;
  for (std::int64_t done = 0; done < n; done += inner) {
    const S* s = src + src_offset;
    if (inner_stride == 1) {
      for (std::int64_t i = 0; i < inner; ++i) dst[i] = static_cast<D>(s[i]);
    } else if (inner_stride == 0) {  // a broadcast row (a gradient expanded from a sum): a fill
      std::fill_n(dst, inner, static_cast<D>(s[0]));
    } else {
      for (std::int64_t i = 0; i < inner; ++i) dst[i] = static_cast<D>(s[i * inner_stride]);
    }
    dst += inner;
    for (int d = ndim - 2; d >= 0; --d) {
      src_offset += strides[d];
      if (++index[d] < shape[d]) break;
      src_offset -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
}

}  // namespace

void strided_copy(const void* src, DType src_dtype, const std::int64_t* shape, const std::int64_t* strides, int ndim,
                  void* dst, DType dst_dtype) {
  visit_dtype(src_dtype, [&](auto s) {
    using S = decltype(s);
    visit_dtype(dst_dtype, [&](auto d) {
      using D = decltype(d);
      copy_typed(static_cast<const S*>(src), shape, strides, ndim, static_cast<D*>(dst));
    });
  });
}

void fill(void* dst, DType dtype, std::int64_t n, double value) {
  visit_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    std::fill_n(static_cast<T*>(dst), n, static_cast<T>(value));
  });
}

}  // namespace kiln::kernels::cpu
