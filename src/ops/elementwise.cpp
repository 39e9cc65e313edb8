// Elementwise arithmetic with broadcasting, and the unary math functions.
#include <cmath>

#include "kernels/cpu/elementwise.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {
namespace {

using kernels::cpu::Binary;
using kernels::cpu::Unary;
using ops_detail::dispatch_floating;

// Each input's strides as seen from the broadcast output shape (0 on broadcast axes).
std::vector<std::int64_t> broadcast_strides(const Tensor& t, const Shape& out) {
  const int n = static_cast<int>(out.size()), offset = n - t.ndim();
  std::vector<std::int64_t> strides(n, 0);
  for (int i = offset; i < n; ++i) {
    const int j = i - offset;
    strides[i] = (t.shape()[j] == 1 && out[i] != 1) ? 0 : t.strides()[j];
  }
  return strides;
}

Tensor binary_forward(Binary op, const Tensor& a, const Tensor& b, const char* name) {
  ops_detail::check_defined(a, name, "left operand");
  ops_detail::check_defined(b, name, "right operand");
  ops_detail::check_same_dtype(a, b, name);
  const Shape shape = broadcast_shapes(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(shape, a.dtype());
  const auto as = broadcast_strides(a, shape), bs = broadcast_strides(b, shape);
  dispatch_floating(a.dtype(), name, [&]<typename T>() {
    kernels::cpu::binary<T>(op, a.data<T>(), as.data(), b.data<T>(), bs.data(), shape.data(),
                            static_cast<int>(shape.size()), out.data<T>());
  });
  return out;
}

Tensor unary_forward(Unary op, const Tensor& x, const char* name) {
  ops_detail::check_defined(x, name, "input");
  const Tensor in = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), name, [&]<typename T>() {
    kernels::cpu::unary<T>(op, in.data<T>(), out.data<T>(), x.numel());
  });
  return out;
}

