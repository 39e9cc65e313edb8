// Sums, means and the broadcasting pair sum_to / broadcast_to.
#include <algorithm>
#include <set>

#include "kernels/cpu/copy.hpp"
#include "kernels/cpu/reduce.hpp"
#include "ops/op_helpers.hpp"
#include "tensor/tensor_impl.hpp"

namespace kiln {
namespace {

using ops_detail::dispatch_floating;

// Sums one axis of a contiguous tensor, keeping it as size 1.
Tensor sum_one_axis(const Tensor& x, int axis) {
  Shape out_shape = x.shape();
  const std::int64_t r = out_shape[axis];
  std::int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= out_shape[i];
  for (int i = axis + 1; i < x.ndim(); ++i) inner *= out_shape[i];
  out_shape[axis] = 1;
  Tensor out = Tensor::empty(out_shape, x.dtype());
  if (r == 0) {
    out.fill_(0.0);
    return out;
  }
  dispatch_floating(x.dtype(), "sum", [&]<typename T>() {
    kernels::cpu::sum_axis<T>(x.data<T>(), out.data<T>(), outer, r, inner);
  });
  return out;
}

// Sums `axes` (normalised, ascending) without autograd; keeps them as size 1.
Tensor sum_axes_keep(const Tensor& x, const std::set<int>& axes) {
  Tensor t = x.contiguous();
  for (int axis : axes) t = sum_one_axis(t, axis);
  return t;
}

Shape drop_axes(const Shape& shape, const std::set<int>& axes) {
  Shape out;
  for (int i = 0; i < static_cast<int>(shape.size()); ++i) {
    if (!axes.count(i)) out.push_back(shape[i]);
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x) {
  ops_detail::check_defined(x, "sum", "input");
  std::vector<int> axes(x.ndim());
  for (int i = 0; i < x.ndim(); ++i) axes[i] = i;
  return sum(x, axes, false);
}

Tensor sum(const Tensor& x, const std::vector<int>& axes_in, bool keepdims) {
  ops_detail::check_defined(x, "sum", "input");
  std::set<int> axes;
  for (int a : axes_in) axes.insert(normalize_axis(a, x.ndim(), "sum"));
  Tensor kept = dispatch_floating(x.dtype(), "sum", [&]<typename T>() { return sum_axes_keep(x, axes); });
  Tensor out = keepdims ? kept : kept.reshape(drop_axes(x.shape(), axes));
  if (autograd::needs_grad({&x})) {
    const Shape kept_shape = kept.shape(), in_shape = x.shape();
    autograd::record(out, "sum", {x}, [kept_shape, in_shape](const Tensor& g) -> std::vector<Tensor> {
      return {broadcast_to(g.reshape(kept_shape), in_shape)};
    });
  }
  return out;
}

Tensor mean(const Tensor& x) {
  ops_detail::check_defined(x, "mean", "input");
  if (x.numel() == 0) throw Error("mean: input of shape " + shape_str(x.shape()) + " has no elements");
  return sum(x) / static_cast<double>(x.numel());
}

Tensor mean(const Tensor& x, const std::vector<int>& axes, bool keepdims) {
  ops_detail::check_defined(x, "mean", "input");
  std::set<int> unique;
  for (int a : axes) unique.insert(normalize_axis(a, x.ndim(), "mean"));
  std::int64_t count = 1;
  for (int a : unique) count *= x.shape()[a];
  if (count == 0) throw Error("mean: reducing over an empty axis of shape " + shape_str(x.shape()));
  return sum(x, axes, keepdims) / static_cast<double>(count);
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  ops_detail::check_defined(x, "sum_to", "input");
  if (x.shape() == shape) return x;
  const int lead = x.ndim() - static_cast<int>(shape.size());
  if (lead < 0) {
    throw Error("sum_to: cannot reduce shape " + shape_str(x.shape()) + " to the larger shape " + shape_str(shape));
  }
  std::vector<int> axes;
  for (int i = 0; i < x.ndim(); ++i) {
    if (i < lead) {
      axes.push_back(i);
    } else if (shape[i - lead] == 1 && x.shape()[i] != 1) {
      axes.push_back(i);
    } else if (shape[i - lead] != x.shape()[i]) {
      throw Error("sum_to: shape " + shape_str(x.shape()) + " does not broadcast from " + shape_str(shape));
    }
  }
  return reshape(sum(x, axes, true), shape);
}

Tensor broadcast_to(const Tensor& x, const Shape& shape) {
  ops_detail::check_defined(x, "broadcast_to", "input");
  if (x.shape() == shape) return x;
  if (broadcast_shapes(x.shape(), shape, "broadcast_to") != shape) {
    throw Error("broadcast_to: cannot broadcast " + shape_str(x.shape()) + " to " + shape_str(shape));
  }
  // A stride-0 view of x, materialised by the strided copy.
  const int n = static_cast<int>(shape.size()), lead = n - x.ndim();
  std::vector<std::int64_t> strides(n, 0);
  for (int i = lead; i < n; ++i) strides[i] = x.shape()[i - lead] == 1 ? 0 : x.strides()[i - lead];
  Tensor out = Tensor::empty(shape, x.dtype());
  kernels::cpu::strided_copy(x.raw_data(), x.dtype(), shape.data(), strides.data(), n, out.raw_data(), x.dtype());
  if (autograd::needs_grad({&x})) {
    const Shape in_shape = x.shape();
    autograd::record(out, "broadcast_to", {x},
                     [in_shape](const Tensor& g) -> std::vector<Tensor> { return {sum_to(g, in_shape)}; });
  }
  return out;
}

Tensor argmax(const Tensor& x, int axis) {
  ops_detail::check_defined(x, "argmax", "input");
  const int a = normalize_axis(axis, x.ndim(), "argmax");
  const Tensor in = x.contiguous();
  std::int64_t outer = 1, inner = 1;
  for (int i = 0; i < a; ++i) outer *= x.shape()[i];
  for (int i = a + 1; i < x.ndim(); ++i) inner *= x.shape()[i];
  Shape out_shape = x.shape();
  out_shape.erase(out_shape.begin() + a);
  Tensor out = Tensor::empty(out_shape, DType::Int64);
  if (x.shape()[a] == 0) throw Error("argmax: axis " + std::to_string(axis) + " is empty in " + shape_str(x.shape()));
  dispatch_floating(x.dtype(), "argmax", [&]<typename T>() {
    kernels::cpu::argmax_axis<T>(in.data<T>(), out.data<std::int64_t>(), outer, x.shape()[a], inner);
  });
  return out;
}

}  // namespace kiln
