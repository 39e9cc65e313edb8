// Mixed-precision matrix products on oneDNN's matmul primitive.
//
// The operands are rounded into this thread's bf16 buffers, packed (a row
// stride equal to the row length). A compiled primitive depends on the sizes,
// the transposes, the row strides and whether it accumulates. Compiled
// primitives are published in a map and never written again, so threads share
// them; each call brings its own scratchpad (user scratchpad mode).
#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <mutex>

#include "kernels/cpu/bf16.hpp"
#include "kernels/cpu/gemm.hpp"
#include "kernels/cpu/onednn.hpp"

namespace kiln::kernels::cpu {
namespace {

using dnnl::memory;

struct CompiledMatmul {
  memory::desc a, b, c, scratchpad;
  dnnl::matmul primitive;
};

using MatmulKey = std::array<std::int64_t, 9>;

std::shared_ptr<const CompiledMatmul> compile_matmul(const MatmulKey& key) {
  const auto [M, N, K, trans_a, trans_b, lda, ldb, ldc, accumulate] = key;
  auto c = std::make_shared<CompiledMatmul>();
  using dt = memory::data_type;
  c->a = memory::desc({M, K}, dt::bf16, trans_a ? memory::dims{1, lda} : memory::dims{lda, 1});
  c->b = memory::desc({K, N}, dt::bf16, trans_b ? memory::dims{1, ldb} : memory::dims{ldb, 1});
  c->c = memory::desc({M, N}, dt::f32, memory::dims{ldc, 1});
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(c->a, c->b, c->c), attr, onednn::engine());
  c->primitive = dnnl::matmul(pd);
  c->scratchpad = pd.scratchpad_desc();
  return c;
}

// Products of ever new sizes (a model predicting on each batch size) would grow
// the map without end; past this many it starts again (oneDNN's own primitive
// cache makes a rebuild cheap, and callers hold what they run).
constexpr std::size_t kMatmulCacheCapacity = 256;

std::shared_ptr<const CompiledMatmul> compiled_matmul(const MatmulKey& key) {
  static std::mutex mutex;
  static auto* cache = new std::map<MatmulKey, std::shared_ptr<const CompiledMatmul>>();  // leaked, like conv's
  std::lock_guard lock(mutex);
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  if (cache->size() == kMatmulCacheCapacity) cache->clear();
  return cache->emplace(key, compile_matmul(key)).first->second;
}

// rows x cols of a float32 matrix with row stride ld, rounded into a packed buffer.
const std::uint16_t* packed_bf16(int slot, const float* m, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
  std::uint16_t* out = bf16_buffer(slot, rows * cols);
  if (ld == cols) {
    float_to_bf16(m, out, rows * cols);
  } else {
    for (std::int64_t r = 0; r < rows; ++r) float_to_bf16(m + r * ld, out + r * cols, cols);
  }
  return out;
}

}  // namespace

void gemm_bf16(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K, const float* A,
               std::int64_t lda, const float* B, std::int64_t ldb, bool accumulate, float* C, std::int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) {
      for (std::int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    }
    return;
  }
  // Stored A is [K, M] when transposed, [M, K] otherwise; likewise B.
  const std::uint16_t* a = trans_a ? packed_bf16(0, A, K, M, lda) : packed_bf16(0, A, M, K, lda);
  const std::uint16_t* b = trans_b ? packed_bf16(1, B, N, K, ldb) : packed_bf16(1, B, K, N, ldb);
  gemm_bf16_rounded(trans_a, trans_b, M, N, K, a, trans_a ? M : K, b, trans_b ? K : N, accumulate, C, ldc);
}

void gemm_bf16_rounded(bool trans_a, bool trans_b, std::int64_t M, std::int64_t N, std::int64_t K,
                       const std::uint16_t* a, std::int64_t lda, const std::uint16_t* b, std::int64_t ldb,
                       bool accumulate, float* C, std::int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) {
      for (std::int64_t i = 0; i < M; ++i) std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
    }
    return;
  }
  const auto c = compiled_matmul({M, N, K, trans_a, trans_b, lda, ldb, ldc, accumulate});
  auto& eng = onednn::engine();
  c->primitive.execute(onednn::stream(), {{DNNL_ARG_SRC, memory(c->a, eng, const_cast<std::uint16_t*>(a))},
                                          {DNNL_ARG_WEIGHTS, memory(c->b, eng, const_cast<std::uint16_t*>(b))},
                                          {DNNL_ARG_DST, memory(c->c, eng, C)},
                                          {DNNL_ARG_SCRATCHPAD, onednn::scratchpad(c->scratchpad)}});
  onednn::stream().wait();
}

}  // namespace kiln::kernels::cpu
