// Scaled dot-product attention as one op (kernels/cpu/attention.hpp has the
// shapes). The softmax weights are kept for the backward pass and returned for
// inspection; the score matrix never becomes a separate autograd node.
#include "kernels/cpu/attention.hpp"

#include <cmath>

#include "kiln/ops/attention.hpp"
#include "ops/mixed_precision.hpp"
#include "ops/op_helpers.hpp"

namespace kiln {
namespace {

std::string shapes_of(const Tensor& q, const Tensor& k, const Tensor& v) {
  return "query " + shape_str(q.shape()) + ", key " + shape_str(k.shape()) + ", value " + shape_str(v.shape());
}

// The mask as contiguous bytes [B, rows, Tk], rows = Tq or 1.
Tensor mask_bytes(const Tensor& mask, std::int64_t B, std::int64_t Tq, std::int64_t Tk, std::int64_t* rows) {
  const char* op = "scaled_dot_product_attention";
  const Shape& s = mask.shape();
  if (s.size() != 3 || s[0] != B || (s[1] != Tq && s[1] != 1) || s[2] != Tk) {
    throw Error(std::string(op) + ": mask must have shape [" + std::to_string(B) + ", " + std::to_string(Tq) + ", " +
                std::to_string(Tk) + "] (batch, queries, keys) or [" + std::to_string(B) + ", 1, " +
                std::to_string(Tk) + "], got " + shape_str(s));
  }
  *rows = s[1];
  if (mask.dtype() == DType::UInt8) return mask.contiguous();
  // Any dtype: nonzero means allowed.
  const auto values = mask.to_vector<double>();
  Tensor bytes = Tensor::empty(s, DType::UInt8);
  std::uint8_t* out = bytes.data<std::uint8_t>();
  for (std::size_t i = 0; i < values.size(); ++i) out[i] = values[i] != 0.0;
  return bytes;
}

}  // namespace

AttentionResult scaled_dot_product_attention(const Tensor& q_in, const Tensor& k_in, const Tensor& v_in,
                                             const AttentionOptions& options) {
  const char* op = "scaled_dot_product_attention";
  ops_detail::check_defined(q_in, op, "query");
  ops_detail::check_defined(k_in, op, "key");
  ops_detail::check_defined(v_in, op, "value");
  ops_detail::check_same_dtype(q_in, k_in, op);
  ops_detail::check_same_dtype(q_in, v_in, op);
  const int nd = q_in.ndim();
  if ((nd != 3 && nd != 4) || k_in.ndim() != nd || v_in.ndim() != nd) {
    throw Error(std::string(op) + ": expected query [B, Tq, H, Dk], key [B, Tk, H, Dk], value [B, Tk, H, Dv] " +
                "(or the same without the head axis H), got " + shapes_of(q_in, k_in, v_in));
  }
  kernels::cpu::AttentionDims d{};
  d.B = q_in.size(0), d.Tq = q_in.size(1), d.Tk = k_in.size(1);
  d.H = nd == 4 ? q_in.size(2) : 1;
  d.Dk = q_in.size(-1), d.Dv = v_in.size(-1);
  const bool heads_ok = nd == 3 || (k_in.size(2) == d.H && v_in.size(2) == d.H);
  if (k_in.size(0) != d.B || v_in.size(0) != d.B || v_in.size(1) != d.Tk || k_in.size(-1) != d.Dk || !heads_ok) {
    throw Error(std::string(op) + ": shapes do not fit together (batch, key length, heads and query/key width must " +
                "agree): " + shapes_of(q_in, k_in, v_in));
  }
  std::int64_t mask_rows = 0;
  const Tensor mask = options.mask.defined() ? mask_bytes(options.mask, d.B, d.Tq, d.Tk, &mask_rows) : Tensor();
  const double scale = options.scale != 0.0 ? options.scale : 1.0 / std::sqrt(static_cast<double>(d.Dk));
  const Tensor q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  Shape out_shape = q.shape();
  out_shape.back() = d.Dv;
  Tensor out = Tensor::empty(out_shape, q.dtype());
  Tensor weights = Tensor::empty(nd == 4 ? Shape{d.B, d.H, d.Tq, d.Tk} : Shape{d.B, d.Tq, d.Tk}, q.dtype());
  const bool causal = options.causal;
  const bool bf16 = ops_detail::runs_bf16(q.dtype(), options.compute);
  ops_detail::dispatch_floating(q.dtype(), op, [&]<typename T>() {
    kernels::cpu::attention_forward<T>(d, q.data<T>(), k.data<T>(), v.data<T>(),
                                       mask.defined() ? mask.data<std::uint8_t>() : nullptr, mask_rows, causal,
                                       static_cast<T>(scale), weights.data<T>(), out.data<T>(), bf16);
  });
  if (autograd::needs_grad({&q_in, &k_in, &v_in})) {
    const Tensor qd = q.detach(), kd = k.detach(), vd = v.detach(), wd = weights.detach();
    const bool need_q = q_in.requires_grad(), need_k = k_in.requires_grad(), need_v = v_in.requires_grad();
    autograd::record(
        out, op, {q_in, k_in, v_in},
        [qd, kd, vd, wd, d, scale, bf16, need_q, need_k, need_v](const Tensor& g_in) -> std::vector<Tensor> {
          const Tensor g = g_in.contiguous();
          Tensor gq = need_q ? Tensor::empty(qd.shape(), g.dtype()) : Tensor();
          Tensor gk = need_k ? Tensor::empty(kd.shape(), g.dtype()) : Tensor();
          Tensor gv = need_v ? Tensor::empty(vd.shape(), g.dtype()) : Tensor();
          Tensor scratch = Tensor::empty({d.B * d.H * d.Tq * d.Tk}, g.dtype());
          ops_detail::dispatch_floating(g.dtype(), "scaled_dot_product_attention", [&]<typename T>() {
            kernels::cpu::attention_backward<T>(d, qd.data<T>(), kd.data<T>(), vd.data<T>(), wd.data<T>(), g.data<T>(),
                                                static_cast<T>(scale), need_q ? gq.data<T>() : nullptr,
                                                need_k ? gk.data<T>() : nullptr, need_v ? gv.data<T>() : nullptr,
                                                scratch.data<T>(), bf16);
          });
          return {gq, gk, gv};
        });
  }
  return {out, weights};
}

}  // namespace kiln
