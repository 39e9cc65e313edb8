// Batch normalisation, channels last (see kernels/cpu/batch_norm.hpp for the
// formulas). Both variants keep only x and the per-channel vectors for the
// backward pass; x-hat is recomputed there rather than stored.
#include <cmath>
#include <memory>

#include "kernels/cpu/batch_norm.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {
namespace {

using ops_detail::dispatch_floating;

struct Rows {
  std::int64_t M, C;
};

Rows rows_of(const Tensor& x, const char* op) {
  ops_detail::check_defined(x, op, "input");
  if (x.ndim() < 2) {
    throw Error(std::string(op) + ": input must be [batch, ..., channels] (at least 2 dimensions), got shape " +
                shape_str(x.shape()));
  }
  const std::int64_t C = x.size(-1);
  return {C > 0 ? x.numel() / C : 0, C};
}

void check_channel_vector(const Tensor& t, const Tensor& x, std::int64_t C, const char* op, const char* what,
                          bool optional) {
  if (!t.defined()) {
    if (optional) return;
    throw Error(std::string(op) + ": " + what + " is undefined");
  }
  ops_detail::check_same_dtype(x, t, op);
  if (t.ndim() != 1 || t.size(0) != C) {
    throw Error(std::string(op) + ": " + what + " must have shape [" + std::to_string(C) + "] (the input's channels), got " +
                shape_str(t.shape()));
  }
}

void check_epsilon(double epsilon, const char* op) {
  if (!(epsilon >= 0.0) || !std::isfinite(epsilon)) {
    throw Error(std::string(op) + ": epsilon must be a finite non-negative number, got " + std::to_string(epsilon));
  }
}

// 1 / sqrt(var + epsilon), a new [C] tensor.
Tensor inverse_std(const Tensor& var, double epsilon) {
  Tensor out = Tensor::empty(var.shape(), var.dtype());
  dispatch_floating(var.dtype(), "batch_norm", [&]<typename T>() {
    const T* v = var.data<T>();
    T* o = out.data<T>();
    for (std::int64_t c = 0; c < var.numel(); ++c) o[c] = T(1) / std::sqrt(v[c] + static_cast<T>(epsilon));
  });
  return out;
}

template <typename T>
const T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// The shared backward: sums, then the input gradient, and (in inference
// mode) the gradients of the given mean and variance.
// Synchronized statistics (see batch_norm_training): the function that sums over processes,
// and this process's share of the global batch's rows.
struct Synchronized {
  SumOverProcesses sum;
  double share = 1.0;
};

std::vector<Tensor> backward(const Tensor& gy_in, const Tensor& x, const Tensor& mean, const Tensor& inv_std,
                             const Tensor& gamma, Rows r, bool batch_statistics, bool need_x, bool need_gamma,
                             bool need_beta, bool need_mean, bool need_var, const Synchronized* sync = nullptr) {
  const Tensor gy = gy_in.contiguous();
  Tensor sum_dy = Tensor::empty({r.C}, gy.dtype()), sum_dy_xhat = Tensor::empty({r.C}, gy.dtype());
  Tensor gx, gmean, gvar;
  dispatch_floating(gy.dtype(), "batch_norm", [&]<typename T>() {
    kernels::cpu::batch_norm_backward_sums<T>(x.data<T>(), gy.data<T>(), mean.data<T>(), inv_std.data<T>(),
                                              sum_dy.data<T>(), sum_dy_xhat.data<T>(), r.M, r.C);
    // This process's loss is its rows' mean, weighted by `share` in the global one, so the global
    // sums are the share-weighted sums of every process; divided by the local row count they are
    // the terms the global input gradient needs, rescaled to this process's loss (M = share x N).
    // All processes sum even where none needs x's gradient, so that none waits alone.
    const T* input_sum_dy = sum_dy.data<T>();
    const T* input_sum_dy_xhat = sum_dy_xhat.data<T>();
    std::vector<T> global_sums;
    if (sync && batch_statistics) {
      std::vector<double> sums(static_cast<std::size_t>(2 * r.C));
      for (std::int64_t c = 0; c < r.C; ++c) {
        sums[c] = sync->share * double(sum_dy.data<T>()[c]);
        sums[r.C + c] = sync->share * double(sum_dy_xhat.data<T>()[c]);
      }
      sync->sum(sums);
      global_sums.assign(sums.begin(), sums.end());
      input_sum_dy = global_sums.data();
      input_sum_dy_xhat = global_sums.data() + r.C;
    }
    if (need_x) {
      gx = Tensor::empty(x.shape(), gy.dtype());
      kernels::cpu::batch_norm_backward_input<T>(x.data<T>(), gy.data<T>(), mean.data<T>(), inv_std.data<T>(),
                                                 data_or_null<T>(gamma), input_sum_dy, input_sum_dy_xhat, gx.data<T>(),
                                                 r.M, r.C, batch_statistics);
    }
    // d/dmean = -gamma * inv_std * sum(dy);  d/dvar = -gamma * inv_std^2 * sum(dy * xhat) / 2.
    if (need_mean || need_var) {
      gmean = Tensor::empty({r.C}, gy.dtype());
      gvar = Tensor::empty({r.C}, gy.dtype());
      const T* g = data_or_null<T>(gamma);
      for (std::int64_t c = 0; c < r.C; ++c) {
        const T k = (g ? g[c] : T(1)) * inv_std.data<T>()[c];
        gmean.data<T>()[c] = -k * sum_dy.data<T>()[c];
        gvar.data<T>()[c] = T(-0.5) * k * inv_std.data<T>()[c] * sum_dy_xhat.data<T>()[c];
      }
    }
  });
  std::vector<Tensor> grads{gx};
  if (!batch_statistics) {
    grads.push_back(need_mean ? gmean : Tensor());
    grads.push_back(need_var ? gvar : Tensor());
  }
  grads.push_back(need_gamma ? sum_dy_xhat : Tensor());
  grads.push_back(need_beta ? sum_dy : Tensor());
  return grads;
}

Tensor normalize(const Tensor& x, const Tensor& mean, const Tensor& inv_std, const Tensor& gamma, const Tensor& beta,
                 Rows r) {
  Tensor y = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "batch_norm", [&]<typename T>() {
    kernels::cpu::batch_norm_forward<T>(x.data<T>(), mean.data<T>(), inv_std.data<T>(), data_or_null<T>(gamma),
                                        data_or_null<T>(beta), y.data<T>(), r.M, r.C);
  });
  return y;
}

