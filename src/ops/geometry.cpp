#include "ops/geometry.hpp"

#include "ops/op_helpers.hpp"
#include "ops/padding.hpp"

namespace kiln::ops_detail {

kernels::cpu::Conv2dGeometry conv2d_geometry(const Tensor& x, const Tensor& w, const Conv2dParams& p) {
  check_ndim(x, 4, "conv2d", "input", "[batch, height, width, channels]");
  check_ndim(w, 4, "conv2d", "kernel", "[kh, kw, in_channels, filters]");
  if (x.size(3) != w.size(2)) {
    throw Error("conv2d: input has " + std::to_string(x.size(3)) + " channels (shape " + shape_str(x.shape()) +
                ") but the kernel expects " + std::to_string(w.size(2)) + " (kernel shape " + shape_str(w.shape()) +
                ")");
  }
  if (p.dilation_h < 1 || p.dilation_w < 1) throw Error("conv2d: dilation rates must be positive");
  kernels::cpu::Conv2dGeometry g{};
  g.N = x.size(0), g.H = x.size(1), g.W = x.size(2), g.C = x.size(3);
  g.KH = w.size(0), g.KW = w.size(1), g.O = w.size(3);
  g.stride_h = p.stride_h, g.stride_w = p.stride_w;
  g.dilation_h = p.dilation_h, g.dilation_w = p.dilation_w;
  const auto wh = window_1d(g.H, (g.KH - 1) * g.dilation_h + 1, g.stride_h, p.padding, "conv2d");
  const auto ww = window_1d(g.W, (g.KW - 1) * g.dilation_w + 1, g.stride_w, p.padding, "conv2d");
  g.OH = wh.out, g.OW = ww.out;
  g.pad_top = wh.pad_before, g.pad_bottom = wh.pad_after;
  g.pad_left = ww.pad_before, g.pad_right = ww.pad_after;
  return g;
}

kernels::cpu::Pool2dGeometry pool2d_geometry(const Shape& x, const Pool2dParams& p, const char* op) {
  if (x.size() != 4) {
    throw Error(std::string(op) + ": input must have 4 dimensions [batch, height, width, channels], got shape " +
                shape_str(x));
  }
  if (p.pool_h < 1 || p.pool_w < 1) throw Error(std::string(op) + ": pool size must be positive");
  kernels::cpu::Pool2dGeometry g{};
  g.N = x[0], g.H = x[1], g.W = x[2], g.C = x[3];
  g.KH = p.pool_h, g.KW = p.pool_w, g.stride_h = p.stride_h, g.stride_w = p.stride_w;
  const auto wh = window_1d(g.H, g.KH, g.stride_h, p.padding, op);
  const auto ww = window_1d(g.W, g.KW, g.stride_w, p.padding, op);
  g.OH = wh.out, g.OW = ww.out, g.pad_top = wh.pad_before, g.pad_left = ww.pad_before;
  return g;
}

}  // namespace kiln::ops_detail
