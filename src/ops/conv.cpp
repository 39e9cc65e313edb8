// 2-D convolution, channels last (see kernels/cpu/conv2d.hpp for the layout).
#include "kernels/cpu/bias_grad.hpp"
#include "kernels/cpu/conv2d.hpp"
#include "kernels/cpu/elementwise.hpp"
#include "ops/op_helpers.hpp"
#include "ops/padding.hpp"

namespace kiln {
namespace {

using kernels::cpu::Conv2dGeometry;
using ops_detail::dispatch_floating;

Conv2dGeometry geometry(const Tensor& x, const Tensor& w, const Conv2dParams& p) {
  ops_detail::check_ndim(x, 4, "conv2d", "input", "[batch, height, width, channels]");
  ops_detail::check_ndim(w, 4, "conv2d", "kernel", "[kh, kw, in_channels, filters]");
  if (x.size(3) != w.size(2)) {
    throw Error("conv2d: input has " + std::to_string(x.size(3)) + " channels (shape " + shape_str(x.shape()) +
                ") but the kernel expects " + std::to_string(w.size(2)) + " (kernel shape " + shape_str(w.shape()) +
                ")");
  }
  if (p.dilation_h < 1 || p.dilation_w < 1) throw Error("conv2d: dilation rates must be positive");
  Conv2dGeometry g{};
  g.N = x.size(0), g.H = x.size(1), g.W = x.size(2), g.C = x.size(3);
  g.KH = w.size(0), g.KW = w.size(1), g.O = w.size(3);
  g.stride_h = p.stride_h, g.stride_w = p.stride_w;
  g.dilation_h = p.dilation_h, g.dilation_w = p.dilation_w;
  const auto wh = ops_detail::window_1d(g.H, (g.KH - 1) * g.dilation_h + 1, g.stride_h, p.padding, "conv2d");
  const auto ww = ops_detail::window_1d(g.W, (g.KW - 1) * g.dilation_w + 1, g.stride_w, p.padding, "conv2d");
  g.OH = wh.out, g.OW = ww.out;
  g.pad_top = wh.pad_before, g.pad_bottom = wh.pad_after;
  g.pad_left = ww.pad_before, g.pad_right = ww.pad_after;
  return g;
}

}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const Conv2dParams& params) {
  ops_detail::check_defined(x_in, "conv2d", "input");
  ops_detail::check_defined(w_in, "conv2d", "kernel");
  ops_detail::check_same_dtype(x_in, w_in, "conv2d");
  const Conv2dGeometry g = geometry(x_in, w_in, params);
  if (b_in.defined()) {
    ops_detail::check_same_dtype(x_in, b_in, "conv2d");
    if (b_in.ndim() != 1 || b_in.size(0) != g.O) {
      throw Error("conv2d: bias must have shape [" + std::to_string(g.O) + "], got " + shape_str(b_in.shape()));
    }
  }
  const bool relu = params.relu;
  const Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const Tensor b = b_in.defined() ? b_in.contiguous() : Tensor();
  Tensor y = Tensor::empty({g.N, g.OH, g.OW, g.O}, x.dtype());
  if (g.N > 0) {
    dispatch_floating(x.dtype(), "conv2d", [&]<typename T>() {
      const T* bias = b.defined() ? b.data<T>() : nullptr;
      if constexpr (std::is_same_v<T, float>) {
        kernels::cpu::conv2d_forward(x.data<float>(), w.data<float>(), bias, y.data<float>(), g, relu);
      } else {
        kernels::cpu::conv2d_forward_reference<T>(x.data<T>(), w.data<T>(), bias, y.data<T>(), g);
        if (relu) kernels::cpu::unary<T>(kernels::cpu::Unary::Relu, y.data<T>(), y.data<T>(), y.numel());
      }
    });
  }
  if (autograd::needs_grad({&x_in, &w_in, &b_in})) {
    const Tensor xd = x.detach(), wd = w.detach();
    const Tensor yd = relu ? y.detach() : Tensor();
    const bool need_x = x_in.requires_grad(), need_w = w_in.requires_grad();
    const bool need_b = b_in.defined() && b_in.requires_grad();
    autograd::record(
        y, relu ? "conv2d_relu" : "conv2d", {x_in, w_in, b_in},
        [xd, wd, yd, g, relu, need_x, need_w, need_b](const Tensor& gy_in) -> std::vector<Tensor> {
          const Tensor gy = gy_in.contiguous();
          Tensor gx, gw, gb;
          if (need_x) gx = Tensor::empty(xd.shape(), xd.dtype());
          if (need_w) gw = Tensor::empty(wd.shape(), wd.dtype());
          if (need_b) gb = Tensor::empty({g.O}, wd.dtype());
          if (g.N == 0) {
            for (Tensor* t : {&gx, &gw, &gb}) {
              if (t->defined()) t->fill_(0.0);
            }
            return {gx, gw, gb};
          }
          dispatch_floating(gy.dtype(), "conv2d", [&]<typename T>() {
            // The gradient at the pre-activation, and the bias gradient, in one pass.
            Tensor gz = relu ? Tensor::empty(gy.shape(), gy.dtype()) : gy;
            if (relu || need_b) {
              kernels::cpu::activation_bias_backward<T>(relu ? yd.data<T>() : nullptr, gy.data<T>(),
                                                        relu ? gz.data<T>() : nullptr,
                                                        need_b ? gb.data<T>() : nullptr, g.N * g.OH * g.OW, g.O, relu);
            }
            if constexpr (std::is_same_v<T, float>) {
              if (need_x) kernels::cpu::conv2d_backward_data(gz.data<T>(), wd.data<T>(), gx.data<T>(), g);
              if (need_w) kernels::cpu::conv2d_backward_weights(xd.data<T>(), gz.data<T>(), gw.data<T>(), g);
            } else {
              if (need_x) kernels::cpu::conv2d_backward_data_reference<T>(gz.data<T>(), wd.data<T>(), gx.data<T>(), g);
              if (need_w) {
                kernels::cpu::conv2d_backward_weights_reference<T>(xd.data<T>(), gz.data<T>(), gw.data<T>(), nullptr,
                                                                   g);
              }
            }
          });
          return {gx, gw, gb};
        });
  }
  return y;
}

}  // namespace kiln
