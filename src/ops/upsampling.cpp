// Nearest-neighbour upsampling (see kernels/cpu/upsample2d.hpp for the layout).
#include "kernels/cpu/upsample2d.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {

Tensor upsample2d_nearest(const Tensor& x_in, std::int64_t size_h, std::int64_t size_w) {
  ops_detail::check_defined(x_in, "upsample2d_nearest", "input");
  ops_detail::check_ndim(x_in, 4, "upsample2d_nearest", "input", "[batch, height, width, channels]");
  if (size_h < 1 || size_w < 1) {
    throw Error("upsample2d_nearest: sizes must be positive, got (" + std::to_string(size_h) + ", " +
                std::to_string(size_w) + ")");
  }
  const kernels::cpu::Upsample2dGeometry g{x_in.size(0), x_in.size(1), x_in.size(2), x_in.size(3), size_h, size_w};
  const Tensor x = x_in.contiguous();
  Tensor y = Tensor::empty({g.N, g.H * g.SH, g.W * g.SW, g.C}, x.dtype());
  ops_detail::dispatch_floating(x.dtype(), "upsample2d_nearest", [&]<typename T>() {
    kernels::cpu::upsample2d_nearest_forward<T>(x.data<T>(), y.data<T>(), g);
  });
  if (autograd::needs_grad({&x_in})) {
    autograd::record(y, "upsample2d_nearest", {x_in}, [g](const Tensor& gy_in) -> std::vector<Tensor> {
      const Tensor gy = gy_in.contiguous();
      Tensor gx = Tensor::empty({g.N, g.H, g.W, g.C}, gy.dtype());
      ops_detail::dispatch_floating(gy.dtype(), "upsample2d_nearest", [&]<typename T>() {
        kernels::cpu::upsample2d_nearest_backward<T>(gy.data<T>(), gx.data<T>(), g);
      });
      return {gx};
    });
  }
  return y;
}

}  // namespace kiln
