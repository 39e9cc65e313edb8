// 2-D max and average pooling, channels last.
#include "kernels/cpu/pool2d.hpp"
#include "ops/op_helpers.hpp"
#include "ops/padding.hpp"

namespace kiln {
namespace {

using kernels::cpu::Pool2dGeometry;
using ops_detail::dispatch_floating;

Pool2dGeometry geometry(const Tensor& x, const Pool2dParams& p, const char* op) {
  ops_detail::check_ndim(x, 4, op, "input", "[batch, height, width, channels]");
  if (p.pool_h < 1 || p.pool_w < 1) throw Error(std::string(op) + ": pool size must be positive");
  Pool2dGeometry g{};
  g.N = x.size(0), g.H = x.size(1), g.W = x.size(2), g.C = x.size(3);
  g.KH = p.pool_h, g.KW = p.pool_w, g.stride_h = p.stride_h, g.stride_w = p.stride_w;
  const auto wh = ops_detail::window_1d(g.H, g.KH, g.stride_h, p.padding, op);
  const auto ww = ops_detail::window_1d(g.W, g.KW, g.stride_w, p.padding, op);
  g.OH = wh.out, g.OW = ww.out, g.pad_top = wh.pad_before, g.pad_left = ww.pad_before;
  return g;
}

}  // namespace

Tensor max_pool2d(const Tensor& x_in, const Pool2dParams& params) {
  ops_detail::check_defined(x_in, "max_pool2d", "input");
  const Pool2dGeometry g = geometry(x_in, params, "max_pool2d");
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
  const Pool2dGeometry g = geometry(x_in, params, "avg_pool2d");
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
