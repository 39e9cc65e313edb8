// Keras 3's further activations: one op, parameterised by kind; the backward
// recomputes f'(x) from the saved input (kernels/cpu/activations.cpp).
#include <cmath>

#include "kernels/cpu/activations.hpp"
#include "kiln/autograd.hpp"
#include "kiln/error.hpp"
#include "kiln/ops/activations.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {
namespace {

using kernels::cpu::Activation;
using kernels::cpu::ActivationParams;
using ops_detail::dispatch_floating;

Tensor pointwise(const Tensor& x, Activation kind, const ActivationParams& params, const char* name) {
  ops_detail::check_defined(x, name, "input");
  const Tensor in = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), name, [&]<typename T>() {
    kernels::cpu::activation_forward<T>(kind, params, in.data<T>(), out.data<T>(), x.numel());
  });
  if (autograd::needs_grad({&x})) {
    const Tensor xd = in.detach();
    autograd::record(out, name, {x}, [xd, kind, params, name](const Tensor& g) -> std::vector<Tensor> {
      const Tensor gc = g.contiguous();
      Tensor gx = Tensor::empty(g.shape(), g.dtype());
      dispatch_floating(g.dtype(), name, [&]<typename T>() {
        kernels::cpu::activation_backward<T>(kind, params, xd.data<T>(), gc.data<T>(), gx.data<T>(), g.numel());
      });
      return {gx};
    });
  }
  return out;
}

}  // namespace

Tensor gelu(const Tensor& x, bool approximate) {
  return pointwise(x, approximate ? Activation::GeluTanh : Activation::Gelu, {}, "gelu");
}
Tensor silu(const Tensor& x) { return pointwise(x, Activation::Silu, {}, "silu"); }
Tensor elu(const Tensor& x, double alpha) {
  if (!std::isfinite(alpha)) throw Error("elu: alpha must be finite, got " + std::to_string(alpha));
  return pointwise(x, Activation::Elu, {.alpha = alpha}, "elu");
}
Tensor selu(const Tensor& x) { return pointwise(x, Activation::Selu, {}, "selu"); }
Tensor softplus(const Tensor& x) { return pointwise(x, Activation::Softplus, {}, "softplus"); }
Tensor softsign(const Tensor& x) { return pointwise(x, Activation::Softsign, {}, "softsign"); }
Tensor hard_sigmoid(const Tensor& x) { return pointwise(x, Activation::HardSigmoid, {}, "hard_sigmoid"); }
Tensor hard_silu(const Tensor& x) { return pointwise(x, Activation::HardSilu, {}, "hard_silu"); }
Tensor relu6(const Tensor& x) { return relu(x, 0.0, 6.0, 0.0); }
Tensor mish(const Tensor& x) { return pointwise(x, Activation::Mish, {}, "mish"); }
Tensor exponential(const Tensor& x) { return pointwise(x, Activation::Exponential, {}, "exponential"); }

Tensor relu(const Tensor& x, double negative_slope, double max_value, double threshold) {
  if (!std::isfinite(negative_slope) || negative_slope < 0) {
    throw Error("relu: negative_slope must be a finite non-negative number, got " + std::to_string(negative_slope));
  }
  if (!(max_value >= 0)) throw Error("relu: max_value must be non-negative, got " + std::to_string(max_value));
  if (!std::isfinite(threshold) || threshold < 0) {
    throw Error("relu: threshold must be a finite non-negative number, got " + std::to_string(threshold));
  }
  return pointwise(x, Activation::Relu, {.alpha = negative_slope, .max_value = max_value, .threshold = threshold},
                   "relu");
}

}  // namespace kiln
