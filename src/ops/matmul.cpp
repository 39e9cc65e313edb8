// Matrix products: matmul and the fused linear (x W + b) of a Dense layer.
//   a [..., M, K] (leading axes folded into M), b [K, N] -> [..., M, N]
#include <type_traits>

#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/reduce.hpp"
#include "ops/mixed_precision.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {
namespace {

using ops_detail::dispatch_floating;

struct MatDims {
  std::int64_t M, K, N;
};

MatDims check_matmul(const Tensor& a, const Tensor& b, const char* op) {
  ops_detail::check_defined(a, op, "left operand");
  ops_detail::check_defined(b, op, "right operand");
  ops_detail::check_same_dtype(a, b, op);
  if (a.ndim() < 1 || b.ndim() != 2) {
    throw Error(std::string(op) + ": expected a [..., K] and b [K, N], got " + shape_str(a.shape()) + " and " +
                shape_str(b.shape()));
  }
  const std::int64_t K = a.size(-1);
  if (b.size(0) != K) {
    throw Error(std::string(op) + ": inner dimensions differ: " + shape_str(a.shape()) + " x " +
                shape_str(b.shape()) + " (" + std::to_string(K) + " vs " + std::to_string(b.size(0)) + ")");
  }
  return {K ? a.numel() / K : 0, K, b.size(1)};
}

Shape result_shape(const Tensor& a, std::int64_t N) {
  Shape s = a.shape();
  s.back() = N;
  return s;
}

// C = op(A) op(B) (+ C when accumulating), in T, or with bf16 products for float32 under bf16.
template <typename T>
void matmul_product(bool bf16, bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, const T* A,
                    std::int64_t lda, const T* B, std::int64_t ldb, bool accumulate, T* C, std::int64_t ldc) {
  if constexpr (std::is_same_v<T, float>) {
    if (bf16) {
      kernels::cpu::gemm_bf16(trans_a, trans_b, M, N, K, A, lda, B, ldb, accumulate, C, ldc);
      return;
    }
  }
  kernels::cpu::gemm<T>(trans_a, trans_b, M, N, K, T(1), A, lda, B, ldb, accumulate ? T(1) : T(0), C, ldc);
}

// out[M, N] = a[M, K] b[K, N] (+ bias broadcast over rows)
void forward_product(const Tensor& a, const Tensor& b, const Tensor& bias, Tensor& out, const MatDims& d,
                     ComputeType compute) {
  const bool bf16 = ops_detail::runs_bf16(a.dtype(), compute);
  dispatch_floating(a.dtype(), "matmul", [&]<typename T>() {
    T* y = out.data<T>();
    if (bias.defined()) {
      const T* bv = bias.data<T>();
      for (std::int64_t i = 0; i < d.M; ++i) std::copy(bv, bv + d.N, y + i * d.N);
    }
    matmul_product<T>(bf16, false, false, d.M, d.N, d.K, a.data<T>(), d.K, b.data<T>(), d.N, bias.defined(), y, d.N);
  });
}

// The two gradients of a product: ga = g b^T, gb = a^T g.
std::vector<Tensor> product_grads(const Tensor& g_in, const Tensor& a, const Tensor& b, const MatDims& d, bool need_a,
                                  bool need_b, ComputeType compute) {
  const Tensor g = g_in.contiguous();
  const bool bf16 = ops_detail::runs_bf16(g.dtype(), compute);
  Tensor ga, gb;
  dispatch_floating(g.dtype(), "matmul", [&]<typename T>() {
    if (need_a) {
      ga = Tensor::empty(a.shape(), a.dtype());
      matmul_product<T>(bf16, false, true, d.M, d.K, d.N, g.data<T>(), d.N, b.data<T>(), d.N, false, ga.data<T>(), d.K);
    }
    if (need_b) {
      gb = Tensor::empty(b.shape(), b.dtype());
      matmul_product<T>(bf16, true, false, d.K, d.N, d.M, a.data<T>(), d.K, g.data<T>(), d.N, false, gb.data<T>(), d.N);
    }
  });
  return {ga, gb};
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  const MatDims d = check_matmul(a_in, b_in, "matmul");
  const Tensor a = a_in.contiguous(), b = b_in.contiguous();
  Tensor out = Tensor::empty(result_shape(a, d.N), a.dtype());
  forward_product(a, b, Tensor(), out, d, ComputeType::Float32);
  if (autograd::needs_grad({&a_in, &b_in})) {
    const Tensor ad = a.detach(), bd = b.detach();
    const bool need_a = a_in.requires_grad(), need_b = b_in.requires_grad();
    autograd::record(out, "matmul", {a_in, b_in}, [ad, bd, d, need_a, need_b](const Tensor& g) {
      return product_grads(g, ad, bd, d, need_a, need_b, ComputeType::Float32);
    });
  }
  return out;
}

Tensor linear(const Tensor& x_in, const Tensor& w_in, const Tensor& b_in, ComputeType compute) {
  const MatDims d = check_matmul(x_in, w_in, "linear");
  if (b_in.defined()) {
    ops_detail::check_same_dtype(x_in, b_in, "linear");
    if (b_in.ndim() != 1 || b_in.size(0) != d.N) {
      throw Error("linear: bias must have shape [" + std::to_string(d.N) + "], got " + shape_str(b_in.shape()));
    }
  }
  const Tensor x = x_in.contiguous(), w = w_in.contiguous();
  const Tensor b = b_in.defined() ? b_in.contiguous() : Tensor();
  Tensor out = Tensor::empty(result_shape(x, d.N), x.dtype());
  forward_product(x, w, b, out, d, compute);
  if (autograd::needs_grad({&x_in, &w_in, &b_in})) {
    const Tensor xd = x.detach(), wd = w.detach();
    const bool need_x = x_in.requires_grad(), need_w = w_in.requires_grad();
    const bool need_b = b_in.defined() && b_in.requires_grad();
    autograd::record(out, "linear", {x_in, w_in, b_in},
                     [xd, wd, d, compute, need_x, need_w, need_b](const Tensor& g) -> std::vector<Tensor> {
                       auto grads = product_grads(g, xd, wd, d, need_x, need_w, compute);
                       Tensor gb;
                       if (need_b) {
                         const Tensor gc = g.contiguous();
                         gb = Tensor::empty({d.N}, g.dtype());
                         dispatch_floating(g.dtype(), "linear", [&]<typename T>() {
                           kernels::cpu::sum_axis<T>(gc.data<T>(), gb.data<T>(), 1, d.M, d.N);
                         });
                       }
                       return {grads[0], grads[1], gb};
                     });
  }
  return out;
}

}  // namespace kiln
