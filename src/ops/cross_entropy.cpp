// Cross-entropy losses fused with their softmax or sigmoid, per sample.
// Fusing keeps them finite for any logits (log of a softmax never underflows
// to log 0) and makes the gradient the simple p - t.

#include "kernels/cpu/cross_entropy.hpp"

#include "kernels/cpu/softmax.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {
namespace {

using ops_detail::dispatch_floating;

void check_logits(const Tensor& logits, const char* op) {
  ops_detail::check_defined(logits, op, "logits");
  ops_detail::check_ndim(logits, 2, op, "logits", "[batch, classes]");
  if (logits.size(1) == 0) throw Error(std::string(op) + ": logits have zero classes");
}

}  // namespace

Tensor sparse_softmax_cross_entropy(const Tensor& logits_in, const Tensor& labels) {
  const char* op = "sparse_categorical_crossentropy";
  check_logits(logits_in, op);
  ops_detail::check_defined(labels, op, "labels");
  const std::int64_t N = logits_in.size(0), C = logits_in.size(1);
  if (labels.numel() != N || (labels.ndim() > 1 && !(labels.ndim() == 2 && labels.size(1) == 1))) {
    throw Error(std::string(op) + ": expected " + std::to_string(N) + " integer labels (shape [" + std::to_string(N) +
                "] or [" + std::to_string(N) + ", 1]), got shape " + shape_str(labels.shape()));
  }
  const std::vector<std::int64_t> ids = labels.to_vector<std::int64_t>();
  for (std::int64_t i = 0; i < N; ++i) {
    if (ids[i] < 0 || ids[i] >= C) {
      throw Error(std::string(op) + ": label " + std::to_string(ids[i]) + " at position " + std::to_string(i) +
                  " is outside [0, " + std::to_string(C) + ")");
    }
  }
  const Tensor logits = logits_in.contiguous();
  Tensor log_probs = Tensor::empty({N, C}, logits.dtype());
  Tensor loss = Tensor::empty({N}, logits.dtype());
  dispatch_floating(logits.dtype(), op, [&]<typename T>() {
    kernels::cpu::log_softmax<T>(logits.data<T>(), log_probs.data<T>(), N, C);
    const T* lp = log_probs.data<T>();
    T* l = loss.data<T>();
    for (std::int64_t i = 0; i < N; ++i) l[i] = -lp[i * C + ids[i]];
  });
  if (autograd::needs_grad({&logits_in})) {
    autograd::record(loss, op, {logits_in, labels}, [log_probs, ids, N, C](const Tensor& g_in) -> std::vector<Tensor> {
      const Tensor g = g_in.contiguous();
      Tensor gx = Tensor::empty({N, C}, g.dtype());
      dispatch_floating(g.dtype(), "sparse_categorical_crossentropy", [&]<typename T>() {
        kernels::cpu::sparse_softmax_cross_entropy_backward<T>(log_probs.data<T>(), ids.data(), g.data<T>(),
                                                               gx.data<T>(), N, C);
      });
      return {gx, Tensor()};
    });
  }
  return loss;
}

Tensor softmax_cross_entropy(const Tensor& logits_in, const Tensor& targets_in) {
  const char* op = "categorical_crossentropy";
  check_logits(logits_in, op);
  ops_detail::check_defined(targets_in, op, "targets");
  if (targets_in.shape() != logits_in.shape()) {
    throw Error(std::string(op) + ": targets of shape " + shape_str(targets_in.shape()) +
                " do not match predictions of shape " + shape_str(logits_in.shape()));
  }
  ops_detail::check_same_dtype(logits_in, targets_in, op);
  const std::int64_t N = logits_in.size(0), C = logits_in.size(1);
  const Tensor logits = logits_in.contiguous(), targets = targets_in.contiguous();
  Tensor log_probs = Tensor::empty({N, C}, logits.dtype());
  Tensor loss = Tensor::empty({N}, logits.dtype());
  dispatch_floating(logits.dtype(), op, [&]<typename T>() {
    kernels::cpu::log_softmax<T>(logits.data<T>(), log_probs.data<T>(), N, C);
    const T* lp = log_probs.data<T>();
    const T* t = targets.data<T>();
    T* l = loss.data<T>();
    for (std::int64_t i = 0; i < N; ++i) {
      T acc = T(0);
      for (std::int64_t c = 0; c < C; ++c) acc -= t[i * C + c] * lp[i * C + c];
      l[i] = acc;
    }
  });
  if (autograd::needs_grad({&logits_in, &targets_in})) {
    const bool need_logits = logits_in.requires_grad(), need_targets = targets_in.requires_grad();
    const Tensor td = targets.detach();
    autograd::record(loss, op, {logits_in, targets_in},
                     [log_probs, td, N, C, need_logits, need_targets](const Tensor& g_in) -> std::vector<Tensor> {
                       const Tensor g = g_in.contiguous();
                       Tensor gx, gt;
                       if (need_logits) gx = Tensor::empty({N, C}, g.dtype());
                       if (need_targets) gt = Tensor::empty({N, C}, g.dtype());
                       dispatch_floating(g.dtype(), "categorical_crossentropy", [&]<typename T>() {
                         kernels::cpu::softmax_cross_entropy_backward<T>(log_probs.data<T>(), td.data<T>(), g.data<T>(),
                                                                         need_logits ? gx.data<T>() : nullptr,
                                                                         need_targets ? gt.data<T>() : nullptr, N, C);
                       });
                       return {gx, gt};
                     });
  }
  return loss;
}

Tensor sigmoid_cross_entropy(const Tensor& logits_in, const Tensor& targets_in) {
  const char* op = "binary_crossentropy";
  ops_detail::check_defined(logits_in, op, "logits");
  ops_detail::check_defined(targets_in, op, "targets");
  ops_detail::check_same_dtype(logits_in, targets_in, op);
  if (targets_in.shape() != logits_in.shape()) {
    throw Error(std::string(op) + ": targets of shape " + shape_str(targets_in.shape()) +
                " do not match predictions of shape " + shape_str(logits_in.shape()));
  }
  const Tensor x = logits_in.contiguous(), t = targets_in.contiguous();
  Tensor loss = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), op, [&]<typename T>() {
    kernels::cpu::sigmoid_cross_entropy<T>(x.data<T>(), t.data<T>(), loss.data<T>(), x.numel());
  });
  if (autograd::needs_grad({&logits_in, &targets_in})) {
    const Tensor xd = x.detach(), td = t.detach();
    const bool need_x = logits_in.requires_grad(), need_t = targets_in.requires_grad();
    autograd::record(loss, op, {logits_in, targets_in},
                     [xd, td, need_x, need_t](const Tensor& g) -> std::vector<Tensor> {
                       return {need_x ? g * (sigmoid(xd) - td) : Tensor(), need_t ? neg(g * xd) : Tensor()};
                     });
  }
  return loss;
}

}  // namespace kiln
