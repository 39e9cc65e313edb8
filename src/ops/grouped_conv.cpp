#include "kiln/ops/grouped_conv.hpp"

#include "kernels/cpu/depthwise_conv2d.hpp"
#include "kiln/ops.hpp"
#include "ops/geometry.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {

Tensor grouped_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& params,
                      std::int64_t groups) {
  ops_detail::check_defined(x, "grouped_conv2d", "input");
  ops_detail::check_defined(w, "grouped_conv2d", "kernel");
  if (groups < 1) throw Error("grouped_conv2d: groups must be positive, got " + std::to_string(groups));
  if (groups == 1) return conv2d(x, w, b, params);
  ops_detail::check_ndim(x, 4, "grouped_conv2d", "input", "[batch, height, width, channels]");
  ops_detail::check_ndim(w, 4, "grouped_conv2d", "kernel", "[kh, kw, in_channels / groups, filters]");
  const std::int64_t channels = x.size(3), filters = w.size(3);
  if (channels % groups != 0 || filters % groups != 0 || w.size(2) != channels / groups) {
    throw Error("grouped_conv2d: with " + std::to_string(groups) + " groups the input channels (" +
                std::to_string(channels) + ") and filters (" + std::to_string(filters) +
                ") must be multiples of groups and the kernel must be [kh, kw, " +
                (channels % groups == 0 ? std::to_string(channels / groups) : std::string("C / groups")) +
                ", filters], got input " + shape_str(x.shape()) + " and kernel " + shape_str(w.shape()));
  }
  const std::int64_t in_per_group = channels / groups, out_per_group = filters / groups;
  std::vector<Tensor> outputs;
  outputs.reserve(static_cast<std::size_t>(groups));
  for (std::int64_t g = 0; g < groups; ++g) {
    const Tensor bias = b.defined() ? narrow(b, 0, g * out_per_group, out_per_group) : Tensor();
    outputs.push_back(conv2d(narrow(x, 3, g * in_per_group, in_per_group),
                             narrow(w, 3, g * out_per_group, out_per_group), bias, params));
  }
  return concat(outputs, 3);
}

// A kernel of its own: as conv2d per channel (grouped_conv2d with groups = C) it spent its time
// on per-channel copies and primitive calls, several times slower than a full Conv2D.
Tensor depthwise_conv2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const Conv2dParams& params) {
  ops_detail::check_defined(x_in, "depthwise_conv2d", "input");
  ops_detail::check_defined(w_in, "depthwise_conv2d", "kernel");
  ops_detail::check_ndim(x_in, 4, "depthwise_conv2d", "input", "[batch, height, width, channels]");
  ops_detail::check_ndim(w_in, 4, "depthwise_conv2d", "kernel", "[kh, kw, channels, depth_multiplier]");
  ops_detail::check_same_dtype(x_in, w_in, "depthwise_conv2d");
  if (w_in.size(2) != x_in.size(3)) {
    throw Error("depthwise_conv2d: input has " + std::to_string(x_in.size(3)) + " channels (shape " +
                shape_str(x_in.shape()) + ") but the kernel expects " + std::to_string(w_in.size(2)) +
                " (kernel shape " + shape_str(w_in.shape()) + ")");
  }
  const kernels::cpu::Conv2dGeometry g = ops_detail::conv2d_geometry(x_in, w_in, params);  // g.O = M
  const std::int64_t CM = g.C * g.O;
  if (b_in.defined()) {
    ops_detail::check_same_dtype(x_in, b_in, "depthwise_conv2d");
    if (b_in.ndim() != 1 || b_in.size(0) != CM) {
      throw Error("depthwise_conv2d: bias must have shape [" + std::to_string(CM) + "], got " +
                  shape_str(b_in.shape()));
    }
  }
  const Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const Tensor b = b_in.defined() ? b_in.contiguous() : Tensor();
  Tensor y = Tensor::empty({g.N, g.OH, g.OW, CM}, x.dtype());
  ops_detail::dispatch_floating(x.dtype(), "depthwise_conv2d", [&]<typename T>() {
    kernels::cpu::depthwise_conv2d_forward<T>(x.data<T>(), w.data<T>(), b.defined() ? b.data<T>() : nullptr,
                                              y.data<T>(), g);
  });
  if (autograd::needs_grad({&x_in, &w_in, &b_in})) {
    const Tensor xd = x.detach(), wd = w.detach();
    const bool need_x = x_in.requires_grad(), need_w = w_in.requires_grad();
    const bool need_b = b_in.defined() && b_in.requires_grad();
    autograd::record(y, "depthwise_conv2d", {x_in, w_in, b_in},
                     [xd, wd, g, need_x, need_w, need_b](const Tensor& gy_in) -> std::vector<Tensor> {
                       const Tensor gy = gy_in.contiguous();
                       Tensor gx, gw, gb;
                       if (need_x) gx = Tensor::empty(xd.shape(), gy.dtype());
                       if (need_w || need_b) gw = Tensor::empty(wd.shape(), gy.dtype());
                       if (need_b) gb = Tensor::empty({g.C * g.O}, gy.dtype());
                       ops_detail::dispatch_floating(gy.dtype(), "depthwise_conv2d", [&]<typename T>() {
                         if (need_x)
                           kernels::cpu::depthwise_conv2d_backward_data<T>(gy.data<T>(), wd.data<T>(), gx.data<T>(), g);
                         if (need_w || need_b) {
                           kernels::cpu::depthwise_conv2d_backward_weights<T>(xd.data<T>(), gy.data<T>(), gw.data<T>(),
                                                                              need_b ? gb.data<T>() : nullptr, g);
                         }
                       });
                       return {gx, need_w ? gw : Tensor(), gb};
                     });
  }
  return y;
}

}  // namespace kiln
