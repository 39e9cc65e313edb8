// Convolution (+ReLU) followed by max pooling, as one op: what Conv2D then
// MaxPooling2D compute, without keeping the convolution's output.
//
// Backward, with p = the pooled output and gy its gradient:
//   mask and bias gradient on the pooled tensor (a quarter of the size): the
//   ReLU passes gradient where the window's maximum p > 0, and each window
//   sends its gradient to exactly one pixel, so sum(gz) = sum(masked gy);
//   then one pass writes gz, the masked gy at each window's argmax.
#include "kernels/cpu/bias_grad.hpp"
#include "kernels/cpu/pool2d.hpp"
#include "ops/conv_common.hpp"
#include "ops/geometry.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {

using ops_detail::dispatch_floating;

Tensor conv2d_max_pool2d(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, const Conv2dParams& conv,
                         const Pool2dParams& pool) {
  ops_detail::check_defined(x_in, "conv2d", "input");
  ops_detail::check_defined(w_in, "conv2d", "kernel");
  ops_detail::check_same_dtype(x_in, w_in, "conv2d");
  const auto cg = ops_detail::conv2d_geometry(x_in, w_in, conv);
  ops_detail::check_conv_bias(x_in, b_in, cg);
  const auto pg = ops_detail::pool2d_geometry({cg.N, cg.OH, cg.OW, cg.O}, pool, "max_pool2d");
  const Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const Tensor b = b_in.defined() ? b_in.contiguous() : Tensor();
  const bool grad = autograd::needs_grad({&x_in, &w_in, &b_in});

  Tensor pooled = Tensor::empty({pg.N, pg.OH, pg.OW, pg.C}, x.dtype());
  Tensor argmax = grad ? Tensor::empty(pooled.shape(), DType::Int32) : Tensor();
  std::int32_t* where = grad ? argmax.data<std::int32_t>() : nullptr;
  const bool fused_kernel =
      x.dtype() == DType::Float32 && cg.N > 0 &&
      kernels::cpu::conv2d_max_pool2d_small_channels(x.data<float>(), w.data<float>(),
                                                     b.defined() ? b.data<float>() : nullptr, pooled.data<float>(),
                                                     where, cg, pg, conv.relu);
  if (!fused_kernel) {
    const Tensor y =
        ops_detail::conv2d_compute(x, w, b, cg, conv.relu, conv.compute);  // freed at the end of this scope
    dispatch_floating(x.dtype(), "max_pool2d", [&]<typename T>() {
      kernels::cpu::max_pool2d_forward<T>(y.data<T>(), pooled.data<T>(), where, pg);
    });
  }
  if (grad) {
    const Tensor xd = x.detach(), wd = w.detach(), pd = pooled.detach();
    const bool relu = conv.relu, need_x = x_in.requires_grad(), need_w = w_in.requires_grad();
    const ComputeType compute = conv.compute;
    const bool need_b = b_in.defined() && b_in.requires_grad();
    autograd::record(
        pooled, "conv2d_max_pool2d", {x_in, w_in, b_in},
        [xd, wd, pd, argmax, cg, pg, relu, compute, need_x, need_w,
         need_b](const Tensor& gp_in) -> std::vector<Tensor> {
          const Tensor gp = gp_in.contiguous();
          Tensor gb = need_b ? Tensor::empty({cg.O}, gp.dtype()) : Tensor();
          Tensor gz = Tensor::empty({cg.N, cg.OH, cg.OW, cg.O}, gp.dtype());
          dispatch_floating(gp.dtype(), "conv2d_max_pool2d", [&]<typename T>() {
            Tensor masked = relu ? Tensor::empty(gp.shape(), gp.dtype()) : gp;
            if (relu || need_b) {
              kernels::cpu::activation_bias_backward<T>(relu ? pd.data<T>() : nullptr, gp.data<T>(),
                                                        relu ? masked.data<T>() : nullptr,
                                                        need_b ? gb.data<T>() : nullptr, pg.N * pg.OH * pg.OW, pg.C,
                                                        relu);
            }
            kernels::cpu::max_pool2d_backward<T>(masked.data<T>(), argmax.data<std::int32_t>(), gz.data<T>(), pg);
          });
          Tensor gx, gw;
          ops_detail::conv2d_grads(gz, xd, wd, cg, need_x ? &gx : nullptr, need_w ? &gw : nullptr, compute);
          return {gx, gw, gb};
        });
  }
  return pooled;
}

}  // namespace kiln
