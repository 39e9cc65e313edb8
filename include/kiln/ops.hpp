// Differentiable operations on tensors.
//
// Each op checks its arguments (errors name the op, the expected and the
// actual shape), computes its result, and — when an input requires a
// gradient — records how to send the gradient back. Ops accept float32 and
// float64; float64 exists so gradients can be checked numerically.
//
//   Tensor w = Tensor::from_vector<double>({2.0}).set_requires_grad();
//   Tensor loss = kiln::mean(kiln::square(x * w - y));
//   loss.backward();            // w.grad() now holds d(loss)/dw
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/compute_type.hpp"
#include "kiln/ops/activations.hpp"
#include "kiln/ops/attention.hpp"
#include "kiln/ops/conv_transpose.hpp"
#include "kiln/ops/embedding.hpp"
#include "kiln/ops/linalg.hpp"
#include "kiln/ops/normalization.hpp"
#include "kiln/ops/recurrent.hpp"
#include "kiln/ops/upsampling.hpp"
#include "kiln/random.hpp"
#include "kiln/tensor.hpp"

namespace kiln {

// --- elementwise, with NumPy broadcasting ------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
// A scalar operand takes the tensor's dtype.
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);
// alpha * x + beta
Tensor affine(const Tensor& x, double alpha, double beta);

Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor square(const Tensor& x);
// Values outside [low, high] are clamped; their gradient is zero.
Tensor clip(const Tensor& x, double low, double high);

// --- activations ----------------------------------------------------------------
Tensor relu(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.3);  // Keras's default slope
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
// Over the last axis.
Tensor softmax(const Tensor& x, int axis = -1);
Tensor log_softmax(const Tensor& x, int axis = -1);

// --- reductions -------------------------------------------------------------------
Tensor sum(const Tensor& x);  // all elements, a scalar
Tensor sum(const Tensor& x, const std::vector<int>& axes, bool keepdims = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int>& axes, bool keepdims = false);
// Sums the broadcast axes of x away so that it has `shape` (the adjoint of broadcasting).
Tensor sum_to(const Tensor& x, const Shape& shape);
Tensor broadcast_to(const Tensor& x, const Shape& shape);
// Index of the maximum along `axis` (int64, not differentiable).
Tensor argmax(const Tensor& x, int axis = -1);

// --- shapes -----------------------------------------------------------------------
Tensor reshape(const Tensor& x, const Shape& shape);
Tensor transpose(const Tensor& x, int axis0, int axis1);
// Elements [start, start + length) along `axis`.
Tensor narrow(const Tensor& x, int axis, std::int64_t start, std::int64_t length);
Tensor concat(const std::vector<Tensor>& tensors, int axis);

// --- linear algebra ---------------------------------------------------------------
// a [..., M, K] x b [K, N] -> [..., M, N]; both 2-D, or a batched on the left.
Tensor matmul(const Tensor& a, const Tensor& b);
// x [..., in] w [in, out] + b [out] (b may be undefined) — a Dense layer's product.
Tensor linear(const Tensor& x, const Tensor& w, const Tensor& b, ComputeType compute = ComputeType::Float32);

// --- convolution and pooling (channels last) --------------------------------------
struct Conv2dParams {
  std::int64_t stride_h = 1, stride_w = 1;
  std::int64_t dilation_h = 1, dilation_w = 1;
  std::string padding = "valid";  // "valid" or "same", as in Keras
  // Apply max(0, .) in the same pass (Conv2D with activation "relu"); the
  // backward then masks the gradient and sums the bias gradient in one sweep.
  bool relu = false;
  ComputeType compute = ComputeType::Float32;  // BFloat16: mixed precision (kiln/compute_type.hpp)
};
// x [N, H, W, C], w [KH, KW, C, O], b [O] or undefined -> [N, OH, OW, O]
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& params = {});

struct Pool2dParams {
  std::int64_t pool_h = 2, pool_w = 2;
  std::int64_t stride_h = 2, stride_w = 2;
  std::string padding = "valid";
};
Tensor max_pool2d(const Tensor& x, const Pool2dParams& params = {});
// max_pool2d(conv2d(x, w, b, conv), pool) in one op. The convolution's output
// is never kept: the backward pass needs only the pooled values and where
// they came from, so it writes the convolution's gradient in a single pass
// (with the ReLU mask and the bias gradient taken from the pooled tensor).
Tensor conv2d_max_pool2d(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& conv,
                         const Pool2dParams& pool);
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& params = {});

// --- regularisation -----------------------------------------------------------------
// Zeroes each element with probability `rate` and scales the rest by 1/(1-rate);
// the identity when not training.
Tensor dropout(const Tensor& x, double rate, bool training, Generator& generator);

// --- fused losses (per sample; reduce with mean) ------------------------------------
// logits [N, C], labels [N] of integer class ids (any integer or float dtype).
Tensor sparse_softmax_cross_entropy(const Tensor& logits, const Tensor& labels);
// logits [N, C], targets [N, C] (one-hot or probabilities).
Tensor softmax_cross_entropy(const Tensor& logits, const Tensor& targets);
// Elementwise, numerically stable: max(x, 0) - x * t + log(1 + exp(-|x|)).
Tensor sigmoid_cross_entropy(const Tensor& logits, const Tensor& targets);

// --- conversions (not differentiable) ----------------------------------------------
// x (any dtype) * scale, as float32 or float64: turns uint8 pixels into [0, 1] floats.
Tensor to_float(const Tensor& x, double scale = 1.0, DType dtype = DType::Float32);

}  // namespace kiln
