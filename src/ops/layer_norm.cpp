// Layer normalisation over the last axis, fused: the backward needs only the
// input and each row's mean and reciprocal standard deviation.
#include "kernels/cpu/layer_norm.hpp"
#include "kiln/ops/normalization.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {

Tensor layer_norm(const Tensor& x_in, const Tensor& gamma_in, const Tensor& beta_in, double epsilon) {
  const char* op = "layer_norm";
  ops_detail::check_defined(x_in, op, "input");
  if (x_in.ndim() < 1) throw Error(std::string(op) + ": input must have at least one dimension");
  const std::int64_t D = x_in.size(-1), rows = D ? x_in.numel() / D : 0;
  for (const Tensor* p : {&gamma_in, &beta_in}) {
    if (!p->defined()) continue;
    ops_detail::check_same_dtype(x_in, *p, op);
    if (p->shape() != Shape{D}) {
      throw Error(std::string(op) + ": " + (p == &gamma_in ? "gamma" : "beta") + " must have shape [" +
                  std::to_string(D) + "] for input " + shape_str(x_in.shape()) + ", got " + shape_str(p->shape()));
    }
  }
  if (!(epsilon > 0)) throw Error(std::string(op) + ": epsilon must be positive, got " + std::to_string(epsilon));
  const Tensor x = x_in.contiguous();
  const Tensor gamma = gamma_in.defined() ? gamma_in.contiguous() : Tensor();
  const Tensor beta = beta_in.defined() ? beta_in.contiguous() : Tensor();
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  Tensor mean = Tensor::empty({rows}, x.dtype()), rstd = Tensor::empty({rows}, x.dtype());
  ops_detail::dispatch_floating(x.dtype(), op, [&]<typename T>() {
    kernels::cpu::layer_norm_forward<T>(x.data<T>(), gamma.defined() ? gamma.data<T>() : nullptr,
                                        beta.defined() ? beta.data<T>() : nullptr, y.data<T>(), mean.data<T>(),
                                        rstd.data<T>(), rows, D, static_cast<T>(epsilon));
  });
  if (autograd::needs_grad({&x_in, &gamma_in, &beta_in})) {
    const Tensor xd = x.detach(), gd = gamma.defined() ? gamma.detach() : Tensor();
    const bool need_x = x_in.requires_grad();
    const bool need_gamma = gamma_in.defined() && gamma_in.requires_grad();
    const bool need_beta = beta_in.defined() && beta_in.requires_grad();
    autograd::record(y, op, {x_in, gamma_in, beta_in},
                     [xd, gd, mean, rstd, rows, D, need_x, need_gamma, need_beta](const Tensor& g_in)
                         -> std::vector<Tensor> {
                       const Tensor g = g_in.contiguous();
                       Tensor gx = need_x ? Tensor::empty(xd.shape(), g.dtype()) : Tensor();
                       Tensor ggamma = need_gamma ? Tensor::empty({D}, g.dtype()) : Tensor();
                       Tensor gbeta = need_beta ? Tensor::empty({D}, g.dtype()) : Tensor();
                       ops_detail::dispatch_floating(g.dtype(), "layer_norm", [&]<typename T>() {
                         kernels::cpu::layer_norm_backward<T>(
                             xd.data<T>(), gd.defined() ? gd.data<T>() : nullptr, mean.data<T>(), rstd.data<T>(),
                             g.data<T>(), need_x ? gx.data<T>() : nullptr, need_gamma ? ggamma.data<T>() : nullptr,
                             need_beta ? gbeta.data<T>() : nullptr, rows, D);
                       });
                       return {gx, ggamma, gbeta};
                     });
  }
  return y;
}

}  // namespace kiln