// Gradient that survives broadcasting: summed back to the input's shape.
Tensor reduce_for(const Tensor& g, const Tensor& input) { return sum_to(g, input.shape()); }

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(Binary::Add, a, b, "add");
  if (autograd::needs_grad({&a, &b})) {
    autograd::record(out, "add", {a, b}, [a, b](const Tensor& g) -> std::vector<Tensor> {
      return {reduce_for(g, a), reduce_for(g, b)};
    });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(Binary::Sub, a, b, "sub");
  if (autograd::needs_grad({&a, &b})) {
    autograd::record(out, "sub", {a, b}, [a, b](const Tensor& g) -> std::vector<Tensor> {
      return {reduce_for(g, a), b.requires_grad() ? reduce_for(neg(g), b) : Tensor()};
    });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(Binary::Mul, a, b, "mul");
  if (autograd::needs_grad({&a, &b})) {
    const Tensor ad = a.detach(), bd = b.detach();
    autograd::record(out, "mul", {a, b}, [a, b, ad, bd](const Tensor& g) -> std::vector<Tensor> {
      return {a.requires_grad() ? reduce_for(g * bd, a) : Tensor(),
              b.requires_grad() ? reduce_for(g * ad, b) : Tensor()};
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(Binary::Div, a, b, "div");
  if (autograd::needs_grad({&a, &b})) {
    const Tensor ad = a.detach(), bd = b.detach();
    autograd::record(out, "div", {a, b}, [a, b, ad, bd](const Tensor& g) -> std::vector<Tensor> {
      return {a.requires_grad() ? reduce_for(g / bd, a) : Tensor(),
              b.requires_grad() ? reduce_for(neg(g * ad / (bd * bd)), b) : Tensor()};
    });
  }
  return out;
}

Tensor pow(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(Binary::Pow, a, b, "pow");
  if (autograd::needs_grad({&a, &b})) {
    const Tensor ad = a.detach(), bd = b.detach(), od = out.detach();
    autograd::record(out, "pow", {a, b}, [a, b, ad, bd, od](const Tensor& g) -> std::vector<Tensor> {
      return {a.requires_grad() ? reduce_for(g * bd * pow(ad, bd - 1.0), a) : Tensor(),
              b.requires_grad() ? reduce_for(g * od * log(ad), b) : Tensor()};
    });
  }
  return out;
}

Tensor pow(const Tensor& a, double exponent) { return pow(a, ops_detail::scalar_like(a, exponent)); }

namespace {
// Gradient of maximum/minimum goes to the operand that was selected (the
// left one on ties, as a mask a >= b or a <= b).
Tensor select_grad(const Tensor& g, const Tensor& a, const Tensor& b, Binary op, bool left) {
  Tensor mask = binary_forward(Binary::Sub, a, b, "maximum");
  Tensor m = Tensor::empty(mask.shape(), mask.dtype());
  dispatch_floating(mask.dtype(), "maximum", [&]<typename T>() {
    const T* d = mask.data<T>();
    T* out = m.data<T>();
    for (std::int64_t i = 0; i < mask.numel(); ++i) {
      const bool a_wins = op == Binary::Maximum ? d[i] >= T(0) : d[i] <= T(0);
      out[i] = (a_wins == left) ? T(1) : T(0);
    }
  });
  return g * m;
}
}  // namespace

Tensor maximum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(Binary::Maximum, a, b, "maximum");
  if (autograd::needs_grad({&a, &b})) {
    const Tensor ad = a.detach(), bd = b.detach();
    autograd::record(out, "maximum", {a, b}, [a, b, ad, bd](const Tensor& g) -> std::vector<Tensor> {
      return {reduce_for(select_grad(g, ad, bd, Binary::Maximum, true), a),
              reduce_for(select_grad(g, ad, bd, Binary::Maximum, false), b)};
    });
  }
  return out;
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(Binary::Minimum, a, b, "minimum");
  if (autograd::needs_grad({&a, &b})) {
    const Tensor ad = a.detach(), bd = b.detach();
    autograd::record(out, "minimum", {a, b}, [a, b, ad, bd](const Tensor& g) -> std::vector<Tensor> {
      return {reduce_for(select_grad(g, ad, bd, Binary::Minimum, true), a),
              reduce_for(select_grad(g, ad, bd, Binary::Minimum, false), b)};
    });
  }
  return out;
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, double b) { return affine(a, 1.0, b); }
Tensor operator-(const Tensor& a, double b) { return affine(a, 1.0, -b); }
Tensor operator*(const Tensor& a, double b) { return affine(a, b, 0.0); }
Tensor operator/(const Tensor& a, double b) { return affine(a, 1.0 / b, 0.0); }
Tensor operator+(double a, const Tensor& b) { return affine(b, 1.0, a); }
Tensor operator-(double a, const Tensor& b) { return affine(b, -1.0, a); }
Tensor operator*(double a, const Tensor& b) { return affine(b, a, 0.0); }
Tensor operator/(double a, const Tensor& b) { return div(ops_detail::scalar_like(b, a), b); }

Tensor affine(const Tensor& x, double alpha, double beta) {
  ops_detail::check_defined(x, "affine", "input");
  const Tensor in = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  dispatch_floating(x.dtype(), "affine", [&]<typename T>() {
    kernels::cpu::affine<T>(in.data<T>(), out.data<T>(), x.numel(), static_cast<T>(alpha), static_cast<T>(beta));
  });
  if (autograd::needs_grad({&x})) {
    autograd::record(out, "affine", {x},
                     [alpha](const Tensor& g) -> std::vector<Tensor> { return {affine(g, alpha, 0.0)}; });
  }
  return out;
}

Tensor neg(const Tensor& x) {
  Tensor out = unary_forward(Unary::Neg, x, "neg");
  if (autograd::needs_grad({&x})) {
    autograd::record(out, "neg", {x}, [](const Tensor& g) -> std::vector<Tensor> { return {neg(g)}; });
  }
  return out;
}

Tensor exp(const Tensor& x) {
  Tensor out = unary_forward(Unary::Exp, x, "exp");
  if (autograd::needs_grad({&x})) {
    const Tensor od = out.detach();
    autograd::record(out, "exp", {x}, [od](const Tensor& g) -> std::vector<Tensor> { return {g * od}; });
  }
  return out;
}

Tensor log(const Tensor& x) {
  Tensor out = unary_forward(Unary::Log, x, "log");
  if (autograd::needs_grad({&x})) {
    const Tensor xd = x.detach();
    autograd::record(out, "log", {x}, [xd](const Tensor& g) -> std::vector<Tensor> { return {g / xd}; });
  }
  return out;
}

Tensor sqrt(const Tensor& x) {
  Tensor out = unary_forward(Unary::Sqrt, x, "sqrt");
  if (autograd::needs_grad({&x})) {
    const Tensor od = out.detach();
    autograd::record(out, "sqrt", {x},
                     [od](const Tensor& g) -> std::vector<Tensor> { return {g / (od * 2.0)}; });
  }
  return out;
}

Tensor abs(const Tensor& x) {
  Tensor out = unary_forward(Unary::Abs, x, "abs");
  if (autograd::needs_grad({&x})) {
    const Tensor xd = x.detach();
    autograd::record(out, "abs", {x}, [xd](const Tensor& g) -> std::vector<Tensor> {
      Tensor sign = Tensor::empty(xd.shape(), xd.dtype());
      const Tensor xc = xd.contiguous();
      dispatch_floating(xd.dtype(), "abs", [&]<typename T>() {
        const T* v = xc.data<T>();
        T* s = sign.data<T>();
        for (std::int64_t i = 0; i < xc.numel(); ++i) s[i] = v[i] > T(0) ? T(1) : (v[i] < T(0) ? T(-1) : T(0));
      });
      return {g * sign};
    });
  }
  return out;
}

Tensor square(const Tensor& x) {
  Tensor out = unary_forward(Unary::Square, x, "square");
  if (autograd::needs_grad({&x})) {
    const Tensor xd = x.detach();
    autograd::record(out, "square", {x}, [xd](const Tensor& g) -> std::vector<Tensor> { return {g * xd * 2.0}; });
  }
  return out;
}

Tensor clip(const Tensor& x, double low, double high) {
  ops_detail::check_defined(x, "clip", "input");
  if (!(low <= high)) {
    throw Error("clip: low (" + std::to_string(low) + ") must not exceed high (" + std::to_string(high) + ")");
  }
  const Tensor in = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), x.dtype());
  Tensor pass = Tensor::empty(x.shape(), x.dtype());  // 1 where the gradient flows
  dispatch_floating(x.dtype(), "clip", [&]<typename T>() {
    const T* v = in.data<T>();
    T* o = out.data<T>();
    T* p = pass.data<T>();
    const T lo = static_cast<T>(low), hi = static_cast<T>(high);
    for (std::int64_t i = 0; i < x.numel(); ++i) {
      o[i] = v[i] < lo ? lo : (v[i] > hi ? hi : v[i]);
      p[i] = (v[i] >= lo && v[i] <= hi) ? T(1) : T(0);
    }
  });
  if (autograd::needs_grad({&x})) {
    autograd::record(out, "clip", {x}, [pass](const Tensor& g) -> std::vector<Tensor> { return {g * pass}; });
  }
  return out;
}

Tensor to_float(const Tensor& x, double scale, DType dtype) {
  ops_detail::check_defined(x, "to_float", "input");
  if (!is_floating(dtype)) throw Error(std::string("to_float: target dtype must be floating, got ") + dtype_name(dtype));
  const Tensor in = x.contiguous();
  Tensor out = Tensor::empty(x.shape(), dtype);
  if (x.dtype() == DType::UInt8) {
    dispatch_floating(dtype, "to_float", [&]<typename T>() {
      kernels::cpu::convert_scaled<T>(in.data<std::uint8_t>(), out.data<T>(), x.numel(), static_cast<T>(scale));
    });
    return out;
  }
  Tensor converted = in.to(dtype);
  if (scale == 1.0) return converted;
  dispatch_floating(dtype, "to_float", [&]<typename T>() {
    kernels::cpu::affine<T>(converted.data<T>(), out.data<T>(), x.numel(), static_cast<T>(scale), T(0));
  });
  return out;
}

}  // namespace kiln