Tensor contiguous_or_undefined(const Tensor& t) { return t.defined() ? t.contiguous().detach() : Tensor(); }

}  // namespace

Tensor batch_norm_training(const Tensor& x_in, const Tensor& gamma_in, const Tensor& beta_in, double epsilon,
                           Tensor* batch_mean, Tensor* batch_var, const SumOverProcesses& sum_over_processes) {
  const char* op = "batch_norm_training";
  const Rows r = rows_of(x_in, op);
  check_channel_vector(gamma_in, x_in, r.C, op, "gamma", true);
  check_channel_vector(beta_in, x_in, r.C, op, "beta", true);
  check_epsilon(epsilon, op);
  if (r.M == 0) throw Error(std::string(op) + ": the batch is empty (input shape " + shape_str(x_in.shape()) + ")");
  const Tensor x = x_in.contiguous().detach();
  const Tensor gamma = contiguous_or_undefined(gamma_in), beta = contiguous_or_undefined(beta_in);
  Tensor mean = Tensor::empty({r.C}, x.dtype()), var = Tensor::empty({r.C}, x.dtype());
  std::shared_ptr<Synchronized> sync;
  dispatch_floating(x.dtype(), op, [&]<typename T>() {
    if (!sum_over_processes) {
      kernels::cpu::batch_norm_statistics<T>(x.data<T>(), r.M, r.C, mean.data<T>(), var.data<T>());
      return;
    }
    // The same two passes over the global batch: sums and the row count, then squared deviations
    // from the global mean.
    std::vector<double> sums(static_cast<std::size_t>(r.C + 1)), squares(static_cast<std::size_t>(r.C));
    kernels::cpu::batch_norm_channel_sums<T>(x.data<T>(), r.M, r.C, sums.data());
    sums[r.C] = double(r.M);
    sum_over_processes(sums);
    const double rows = sums[r.C];
    for (std::int64_t c = 0; c < r.C; ++c) sums[c] /= rows;
    kernels::cpu::batch_norm_squared_deviations<T>(x.data<T>(), sums.data(), r.M, r.C, squares.data());
    sum_over_processes(squares);
    for (std::int64_t c = 0; c < r.C; ++c) {
      mean.data<T>()[c] = static_cast<T>(sums[c]);
      var.data<T>()[c] = static_cast<T>(squares[c] / rows);
    }
    sync = std::make_shared<Synchronized>(Synchronized{sum_over_processes, double(r.M) / rows});
  });
  const Tensor inv_std = inverse_std(var, epsilon);
  Tensor y = normalize(x, mean, inv_std, gamma, beta, r);
  if (batch_mean) *batch_mean = mean;
  if (batch_var) *batch_var = var;
  if (autograd::needs_grad({&x_in, &gamma_in, &beta_in})) {
    const bool need_x = x_in.requires_grad();
    const bool need_gamma = gamma_in.defined() && gamma_in.requires_grad();
    const bool need_beta = beta_in.defined() && beta_in.requires_grad();
    autograd::record(y, "batch_norm_training", {x_in, gamma_in, beta_in},
                     [x, mean, inv_std, gamma, r, need_x, need_gamma, need_beta, sync](const Tensor& gy) {
                       return backward(gy, x, mean, inv_std, gamma, r, true, need_x, need_gamma, need_beta, false,
                                       false, sync.get());
                     });
  }
  return y;
}

