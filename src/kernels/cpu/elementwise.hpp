// Elementwise kernels over flat arrays of n elements (T = float or double).
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

enum class Binary : std::uint8_t { Add, Sub, Mul, Div, Pow, Maximum, Minimum };
enum class Unary : std::uint8_t { Neg, Exp, Log, Sqrt, Abs, Relu, Sigmoid, Tanh, Square, Reciprocal };

template <typename T>
void add(const T* a, const T* b, T* out, std::int64_t n);

// out = op(a, b) with NumPy broadcasting: `shape` is the output's, and
// a_strides/b_strides are each input's element strides (0 along broadcast axes).
template <typename T>
void binary(Binary op, const T* a, const std::int64_t* a_strides, const T* b, const std::int64_t* b_strides,
            const std::int64_t* shape, int ndim, T* out);

template <typename T>
void unary(Unary op, const T* x, T* y, std::int64_t n);

// y = alpha * x + beta
template <typename T>
void affine(const T* x, T* y, std::int64_t n, T alpha, T beta);

// Gradients of the activations, written in terms of what the forward kept:
// relu and leaky relu from the input x; sigmoid and tanh from the output y.
template <typename T>
void relu_backward(const T* x, const T* gy, T* gx, std::int64_t n);
template <typename T>
void sigmoid_backward(const T* y, const T* gy, T* gx, std::int64_t n);
template <typename T>
void tanh_backward(const T* y, const T* gy, T* gx, std::int64_t n);
template <typename T>
void leaky_relu(const T* x, T* y, std::int64_t n, T negative_slope);
template <typename T>
void leaky_relu_backward(const T* x, const T* gy, T* gx, std::int64_t n, T negative_slope);

// uint8 -> T with a scale: the per-batch conversion of stored images.
template <typename T>
void convert_scaled(const std::uint8_t* x, T* y, std::int64_t n, T scale);

}  // namespace kiln::kernels::cpu
