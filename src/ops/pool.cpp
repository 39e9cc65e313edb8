// 2-D max and average pooling, channels last.
#include "kernels/cpu/pool2d.hpp"
#include "ops/op_helpers.hpp"
#include "ops/geometry.hpp"

namespace kiln {
namespace {

using kernels::cpu::Pool2dGeometry;
using ops_detail::dispatch_floating;

}  // namespace

Tensor max_pool2d(const Tensor& x_in, const Pool2dParams& params) {
  ops_detail::check_defined(x_in, "max_pool2d", "input");
  const Pool2dGeometry g = ops_detail::pool2d_geometry(x_in.shape(), params, "max_pool2d");
  const Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty({g.N, g.OH, g.OW, g.C}, x.dtype());
  const bool grad = autograd::needs_grad({&x_in});
  Tensor argmax = grad ? Tensor::empty(y.shape(), DType::Int32) : Tensor();
  dispatch_floating(x.dtype(), "max_pool2d", [&]<typename T>() {
    kernels::cpu::max_pool2d_forward<T>(x.data<T>(), y.data<T>(), grad ? argmax.data<std::int32_t>() : nullptr, g);
  });
  if (grad) {
    const Shape in_shape = x.shape();
    autograd::record(y, "max_pool2d", {x_in}, [argmax, g, in_shape](const Tensor& gy_in) -> std::vector<Tensor> {
      const Tensor gy = gy_in.contiguous();
      Tensor gx = Tensor::empty(in_shape, gy.dtype());
      dispatch_floating(gy.dtype(), "max_pool2d", [&]<typename T>() {
        kernels::cpu::max_pool2d_backward<T>(gy.data<T>(), argmax.data<std::int32_t>(), gx.data<T>(), g);
      });
      return {gx};
    });
  }
  return y;
}

Tensor avg_pool2d(const Tensor& x_in, const Pool2dParams& params) {
  ops_detail::check_defined(x_in, "avg_pool2d", "input");
  const Pool2dGeometry g = ops_detail::pool2d_geometry(x_in.shape(), params, "avg_pool2d");
  const Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty({g.N, g.OH, g.OW, g.C}, x.dtype());
  dispatch_floating(x.dtype(), "avg_pool2d", [&]<typename T>() {
    kernels::cpu::avg_pool2d_forward<T>(x.data<T>(), y.data<T>(), g);
  });
  if (autograd::needs_grad({&x_in})) {
    const Shape in_shape = x.shape();
    autograd::record(y, "avg_pool2d", {x_in}, [g, in_shape](const Tensor& gy_in) -> std::vector<Tensor> {
      const Tensor gy = gy_in.contiguous();
      Tensor gx = Tensor::empty(in_shape, gy.dtype());
      dispatch_floating(gy.dtype(), "avg_pool2d", [&]<typename T>() {
        kernels::cpu::avg_pool2d_backward<T>(gy.data<T>(), gx.data<T>(), g);
      });
      return {gx};
    });
  }
  return y;
}

}  // namespace kiln
