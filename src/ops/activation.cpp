// Activation functions. Their backward passes use what the forward kept:
// relu the input, sigmoid and tanh the output.
#include "kernels/cpu/elementwise.hpp"
#include "kernels/cpu/softmax.hpp"
#include "ops/logits.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {
namespace {

using ops_detail::dispatch_floating;

template <typename Forward>
Tensor elementwise(const Tensor& x, const char* name, Forward forward) {
  ops_detail::check_defined(x, name, "input");
  const Tensor in = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), name, [&]<typename T>() { forward(in.data<T>(), out.data<T>(), x.numel()); });
  return out;
}

}  // namespace

Tensor relu(const Tensor& x) {
  Tensor out = elementwise(x, "relu", []<typename T>(const T* in, T* y, std::int64_t n) {
    kernels::cpu::unary<T>(kernels::cpu::Unary::Relu, in, y, n);
  });
  if (autograd::needs_grad({&x})) {
    const Tensor od = out.detach();  // relu(x) > 0 exactly where x > 0
    autograd::record(out, "relu", {x}, [od](const Tensor& g) -> std::vector<Tensor> {
      const Tensor gc = g.contiguous();
      Tensor gx = Tensor::empty(g.shape(), g.dtype());
      dispatch_floating(g.dtype(), "relu", [&]<typename T>() {
        kernels::cpu::relu_backward<T>(od.data<T>(), gc.data<T>(), gx.data<T>(), g.numel());
      });
      return {gx};
    });
  }
  return out;
}

Tensor leaky_relu(const Tensor& x, double slope) {
  ops_detail::check_defined(x, "leaky_relu", "input");
  const Tensor in = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "leaky_relu", [&]<typename T>() {
    kernels::cpu::leaky_relu<T>(in.data<T>(), out.data<T>(), x.numel(), static_cast<T>(slope));
  });
  if (autograd::needs_grad({&x})) {
    const Tensor xd = in.detach();
    autograd::record(out, "leaky_relu", {x}, [xd, slope](const Tensor& g) -> std::vector<Tensor> {
      const Tensor gc = g.contiguous();
      Tensor gx = Tensor::empty(g.shape(), g.dtype());
      dispatch_floating(g.dtype(), "leaky_relu", [&]<typename T>() {
        kernels::cpu::leaky_relu_backward<T>(xd.data<T>(), gc.data<T>(), gx.data<T>(), g.numel(),
                                             static_cast<T>(slope));
      });
      return {gx};
    });
  }
  return out;
}

Tensor sigmoid(const Tensor& x) {
  Tensor out = elementwise(x, "sigmoid", []<typename T>(const T* in, T* y, std::int64_t n) {
    kernels::cpu::unary<T>(kernels::cpu::Unary::Sigmoid, in, y, n);
  });
  if (autograd::needs_grad({&x})) {
    const Tensor od = out.detach();
    autograd::record(out, "sigmoid", {x}, [od](const Tensor& g) -> std::vector<Tensor> {
      const Tensor gc = g.contiguous();
      Tensor gx = Tensor::empty(g.shape(), g.dtype());
      dispatch_floating(g.dtype(), "sigmoid", [&]<typename T>() {
        kernels::cpu::sigmoid_backward<T>(od.data<T>(), gc.data<T>(), gx.data<T>(), g.numel());
      });
      return {gx};
    });
  }
  ops_detail::attach_logits(out, x, LogitsOf::Sigmoid);
  return out;
}

Tensor tanh(const Tensor& x) {
  Tensor out = elementwise(x, "tanh", []<typename T>(const T* in, T* y, std::int64_t n) {
    kernels::cpu::unary<T>(kernels::cpu::Unary::Tanh, in, y, n);
  });
  if (autograd::needs_grad({&x})) {
    const Tensor od = out.detach();
    autograd::record(out, "tanh", {x}, [od](const Tensor& g) -> std::vector<Tensor> {
      const Tensor gc = g.contiguous();
      Tensor gx = Tensor::empty(g.shape(), g.dtype());
      dispatch_floating(g.dtype(), "tanh", [&]<typename T>() {
        kernels::cpu::tanh_backward<T>(od.data<T>(), gc.data<T>(), gx.data<T>(), g.numel());
      });
      return {gx};
    });
  }
  return out;
}

namespace {

void check_last_axis(const Tensor& x, int axis, const char* name) {
  ops_detail::check_defined(x, name, "input");
  if (x.ndim() == 0) throw Error(std::string(name) + ": input must have at least one dimension");
  if (normalize_axis(axis, x.ndim(), name) != x.ndim() - 1) {
    throw Error(std::string(name) + ": only the last axis is supported (got axis " + std::to_string(axis) +
                " for shape " + shape_str(x.shape()) + "); transpose the axis to the end first");
  }
}

}  // namespace

Tensor softmax(const Tensor& x, int axis) {
  check_last_axis(x, axis, "softmax");
  const Tensor in = x.contiguous();
  const std::int64_t cols = x.size(-1), rows = cols ? x.numel() / cols : 0;
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "softmax", [&]<typename T>() {
    kernels::cpu::softmax<T>(in.data<T>(), out.data<T>(), rows, cols);
  });
  if (autograd::needs_grad({&x})) {
    const Tensor od = out.detach();
    autograd::record(out, "softmax", {x}, [od, rows, cols](const Tensor& g) -> std::vector<Tensor> {
      const Tensor gc = g.contiguous();
      Tensor gx = Tensor::empty(g.shape(), g.dtype());
      dispatch_floating(g.dtype(), "softmax", [&]<typename T>() {
        kernels::cpu::softmax_backward<T>(od.data<T>(), gc.data<T>(), gx.data<T>(), rows, cols);
      });
      return {gx};
    });
  }
  ops_detail::attach_logits(out, x, LogitsOf::Softmax);
  return out;
}

Tensor log_softmax(const Tensor& x, int axis) {
  check_last_axis(x, axis, "log_softmax");
  const Tensor in = x.contiguous();
  const std::int64_t cols = x.size(-1), rows = cols ? x.numel() / cols : 0;
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "log_softmax", [&]<typename T>() {
    kernels::cpu::log_softmax<T>(in.data<T>(), out.data<T>(), rows, cols);
  });
  if (autograd::needs_grad({&x})) {
    const Tensor od = out.detach();
    autograd::record(out, "log_softmax", {x}, [od, rows, cols](const Tensor& g) -> std::vector<Tensor> {
      const Tensor gc = g.contiguous();
      Tensor gx = Tensor::empty(g.shape(), g.dtype());
      dispatch_floating(g.dtype(), "log_softmax", [&]<typename T>() {
        kernels::cpu::log_softmax_backward<T>(od.data<T>(), gc.data<T>(), gx.data<T>(), rows, cols);
      });
      return {gx};
    });
  }
  return out;
}

}  // namespace kiln