Tensor batch_norm_inference(const Tensor& x_in, const Tensor& mean_in, const Tensor& var_in, const Tensor& gamma_in,
                            const Tensor& beta_in, double epsilon) {
  const char* op = "batch_norm_inference";
  const Rows r = rows_of(x_in, op);
  check_channel_vector(mean_in, x_in, r.C, op, "mean", false);
  check_channel_vector(var_in, x_in, r.C, op, "variance", false);
  check_channel_vector(gamma_in, x_in, r.C, op, "gamma", true);
  check_channel_vector(beta_in, x_in, r.C, op, "beta", true);
  check_epsilon(epsilon, op);
  const Tensor x = x_in.contiguous().detach(), mean = mean_in.contiguous().detach();
  const Tensor gamma = contiguous_or_undefined(gamma_in), beta = contiguous_or_undefined(beta_in);
  const Tensor inv_std = inverse_std(var_in.contiguous(), epsilon);
  Tensor y = normalize(x, mean, inv_std, gamma, beta, r);
  if (autograd::needs_grad({&x_in, &mean_in, &var_in, &gamma_in, &beta_in})) {
    const bool need_x = x_in.requires_grad(), need_mean = mean_in.requires_grad(), need_var = var_in.requires_grad();
    const bool need_gamma = gamma_in.defined() && gamma_in.requires_grad();
    const bool need_beta = beta_in.defined() && beta_in.requires_grad();
    autograd::record(y, "batch_norm_inference", {x_in, mean_in, var_in, gamma_in, beta_in},
                     [x, mean, inv_std, gamma, r, need_x, need_gamma, need_beta, need_mean, need_var](const Tensor& gy) {
                       return backward(gy, x, mean, inv_std, gamma, r, false, need_x, need_gamma, need_beta, need_mean,
                                       need_var);
                     });
  }
  return y;
}

}  // namespace kiln
