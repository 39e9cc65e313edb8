// Ops that move data around without arithmetic: reshape, transpose, narrow, concat.
#include <cstring>

#include "kernels/cpu/copy.hpp"
#include "ops/op_helpers.hpp"
#include "tensor/tensor_impl.hpp"

namespace kiln {

Tensor reshape(const Tensor& x, const Shape& shape) {
  ops_detail::check_defined(x, "reshape", "input");
  Tensor out = x.reshape(shape);
  if (autograd::needs_grad({&x})) {
    const Shape in_shape = x.shape();
    autograd::record(out, "reshape", {x},
                     [in_shape](const Tensor& g) -> std::vector<Tensor> { return {g.reshape(in_shape)}; });
  }
  return out;
}

Tensor transpose(const Tensor& x, int axis0, int axis1) {
  ops_detail::check_defined(x, "transpose", "input");
  Tensor out = x.transpose(axis0, axis1);
  if (autograd::needs_grad({&x})) {
    autograd::record(out, "transpose", {x}, [axis0, axis1](const Tensor& g) -> std::vector<Tensor> {
      return {g.transpose(axis0, axis1)};
    });
  }
  return out;
}

Tensor narrow(const Tensor& x, int axis_in, std::int64_t start, std::int64_t length) {
  ops_detail::check_defined(x, "narrow", "input");
  const int axis = normalize_axis(axis_in, x.ndim(), "narrow");
  const std::int64_t size = x.shape()[axis];
  if (start < 0 || length < 0 || start + length > size) {
    throw Error("narrow: range [" + std::to_string(start) + ", " + std::to_string(start + length) +
                ") is outside axis " + std::to_string(axis_in) + " of size " + std::to_string(size));
  }
  // A view: same strides, shorter axis, shifted offset.
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = x.impl()->storage;
  impl->offset = x.impl()->offset + start * x.strides()[axis];
  impl->shape = x.shape();
  impl->shape[axis] = length;
  impl->strides = x.strides();
  impl->dtype = x.dtype();
  Tensor out(std::move(impl));
  if (autograd::needs_grad({&x})) {
    const Shape in_shape = x.shape();
    autograd::record(out, "narrow", {x}, [in_shape, axis, start, length](const Tensor& g) -> std::vector<Tensor> {
      Tensor gx = Tensor::zeros(in_shape, g.dtype());
      Tensor window = narrow(gx, axis, start, length);  // a view into gx
      const Tensor gc = g.contiguous();
      // Copy g into the strided window of gx.
      const auto& ws = window.strides();
      const int nd = window.ndim();
      std::vector<std::int64_t> index(nd, 0);
      const std::size_t elem = dtype_size(g.dtype());
      const char* src = static_cast<const char*>(gc.raw_data());
      char* dst = static_cast<char*>(window.raw_data());
      for (std::int64_t i = 0; i < gc.numel(); ++i) {
        std::int64_t off = 0;
        for (int d = 0; d < nd; ++d) off += index[d] * ws[d];
        std::memcpy(dst + off * elem, src + i * elem, elem);
        for (int d = nd - 1; d >= 0; --d) {
          if (++index[d] < window.shape()[d]) break;
          index[d] = 0;
        }
      }
      return {gx};
    });
  }
  return out;
}

Tensor concat(const std::vector<Tensor>& tensors, int axis_in) {
  if (tensors.empty()) throw Error("concat: no tensors given");
  for (std::size_t i = 0; i < tensors.size(); ++i) ops_detail::check_defined(tensors[i], "concat", "an input");
  const Tensor& first = tensors[0];
  const int axis = normalize_axis(axis_in, first.ndim(), "concat");
  Shape shape = first.shape();
  shape[axis] = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    ops_detail::check_same_dtype(first, t, "concat");
    bool ok = t.ndim() == first.ndim();
    for (int d = 0; ok && d < t.ndim(); ++d) ok = d == axis || t.shape()[d] == first.shape()[d];
    if (!ok) {
      throw Error("concat: input " + std::to_string(i) + " has shape " + shape_str(t.shape()) +
                  ", which does not match " + shape_str(first.shape()) + " outside axis " + std::to_string(axis_in));
    }
    shape[axis] += t.shape()[axis];
  }
  Tensor out = Tensor::empty(shape, first.dtype());
  std::int64_t outer = 1, inner = 1;
  for (int d = 0; d < axis; ++d) outer *= shape[d];
  for (int d = axis + 1; d < static_cast<int>(shape.size()); ++d) inner *= shape[d];
  const std::size_t elem = dtype_size(first.dtype());
  char* dst = static_cast<char*>(out.raw_data());
  std::int64_t column = 0;
  for (const Tensor& t : tensors) {
    const Tensor c = t.contiguous();
    const std::int64_t width = t.shape()[axis] * inner;
    const char* src = static_cast<const char*>(c.raw_data());
    for (std::int64_t o = 0; o < outer; ++o) {
      std::memcpy(dst + (o * shape[axis] * inner + column) * elem, src + o * width * elem, width * elem);
    }
    column += width;
  }
  if (autograd::needs_grad(tensors)) {
    std::vector<std::int64_t> sizes;
    for (const Tensor& t : tensors) sizes.push_back(t.shape()[axis]);
    autograd::record(out, "concat", tensors, [sizes, axis](const Tensor& g) -> std::vector<Tensor> {
      std::vector<Tensor> grads;
      std::int64_t start = 0;
      for (auto size : sizes) {
        grads.push_back(narrow(g, axis, start, size).contiguous());
        start += size;
      }
      return grads;
    });
  }
  return out;
}

}  // namespace kiln
