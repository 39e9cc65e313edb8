// Transposed 2-D convolution, channels last. The op runs conv2d backwards:
// with G the geometry of the convolution that maps the transposed output
// [N, OH, OW, O] to the input [N, H, W, C],
//   forward:       y  = conv2d_backward_data(x, w; G) + b
//   input grad:    gx = conv2d_forward(gy, w; G)
//   kernel grad:   gw = conv2d_backward_weights(gy, x; G)
// so the fast float32 path is oneDNN's convolution, and float64 the reference loops.
#include "kernels/cpu/bias_grad.hpp"
#include "kernels/cpu/conv2d.hpp"
#include "ops/op_helpers.hpp"
#include "ops/padding.hpp"

namespace kiln {
namespace {

using kernels::cpu::Conv2dGeometry;
using ops_detail::dispatch_floating;

Conv2dGeometry transpose_geometry(const Tensor& x, const Tensor& w, const Conv2dTransposeParams& p) {
  ops_detail::check_ndim(x, 4, "conv2d_transpose", "input", "[batch, height, width, channels]");
  ops_detail::check_ndim(w, 4, "conv2d_transpose", "kernel", "[kh, kw, filters, in_channels]");
  if (x.size(3) != w.size(3)) {
    throw Error("conv2d_transpose: input has " + std::to_string(x.size(3)) + " channels (shape " +
                shape_str(x.shape()) + ") but the kernel expects " + std::to_string(w.size(3)) + " (kernel shape " +
                shape_str(w.shape()) + ", [kh, kw, filters, in_channels])");
  }
  if (p.dilation_h < 1 || p.dilation_w < 1) throw Error("conv2d_transpose: dilation rates must be positive");
  Conv2dGeometry g{};
  // The convolution this op is the transpose of: its output is our input.
  g.N = x.size(0), g.OH = x.size(1), g.OW = x.size(2), g.O = x.size(3);
  g.KH = w.size(0), g.KW = w.size(1), g.C = w.size(2);
  g.stride_h = p.stride_h, g.stride_w = p.stride_w;
  g.dilation_h = p.dilation_h, g.dilation_w = p.dilation_w;
  g.H = conv2d_transpose_output_length(g.OH, g.KH, g.stride_h, g.dilation_h, p.padding);
  g.W = conv2d_transpose_output_length(g.OW, g.KW, g.stride_w, g.dilation_w, p.padding);
  const auto wh = ops_detail::window_1d(g.H, (g.KH - 1) * g.dilation_h + 1, g.stride_h, p.padding, "conv2d_transpose");
  const auto ww = ops_detail::window_1d(g.W, (g.KW - 1) * g.dilation_w + 1, g.stride_w, p.padding, "conv2d_transpose");
  if (wh.out != g.OH || ww.out != g.OW) {  // cannot happen for the lengths above; guards the arithmetic
    throw Error("conv2d_transpose: internal size mismatch for input " + shape_str(x.shape()));
  }
  g.pad_top = wh.pad_before, g.pad_bottom = wh.pad_after;
  g.pad_left = ww.pad_before, g.pad_right = ww.pad_after;
  return g;
}

}  // namespace

std::int64_t conv2d_transpose_output_length(std::int64_t input_length, std::int64_t kernel, std::int64_t stride,
                                            std::int64_t dilation, const std::string& padding) {
  if (stride < 1) throw Error("conv2d_transpose: strides must be positive, got " + std::to_string(stride));
  if (kernel < 1) throw Error("conv2d_transpose: kernel size must be positive, got " + std::to_string(kernel));
  const std::int64_t k = (kernel - 1) * dilation + 1;
  if (padding == "valid") return input_length * stride + std::max<std::int64_t>(k - stride, 0);
  if (padding == "same") return input_length * stride;
  throw Error("conv2d_transpose: padding must be \"valid\" or \"same\", got \"" + padding + "\"");
}

Tensor conv2d_transpose(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const Conv2dTransposeParams& p) {
  ops_detail::check_defined(x_in, "conv2d_transpose", "input");
  ops_detail::check_defined(w_in, "conv2d_transpose", "kernel");
  ops_detail::check_same_dtype(x_in, w_in, "conv2d_transpose");
  const Conv2dGeometry g = transpose_geometry(x_in, w_in, p);
  if (b_in.defined()) {
    ops_detail::check_same_dtype(x_in, b_in, "conv2d_transpose");
    if (b_in.ndim() != 1 || b_in.size(0) != g.C) {
      throw Error("conv2d_transpose: bias must have shape [" + std::to_string(g.C) + "], got " +
                  shape_str(b_in.shape()));
    }
  }
  const Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const Tensor b = b_in.defined() ? b_in.contiguous() : Tensor();
  Tensor y = Tensor::empty({g.N, g.H, g.W, g.C}, x.dtype());
  if (g.N > 0) {
    dispatch_floating(x.dtype(), "conv2d_transpose", [&]<typename T>() {
      if constexpr (std::is_same_v<T, float>) {
        kernels::cpu::conv2d_backward_data(x.data<float>(), w.data<float>(), y.data<float>(), g);
      } else {
        kernels::cpu::conv2d_backward_data_reference<T>(x.data<T>(), w.data<T>(), y.data<T>(), g);
      }
      if (b.defined()) kernels::cpu::add_bias<T>(y.data<T>(), b.data<T>(), g.N * g.H * g.W, g.C);
    });
  }
  if (autograd::needs_grad({&x_in, &w_in, &b_in})) {
    const Tensor xd = x.detach(), wd = w.detach();
    const bool need_x = x_in.requires_grad(), need_w = w_in.requires_grad();
    const bool need_b = b_in.defined() && b_in.requires_grad();
    autograd::record(y, "conv2d_transpose", {x_in, w_in, b_in},
                     [xd, wd, g, need_x, need_w, need_b](const Tensor& gy_in) -> std::vector<Tensor> {
                       const Tensor gy = gy_in.contiguous();
                       Tensor gx, gw, gb;
                       if (need_x) gx = Tensor::empty(xd.shape(), gy.dtype());
                       if (need_w) gw = Tensor::empty(wd.shape(), gy.dtype());
                       if (need_b) gb = Tensor::empty({g.C}, gy.dtype());
                       if (g.N == 0) {
                         for (Tensor* t : {&gx, &gw, &gb}) {
                           if (t->defined()) t->fill_(0.0);
                         }
                         return {gx, gw, gb};
                       }
                       dispatch_floating(gy.dtype(), "conv2d_transpose", [&]<typename T>() {
                         if constexpr (std::is_same_v<T, float>) {
                           if (need_x) kernels::cpu::conv2d_forward(gy.data<T>(), wd.data<T>(), nullptr, gx.data<T>(), g);
                           if (need_w) kernels::cpu::conv2d_backward_weights(gy.data<T>(), xd.data<T>(), gw.data<T>(), g);
                         } else {
                           if (need_x) {
                             kernels::cpu::conv2d_forward_reference<T>(gy.data<T>(), wd.data<T>(), nullptr,
                                                                       gx.data<T>(), g);
                           }
                           if (need_w) {
                             kernels::cpu::conv2d_backward_weights_reference<T>(gy.data<T>(), xd.data<T>(),
                                                                                gw.data<T>(), nullptr, g);
                           }
                         }
                         if (need_b) {
                           kernels::cpu::activation_bias_backward<T>(nullptr, gy.data<T>(), nullptr, gb.data<T>(),
                                                                     g.N * g.H * g.W, g.C, false);
                         }
                       });
                       return {gx, gw, gb};
                     });
  }
  return y;
}

}  // namespace kiln
