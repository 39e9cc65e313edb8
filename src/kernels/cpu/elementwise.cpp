#include "kernels/cpu/elementwise.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/fast_math.hpp"
#include "kernels/cpu/multiversion.hpp"
#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {
namespace {

template <typename T>
inline T apply(Binary op, T a, T b) {
  switch (op) {
    case Binary::Add: return a + b;
    case Binary::Sub: return a - b;
    case Binary::Mul: return a * b;
    case Binary::Div: return a / b;
    case Binary::Pow: return std::pow(a, b);
    case Binary::Maximum: return std::max(a, b);
    case Binary::Minimum: return std::min(a, b);
  }
  return T(0);
}

template <typename T, typename F>
void binary_loop(const T* a, std::int64_t sa, const T* b, std::int64_t sb, T* out, std::int64_t n, F f) {
  if (sa == 1 && sb == 1) {
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
  } else if (sa == 1 && sb == 0) {
    const T bv = b[0];
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(a[i], bv);
  } else if (sa == 0 && sb == 1) {
    const T av = a[0];
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(av, b[i]);
  } else {
    for (std::int64_t i = 0; i < n; ++i) out[i] = f(a[i * sa], b[i * sb]);
  }
}

template <typename T, typename F>
void binary_rows(const T* a, const std::int64_t* as, const T* b, const std::int64_t* bs, const std::int64_t* shape,
                 int ndim, T* out, F f) {
  const std::int64_t inner = shape[ndim - 1];
  std::int64_t rows = 1;
  for (int d = 0; d < ndim - 1; ++d) rows *= shape[d];
  parallel_for(rows, inner, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      // Decompose the row index into per-axis indices to find each input's offset.
      std::int64_t rest = row, ao = 0, bo = 0;
      for (int d = ndim - 2; d >= 0; --d) {
        const std::int64_t i = rest % shape[d];
        rest /= shape[d];
        ao += i * as[d];
        bo += i * bs[d];
      }
      binary_loop(a + ao, as[ndim - 1], b + bo, bs[ndim - 1], out + row * inner, inner, f);
    }
  });
}

}  // namespace

template <typename T>
void add(const T* a, const T* b, T* out, std::int64_t n) {
  parallel_for(n, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) out[i] = a[i] + b[i];
  });
}

template <typename T>
void binary(Binary op, const T* a, const std::int64_t* as, const T* b, const std::int64_t* bs,
            const std::int64_t* shape, int ndim, T* out) {
  if (ndim == 0) {
    out[0] = apply(op, a[0], b[0]);
    return;
  }
  switch (op) {
    case Binary::Add: binary_rows(a, as, b, bs, shape, ndim, out, [](T x, T y) { return x + y; }); break;
    case Binary::Sub: binary_rows(a, as, b, bs, shape, ndim, out, [](T x, T y) { return x - y; }); break;
    case Binary::Mul: binary_rows(a, as, b, bs, shape, ndim, out, [](T x, T y) { return x * y; }); break;
    case Binary::Div: binary_rows(a, as, b, bs, shape, ndim, out, [](T x, T y) { return x / y; }); break;
    default: binary_rows(a, as, b, bs, shape, ndim, out, [op](T x, T y) { return apply(op, x, y); }); break;
  }
}

// exp, log, sigmoid and tanh through fast_math.hpp's vector_* functions: on vector
// registers in float (within 3 ulp; the library functions take one value at a time,
// 10-20x slower per element), the library's own in double.
KILN_VECTOR_MATH_BEGIN
namespace {
template <typename T>
KILN_MULTIVERSION void exp_range(const T* x, T* y, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) y[i] = vector_exp(x[i]);
}
template <typename T>
KILN_MULTIVERSION void log_range(const T* x, T* y, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) y[i] = vector_log(x[i]);
}
template <typename T>
KILN_MULTIVERSION void sigmoid_range(const T* x, T* y, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) y[i] = vector_sigmoid(x[i]);
}
template <typename T>
KILN_MULTIVERSION void tanh_range(const T* x, T* y, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) y[i] = vector_tanh(x[i]);
}
}  // namespace
KILN_VECTOR_MATH_END

