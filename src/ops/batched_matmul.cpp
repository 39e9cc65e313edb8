// Batched matrix products: one GEMM per leading index, with optional transposes.
//   a [..., M, K] (transpose_a: [..., K, M]), b [..., K, N] (transpose_b: [..., N, K]) -> [..., M, N]
#include "kernels/cpu/batched_gemm.hpp"
#include "kiln/ops/linalg.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {
namespace {

using ops_detail::dispatch_floating;

struct BatchDims {
  std::int64_t batch, M, K, N;
};

BatchDims check_batched(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const char* op = "batched_matmul";
  ops_detail::check_defined(a, op, "left operand");
  ops_detail::check_defined(b, op, "right operand");
  ops_detail::check_same_dtype(a, b, op);
  if (a.ndim() < 3 || a.ndim() != b.ndim()) {
    throw Error(std::string(op) + ": expected a [..., M, K] and b [..., K, N] with the same leading axes (3 or more " +
                "dimensions each), got " + shape_str(a.shape()) + " and " + shape_str(b.shape()));
  }
  const Shape lead_a(a.shape().begin(), a.shape().end() - 2), lead_b(b.shape().begin(), b.shape().end() - 2);
  if (lead_a != lead_b) {
    throw Error(std::string(op) + ": leading axes differ: " + shape_str(a.shape()) + " and " + shape_str(b.shape()));
  }
  const std::int64_t M = ta ? a.size(-1) : a.size(-2), K = ta ? a.size(-2) : a.size(-1);
  const std::int64_t Kb = tb ? b.size(-1) : b.size(-2), N = tb ? b.size(-2) : b.size(-1);
  if (K != Kb) {
    throw Error(std::string(op) + ": inner dimensions differ: " + shape_str(a.shape()) + (ta ? "^T" : "") + " x " +
                shape_str(b.shape()) + (tb ? "^T" : "") + " (" + std::to_string(K) + " vs " + std::to_string(Kb) + ")");
  }
  return {shape_numel(lead_a), M, K, N};
}

// c = op(a) op(b) for contiguous a, b; c gets shape `shape`.
Tensor product(const Tensor& a, const Tensor& b, bool ta, bool tb, const BatchDims& d, Shape shape) {
  Tensor c = Tensor::empty(shape, a.dtype());
  dispatch_floating(a.dtype(), "batched_matmul", [&]<typename T>() {
    const std::int64_t lda = ta ? d.M : d.K, ldb = tb ? d.K : d.N;
    kernels::cpu::batched_gemm<T>(d.batch, ta, tb, d.M, d.N, d.K, T(1), a.data<T>(), d.M * d.K, lda, b.data<T>(),
                                  d.K * d.N, ldb, T(0), c.data<T>(), d.M * d.N, d.N);
  });
  return c;
}

}  // namespace

Tensor batched_matmul(const Tensor& a_in, const Tensor& b_in, bool ta, bool tb) {
  const BatchDims d = check_batched(a_in, b_in, ta, tb);
  const Tensor a = a_in.contiguous(), b = b_in.contiguous();
  Shape shape = a.shape();
  shape[shape.size() - 2] = d.M;
  shape.back() = d.N;
  Tensor out = product(a, b, ta, tb, d, shape);
  if (autograd::needs_grad({&a_in, &b_in})) {
    const Tensor ad = a.detach(), bd = b.detach();
    const bool need_a = a_in.requires_grad(), need_b = b_in.requires_grad();
    autograd::record(out, "batched_matmul", {a_in, b_in},
                     [ad, bd, ta, tb, d, need_a, need_b](const Tensor& g_in) -> std::vector<Tensor> {
                       const Tensor g = g_in.contiguous();  // [.., M, N]
                       Tensor ga, gb;
                       // C = A B: dA = dC B^T, dB = A^T dC; a transposed operand swaps the roles.
                       if (need_a) {
                         ga = ta ? product(bd, g, tb, true, {d.batch, d.K, d.N, d.M}, ad.shape())
                                 : product(g, bd, false, !tb, {d.batch, d.M, d.N, d.K}, ad.shape());
                       }
                       if (need_b) {
                         gb = tb ? product(g, ad, true, ta, {d.batch, d.N, d.M, d.K}, bd.shape())
                                 : product(ad, g, !ta, false, {d.batch, d.K, d.M, d.N}, bd.shape());
                       }
                       return {ga, gb};
                     });
  }
  return out;
}

}  // namespace kiln
