// 2-D convolution, channels last (see kernels/cpu/conv2d.hpp for the layout).
#include "kernels/cpu/bias_grad.hpp"
#include "kernels/cpu/conv2d.hpp"
#include "kernels/cpu/elementwise.hpp"
#include "ops/conv_common.hpp"
#include "ops/geometry.hpp"
#include "ops/mixed_precision.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {
namespace {

using kernels::cpu::Conv2dGeometry;
using ops_detail::dispatch_floating;

}  // namespace

namespace ops_detail {

Tensor conv2d_compute(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dGeometry& g, bool relu,
                      ComputeType compute) {
  Tensor y = Tensor::empty({g.N, g.OH, g.OW, g.O}, x.dtype());
  if (g.N == 0) return y;
  if (runs_bf16(x.dtype(), compute)) {
    kernels::cpu::conv2d_forward_bf16(x.data<float>(), w.data<float>(), b.defined() ? b.data<float>() : nullptr,
                                      y.data<float>(), g, relu);
    return y;
  }
  dispatch_floating(x.dtype(), "conv2d", [&]<typename T>() {
    const T* bias = b.defined() ? b.data<T>() : nullptr;
    if constexpr (std::is_same_v<T, float>) {
      kernels::cpu::conv2d_forward(x.data<float>(), w.data<float>(), bias, y.data<float>(), g, relu);
    } else {
      kernels::cpu::conv2d_forward_reference<T>(x.data<T>(), w.data<T>(), bias, y.data<T>(), g);
      if (relu) kernels::cpu::unary<T>(kernels::cpu::Unary::Relu, y.data<T>(), y.data<T>(), y.numel());
    }
  });
  return y;
}

void conv2d_grads(const Tensor& gz, const Tensor& x, const Tensor& w, const Conv2dGeometry& g, Tensor* gx, Tensor* gw,
                  ComputeType compute) {
  if (gx) *gx = Tensor::empty(x.shape(), x.dtype());
  if (gw) *gw = Tensor::empty(w.shape(), w.dtype());
  if (g.N == 0) {
    if (gx) gx->fill_(0.0);
    if (gw) gw->fill_(0.0);
    return;
  }
  if (runs_bf16(gz.dtype(), compute)) {
    kernels::cpu::conv2d_backward_bf16(x.data<float>(), gz.data<float>(), w.data<float>(),
                                       gx ? gx->data<float>() : nullptr, gw ? gw->data<float>() : nullptr, g);
    return;
  }
  dispatch_floating(gz.dtype(), "conv2d", [&]<typename T>() {
    if constexpr (std::is_same_v<T, float>) {
      if (gx) kernels::cpu::conv2d_backward_data(gz.data<T>(), w.data<T>(), gx->data<T>(), g);
      if (gw) kernels::cpu::conv2d_backward_weights(x.data<T>(), gz.data<T>(), gw->data<T>(), g);
    } else {
      if (gx) kernels::cpu::conv2d_backward_data_reference<T>(gz.data<T>(), w.data<T>(), gx->data<T>(), g);
      if (gw) kernels::cpu::conv2d_backward_weights_reference<T>(x.data<T>(), gz.data<T>(), gw->data<T>(), nullptr, g);
    }
  });
}

void check_conv_bias(const Tensor& x, const Tensor& b, const Conv2dGeometry& g) {
  if (!b.defined()) return;
  check_same_dtype(x, b, "conv2d");
  if (b.ndim() != 1 || b.size(0) != g.O) {
    throw Error("conv2d: bias must have shape [" + std::to_string(g.O) + "], got " + shape_str(b.shape()));
  }
}

}  // namespace ops_detail

Tensor conv2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const Conv2dParams& params) {
  ops_detail::check_defined(x_in, "conv2d", "input");
  ops_detail::check_defined(w_in, "conv2d", "kernel");
  ops_detail::check_same_dtype(x_in, w_in, "conv2d");
  const Conv2dGeometry g = ops_detail::conv2d_geometry(x_in, w_in, params);
  ops_detail::check_conv_bias(x_in, b_in, g);
  const bool relu = params.relu;
  const ComputeType compute = params.compute;
  const Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const Tensor b = b_in.defined() ? b_in.contiguous() : Tensor();
  Tensor y = ops_detail::conv2d_compute(x, w, b, g, relu, compute);
  if (autograd::needs_grad({&x_in, &w_in, &b_in})) {
    const Tensor xd = x.detach(), wd = w.detach();
    const Tensor yd = relu ? y.detach() : Tensor();
    const bool need_x = x_in.requires_grad(), need_w = w_in.requires_grad();
    const bool need_b = b_in.defined() && b_in.requires_grad();
    autograd::record(y, relu ? "conv2d_relu" : "conv2d", {x_in, w_in, b_in},
                     [xd, wd, yd, g, relu, compute, need_x, need_w,
                      need_b](const Tensor& gy_in) -> std::vector<Tensor> {
                       const Tensor gy = gy_in.contiguous();
                       Tensor gx, gw, gb;
                       if (need_b) gb = Tensor::empty({g.O}, gy.dtype());
                       // The gradient at the pre-activation, and the bias gradient, in one pass.
                       Tensor gz = relu ? Tensor::empty(gy.shape(), gy.dtype()) : gy;
                       if (relu || need_b) {
                         dispatch_floating(gy.dtype(), "conv2d", [&]<typename T>() {
                           kernels::cpu::activation_bias_backward<T>(
                               relu ? yd.data<T>() : nullptr, gy.data<T>(), relu ? gz.data<T>() : nullptr,
                               need_b ? gb.data<T>() : nullptr, g.N * g.OH * g.OW, g.O, relu);
                         });
                       }
                       ops_detail::conv2d_grads(gz, xd, wd, g, need_x ? &gx : nullptr, need_w ? &gw : nullptr, compute);
                       return {gx, gw, gb};
                     });
  }
  return y;
}

}  // namespace kiln