template <typename T>
void unary(Unary op, const T* x, T* y, std::int64_t n) {
  parallel_for(n, 4, [&](std::int64_t begin, std::int64_t end) {
    switch (op) {
      case Unary::Neg: for (auto i = begin; i < end; ++i) y[i] = -x[i]; break;
      case Unary::Exp: exp_range(x, y, begin, end); break;
      case Unary::Log: log_range(x, y, begin, end); break;
      case Unary::Sqrt: for (auto i = begin; i < end; ++i) y[i] = std::sqrt(x[i]); break;
      case Unary::Abs: for (auto i = begin; i < end; ++i) y[i] = std::abs(x[i]); break;
      case Unary::Relu: for (auto i = begin; i < end; ++i) y[i] = std::max(x[i], T(0)); break;
      case Unary::Sigmoid: sigmoid_range(x, y, begin, end); break;  // split by sign: exp never overflows
      case Unary::Tanh: tanh_range(x, y, begin, end); break;
      case Unary::Square: for (auto i = begin; i < end; ++i) y[i] = x[i] * x[i]; break;
      case Unary::Reciprocal: for (auto i = begin; i < end; ++i) y[i] = T(1) / x[i]; break;
    }
  });
}

template <typename T>
void affine(const T* x, T* y, std::int64_t n, T alpha, T beta) {
  parallel_for(n, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) y[i] = alpha * x[i] + beta;
  });
}

namespace {
template <typename T>
KILN_MULTIVERSION void relu_backward_range(const T* x, const T* gy, T* gx, std::int64_t begin, std::int64_t end) {
  // Both operands are loaded unconditionally so the select compiles to a
  // vector blend; a branch here mispredicts half the time.
  for (std::int64_t i = begin; i < end; ++i) {
    const T g = gy[i];
    gx[i] = x[i] > T(0) ? g : T(0);
  }
}

template <typename T>
KILN_MULTIVERSION void convert_range(const std::uint8_t* x, T* y, T scale, std::int64_t begin, std::int64_t end) {
  for (std::int64_t i = begin; i < end; ++i) y[i] = static_cast<T>(x[i]) * scale;
}
}  // namespace

template <typename T>
void relu_backward(const T* x, const T* gy, T* gx, std::int64_t n) {
  parallel_for(n, 1, [&](std::int64_t begin, std::int64_t end) { relu_backward_range(x, gy, gx, begin, end); });
}

template <typename T>
void sigmoid_backward(const T* y, const T* gy, T* gx, std::int64_t n) {
  parallel_for(n, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) gx[i] = gy[i] * y[i] * (T(1) - y[i]);
  });
}

template <typename T>
void tanh_backward(const T* y, const T* gy, T* gx, std::int64_t n) {
  parallel_for(n, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) gx[i] = gy[i] * (T(1) - y[i] * y[i]);
  });
}

template <typename T>
void leaky_relu(const T* x, T* y, std::int64_t n, T slope) {
  parallel_for(n, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) y[i] = x[i] > T(0) ? x[i] : slope * x[i];
  });
}

template <typename T>
void leaky_relu_backward(const T* x, const T* gy, T* gx, std::int64_t n, T slope) {
  parallel_for(n, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const T g = gy[i];
      gx[i] = x[i] > T(0) ? g : slope * g;
    }
  });
}

template <typename T>
void convert_scaled(const std::uint8_t* x, T* y, std::int64_t n, T scale) {
  parallel_for(n, 1, [&](std::int64_t begin, std::int64_t end) { convert_range(x, y, scale, begin, end); });
}

#define KILN_INSTANTIATE(T)                                                                                       \
  template void add<T>(const T*, const T*, T*, std::int64_t);                                                     \
  template void binary<T>(Binary, const T*, const std::int64_t*, const T*, const std::int64_t*,                  \
                          const std::int64_t*, int, T*);                                                          \
  template void unary<T>(Unary, const T*, T*, std::int64_t);                                                      \
  template void affine<T>(const T*, T*, std::int64_t, T, T);                                                      \
  template void relu_backward<T>(const T*, const T*, T*, std::int64_t);                                           \
  template void sigmoid_backward<T>(const T*, const T*, T*, std::int64_t);                                        \
  template void tanh_backward<T>(const T*, const T*, T*, std::int64_t);                                           \
  template void leaky_relu<T>(const T*, T*, std::int64_t, T);                                                     \
  template void leaky_relu_backward<T>(const T*, const T*, T*, std::int64_t, T);                                  \
  template void convert_scaled<T>(const std::uint8_t*, T*, std::int64_t, T);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu
