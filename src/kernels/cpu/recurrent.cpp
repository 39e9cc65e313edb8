// Gate arithmetic of one recurrent step. The float instantiations are the
// fast path (vectorised exp from fast_math.hpp, one clone per instruction
// set); double uses the library functions and is the reference the gradient
// checks and the float32 tests compare against.
#include "kernels/cpu/recurrent.hpp"

#include <algorithm>
#include <vector>

#include "kernels/cpu/fast_math.hpp"
#include "kernels/cpu/multiversion.hpp"
#include "kernels/cpu/parallel.hpp"

KILN_VECTOR_MATH_BEGIN

namespace kiln::kernels::cpu {
namespace {

// Rows are independent, so a step splits over rows; cost per row ~ the
// transcendental calls of its H units.
constexpr std::int64_t kRowCostPerUnit = 40;

inline std::uint8_t step_kind(const std::uint8_t* mask, std::int64_t mask_ld, std::int64_t b) {
  return mask ? mask[b * mask_ld] : kRealStep;
}

// The output of a masked step: the kept h, or zeros.
template <typename T>
inline void masked_output(T* out, const T* h, std::int64_t H, std::uint8_t kind) {
  if (kind == kZeroOutput) {
    std::fill(out, out + H, T(0));
  } else {
    std::copy(h, h + H, out);
  }
}

// Adds the step's output gradient (if any) into dh, the gradient reaching h.
// A repeated output is the kept h; a zero output passes no gradient.
template <typename T>
KILN_ALWAYS_INLINE void add_output_grad(T* dh, const T* dout, std::int64_t H, std::uint8_t kind) {
  if (!dout || kind == kZeroOutput) return;
  for (std::int64_t j = 0; j < H; ++j) dh[j] += dout[j];
}

// The arithmetic of one row lives in always-inline functions whose gate
// blocks arrive as separate __restrict pointers: written as offsets into one
// row (z[j], z[H + j], ...) GCC cannot prove the blocks apart and leaves the
// loop scalar.

// --- LSTM -------------------------------------------------------------------------

template <typename T, bool HasBias>
KILN_ALWAYS_INLINE void lstm_forward_row(std::int64_t H, T* __restrict zi, T* __restrict zf, T* __restrict zg,
                                         T* __restrict zo, const T* __restrict bias, T* __restrict c,
                                         T* __restrict h) {
  for (std::int64_t j = 0; j < H; ++j) {
    const T i = sigmoid_approx(HasBias ? zi[j] + bias[j] : zi[j]);
    const T f = sigmoid_approx(HasBias ? zf[j] + bias[H + j] : zf[j]);
    const T g = tanh_approx(HasBias ? zg[j] + bias[2 * H + j] : zg[j]);
    const T o = sigmoid_approx(HasBias ? zo[j] + bias[3 * H + j] : zo[j]);
    zi[j] = i;
    zf[j] = f;
    zg[j] = g;
    zo[j] = o;
    const T cn = f * c[j] + i * g;
    c[j] = cn;
    h[j] = o * tanh_approx(cn);
  }
}

template <typename T>
KILN_MULTIVERSION void lstm_forward_rows(std::int64_t begin, std::int64_t end, std::int64_t H, T* z,
                                         std::int64_t z_ld, const T* bias, T* h, T* c, T* out, std::int64_t out_ld,
                                         const std::uint8_t* mask, std::int64_t mask_ld) {
  for (std::int64_t b = begin; b < end; ++b) {
    T* hr = h + b * H;
    T* o = out ? out + b * out_ld : nullptr;
    const std::uint8_t kind = step_kind(mask, mask_ld, b);
    if (kind != kRealStep) {
      if (o) masked_output(o, hr, H, kind);
      continue;
    }
    T* zr = z + b * z_ld;
    if (bias) {
      lstm_forward_row<T, true>(H, zr, zr + H, zr + 2 * H, zr + 3 * H, bias, c + b * H, hr);
    } else {
      lstm_forward_row<T, false>(H, zr, zr + H, zr + 2 * H, zr + 3 * H, bias, c + b * H, hr);
    }
    if (o) std::copy(hr, hr + H, o);
  }
}

template <typename T>
KILN_ALWAYS_INLINE void lstm_backward_row(std::int64_t H, const T* __restrict ai, const T* __restrict af,
                                          const T* __restrict ag, const T* __restrict ao, const T* __restrict cp,
                                          const T* __restrict dh, T* __restrict dc, T* __restrict di,
                                          T* __restrict df, T* __restrict dg, T* __restrict dout_gate,
                                          T* __restrict dh_prev) {
  for (std::int64_t j = 0; j < H; ++j) {
    const T i = ai[j], f = af[j], g = ag[j], o = ao[j];
    const T tc = tanh_approx(f * cp[j] + i * g);  // c of this step, recomputed
    const T dcv = dc[j] + dh[j] * o * (T(1) - tc * tc);
    di[j] = dcv * g * i * (T(1) - i);
    df[j] = dcv * cp[j] * f * (T(1) - f);
    dg[j] = dcv * i * (T(1) - g * g);
    dout_gate[j] = dh[j] * tc * o * (T(1) - o);
    dc[j] = dcv * f;
    dh_prev[j] = T(0);
  }
}

template <typename T>
KILN_MULTIVERSION void lstm_backward_rows(std::int64_t begin, std::int64_t end, std::int64_t H, const T* act,
                                          std::int64_t act_ld, const T* c_prev, std::int64_t c_ld, const T* dout,
                                          std::int64_t dout_ld, T* dh, T* dc, T* dz, std::int64_t dz_ld,
                                          T* dh_prev, const std::uint8_t* mask, std::int64_t mask_ld) {
  for (std::int64_t b = begin; b < end; ++b) {
    const std::uint8_t kind = step_kind(mask, mask_ld, b);
    T* dhv = dh + b * H;
    add_output_grad(dhv, dout ? dout + b * dout_ld : nullptr, H, kind);
    T* dzr = dz + b * dz_ld;
    T* dhp = dh_prev + b * H;
    if (kind != kRealStep) {
      std::copy(dhv, dhv + H, dhp);
      std::fill(dzr, dzr + 4 * H, T(0));
      continue;  // dc passes through unchanged
    }
    const T* a = act + b * act_ld;
    lstm_backward_row(H, a, a + H, a + 2 * H, a + 3 * H, c_prev + b * c_ld, dhv, dc + b * H, dzr, dzr + H,
                      dzr + 2 * H, dzr + 3 * H, dhp);
  }
}

// --- GRU --------------------------------------------------------------------------

template <typename T>
KILN_ALWAYS_INLINE void gru_forward_row(std::int64_t H, const T* __restrict xz, const T* __restrict xr,
                                        const T* __restrict xh, const T* __restrict uz, const T* __restrict ur,
                                        const T* __restrict uh_in, const T* __restrict bx, const T* __restrict br,
                                        T* __restrict az, T* __restrict ar, T* __restrict ahh, T* __restrict auh,
                                        T* __restrict h) {
  for (std::int64_t j = 0; j < H; ++j) {
    const T z = sigmoid_approx(xz[j] + bx[j] + uz[j] + br[j]);
    const T r = sigmoid_approx(xr[j] + bx[H + j] + ur[j] + br[H + j]);
    const T uh = uh_in[j] + br[2 * H + j];
    const T hh = tanh_approx(xh[j] + bx[2 * H + j] + r * uh);
    az[j] = z;
    ar[j] = r;
    ahh[j] = hh;
    auh[j] = uh;
    h[j] = z * h[j] + (T(1) - z) * hh;
  }
}

template <typename T>
KILN_MULTIVERSION void gru_forward_rows(std::int64_t begin, std::int64_t end, std::int64_t H, const T* zx,
                                        std::int64_t zx_ld, const T* zr, const T* bx, const T* br, T* act,
                                        std::int64_t act_ld, T* h, T* out, std::int64_t out_ld,
                                        const std::uint8_t* mask, std::int64_t mask_ld) {
  for (std::int64_t b = begin; b < end; ++b) {
    T* hr = h + b * H;
    T* o = out ? out + b * out_ld : nullptr;
    const std::uint8_t kind = step_kind(mask, mask_ld, b);
    if (kind != kRealStep) {
      if (o) masked_output(o, hr, H, kind);
      continue;
    }
    const T* x = zx + b * zx_ld;
    const T* u = zr + b * 3 * H;
    T* a = act + b * act_ld;
    gru_forward_row(H, x, x + H, x + 2 * H, u, u + H, u + 2 * H, bx, br, a, a + H, a + 2 * H, a + 3 * H, hr);
    if (o) std::copy(hr, hr + H, o);
  }
}

template <typename T>
KILN_ALWAYS_INLINE void gru_backward_row(std::int64_t H, const T* __restrict az, const T* __restrict ar,
                                         const T* __restrict ahh, const T* __restrict auh, const T* __restrict hp,
                                         const T* __restrict dh, T* __restrict gxz, T* __restrict gxr,
                                         T* __restrict gxh, T* __restrict grz, T* __restrict grr,
                                         T* __restrict grh, T* __restrict dh_prev) {
  for (std::int64_t j = 0; j < H; ++j) {
    const T z = az[j], r = ar[j], hh = ahh[j], uh = auh[j];
    const T dz = dh[j] * (hp[j] - hh);
    const T dn = dh[j] * (T(1) - z) * (T(1) - hh * hh);
    const T gz = dz * z * (T(1) - z);
    const T gr = dn * uh * r * (T(1) - r);
    gxz[j] = gz;
    gxr[j] = gr;
    gxh[j] = dn;
    grz[j] = gz;
    grr[j] = gr;
    grh[j] = dn * r;
    dh_prev[j] = dh[j] * z;
  }
}

template <typename T>
KILN_MULTIVERSION void gru_backward_rows(std::int64_t begin, std::int64_t end, std::int64_t H, const T* act,
                                         std::int64_t act_ld, const T* h_prev, std::int64_t h_ld, const T* dout,
                                         std::int64_t dout_ld, T* dh, T* dzx, std::int64_t dzx_ld, T* dzr,
                                         std::int64_t dzr_ld, T* dh_prev, const std::uint8_t* mask,
                                         std::int64_t mask_ld) {
  for (std::int64_t b = begin; b < end; ++b) {
    const std::uint8_t kind = step_kind(mask, mask_ld, b);
    T* dhv = dh + b * H;
    add_output_grad(dhv, dout ? dout + b * dout_ld : nullptr, H, kind);
    T* gx = dzx + b * dzx_ld;
    T* gr = dzr + b * dzr_ld;
    T* dhp = dh_prev + b * H;
    if (kind != kRealStep) {
      std::copy(dhv, dhv + H, dhp);
      std::fill(gx, gx + 3 * H, T(0));
      std::fill(gr, gr + 3 * H, T(0));
      continue;
    }
    const T* a = act + b * act_ld;
    gru_backward_row(H, a, a + H, a + 2 * H, a + 3 * H, h_prev + b * h_ld, dhv, gx, gx + H, gx + 2 * H, gr, gr + H,
                     gr + 2 * H, dhp);
  }
}

// --- SimpleRNN --------------------------------------------------------------------

template <typename T>
KILN_ALWAYS_INLINE void rnn_forward_row(std::int64_t H, T* __restrict z, const T* __restrict bias, bool relu,
                                        T* __restrict h) {
  if (relu) {
    for (std::int64_t j = 0; j < H; ++j) {
      const T v = bias ? z[j] + bias[j] : z[j];
      z[j] = h[j] = v > T(0) ? v : T(0);
    }
  } else {
    for (std::int64_t j = 0; j < H; ++j) z[j] = h[j] = tanh_approx(bias ? z[j] + bias[j] : z[j]);
  }
}

template <typename T>
KILN_MULTIVERSION void rnn_forward_rows(std::int64_t begin, std::int64_t end, std::int64_t H, T* z, std::int64_t z_ld,
                                        const T* bias, bool relu, T* h, T* out, std::int64_t out_ld,
                                        const std::uint8_t* mask, std::int64_t mask_ld) {
  for (std::int64_t b = begin; b < end; ++b) {
    T* hr = h + b * H;
    T* o = out ? out + b * out_ld : nullptr;
    const std::uint8_t kind = step_kind(mask, mask_ld, b);
    if (kind != kRealStep) {
      if (o) masked_output(o, hr, H, kind);
      continue;
    }
    rnn_forward_row(H, z + b * z_ld, bias, relu, hr);
    if (o) std::copy(hr, hr + H, o);
  }
}

template <typename T>
KILN_ALWAYS_INLINE void rnn_backward_row(std::int64_t H, const T* __restrict a, bool relu, const T* __restrict dh,
                                         T* __restrict dz, T* __restrict dh_prev) {
  if (relu) {
    for (std::int64_t j = 0; j < H; ++j) dz[j] = a[j] > T(0) ? dh[j] : T(0);
  } else {
    for (std::int64_t j = 0; j < H; ++j) dz[j] = dh[j] * (T(1) - a[j] * a[j]);
  }
  for (std::int64_t j = 0; j < H; ++j) dh_prev[j] = T(0);
}

template <typename T>
KILN_MULTIVERSION void rnn_backward_rows(std::int64_t begin, std::int64_t end, std::int64_t H, const T* act,
                                         std::int64_t act_ld, bool relu, const T* dout, std::int64_t dout_ld,
                                         T* dh, T* dz, std::int64_t dz_ld, T* dh_prev, const std::uint8_t* mask,
                                         std::int64_t mask_ld) {
  for (std::int64_t b = begin; b < end; ++b) {
    const std::uint8_t kind = step_kind(mask, mask_ld, b);
    T* dhv = dh + b * H;
    add_output_grad(dhv, dout ? dout + b * dout_ld : nullptr, H, kind);
    T* dzr = dz + b * dz_ld;
    T* dhp = dh_prev + b * H;
    if (kind != kRealStep) {
      std::copy(dhv, dhv + H, dhp);
      std::fill(dzr, dzr + H, T(0));
      continue;
    }
    rnn_backward_row(H, act + b * act_ld, relu, dhv, dzr, dhp);
  }
}

}  // namespace

template <typename T>
void lstm_step_forward(std::int64_t B, std::int64_t H, T* z, std::int64_t z_ld, const T* bias, T* h, T* c, T* out,
                       std::int64_t out_ld, const std::uint8_t* mask, std::int64_t mask_ld) {
  parallel_for(B, H * kRowCostPerUnit, [&](std::int64_t begin, std::int64_t end) {
    lstm_forward_rows(begin, end, H, z, z_ld, bias, h, c, out, out_ld, mask, mask_ld);
  });
}

template <typename T>
void lstm_step_backward(std::int64_t B, std::int64_t H, const T* act, std::int64_t act_ld, const T* c_prev,
                        std::int64_t c_ld, const T* dout, std::int64_t dout_ld, T* dh, T* dc, T* dz,
                        std::int64_t dz_ld, T* dh_prev, const std::uint8_t* mask, std::int64_t mask_ld) {
  parallel_for(B, H * kRowCostPerUnit, [&](std::int64_t begin, std::int64_t end) {
    lstm_backward_rows(begin, end, H, act, act_ld, c_prev, c_ld, dout, dout_ld, dh, dc, dz, dz_ld, dh_prev, mask,
                       mask_ld);
  });
}

template <typename T>
void gru_step_forward(std::int64_t B, std::int64_t H, const T* zx, std::int64_t zx_ld, const T* zr,
                      const T* bias_x, const T* bias_r, T* act, std::int64_t act_ld, T* h, T* out,
                      std::int64_t out_ld, const std::uint8_t* mask, std::int64_t mask_ld) {
  // A missing bias is a zero bias; the loop reads one unconditionally so it stays branch-free.
  std::vector<T> zeros;
  if (!bias_x || !bias_r) zeros.assign(static_cast<std::size_t>(3 * H), T(0));
  const T* bx = bias_x ? bias_x : zeros.data();
  const T* br = bias_r ? bias_r : zeros.data();
  parallel_for(B, H * kRowCostPerUnit, [&](std::int64_t begin, std::int64_t end) {
    gru_forward_rows(begin, end, H, zx, zx_ld, zr, bx, br, act, act_ld, h, out, out_ld, mask, mask_ld);
  });
}

template <typename T>
void gru_step_backward(std::int64_t B, std::int64_t H, const T* act, std::int64_t act_ld, const T* h_prev,
                       std::int64_t h_ld, const T* dout, std::int64_t dout_ld, T* dh, T* dzx,
                       std::int64_t dzx_ld, T* dzr, std::int64_t dzr_ld, T* dh_prev, const std::uint8_t* mask,
                       std::int64_t mask_ld) {
  parallel_for(B, H * kRowCostPerUnit, [&](std::int64_t begin, std::int64_t end) {
    gru_backward_rows(begin, end, H, act, act_ld, h_prev, h_ld, dout, dout_ld, dh, dzx, dzx_ld, dzr, dzr_ld, dh_prev,
                      mask, mask_ld);
  });
}

template <typename T>
void rnn_step_forward(std::int64_t B, std::int64_t H, T* z, std::int64_t z_ld, const T* bias, bool relu, T* h, T* out,
                      std::int64_t out_ld, const std::uint8_t* mask, std::int64_t mask_ld) {
  parallel_for(B, H * kRowCostPerUnit, [&](std::int64_t begin, std::int64_t end) {
    rnn_forward_rows(begin, end, H, z, z_ld, bias, relu, h, out, out_ld, mask, mask_ld);
  });
}

template <typename T>
void rnn_step_backward(std::int64_t B, std::int64_t H, const T* act, std::int64_t act_ld, bool relu, const T* dout,
                       std::int64_t dout_ld, T* dh, T* dz, std::int64_t dz_ld, T* dh_prev,
                       const std::uint8_t* mask, std::int64_t mask_ld) {
  parallel_for(B, H * kRowCostPerUnit, [&](std::int64_t begin, std::int64_t end) {
    rnn_backward_rows(begin, end, H, act, act_ld, relu, dout, dout_ld, dh, dz, dz_ld, dh_prev, mask, mask_ld);
  });
}

#define KILN_INSTANTIATE(T)                                                                                        \
  template void lstm_step_forward<T>(std::int64_t, std::int64_t, T*, std::int64_t, const T*, T*, T*, T*,           \
                                     std::int64_t, const std::uint8_t*, std::int64_t);                             \
  template void lstm_step_backward<T>(std::int64_t, std::int64_t, const T*, std::int64_t, const T*, std::int64_t,  \
                                      const T*, std::int64_t, T*, T*, T*, std::int64_t, T*, const std::uint8_t*,   \
                                      std::int64_t);                                                               \
  template void gru_step_forward<T>(std::int64_t, std::int64_t, const T*, std::int64_t, const T*, const T*,        \
                                    const T*, T*, std::int64_t, T*, T*, std::int64_t, const std::uint8_t*,         \
                                    std::int64_t);                                                                 \
  template void gru_step_backward<T>(std::int64_t, std::int64_t, const T*, std::int64_t, const T*, std::int64_t,   \
                                     const T*, std::int64_t, T*, T*, std::int64_t, T*, std::int64_t, T*,           \
                                     const std::uint8_t*, std::int64_t);                                           \
  template void rnn_step_forward<T>(std::int64_t, std::int64_t, T*, std::int64_t, const T*, bool, T*, T*,          \
                                    std::int64_t, const std::uint8_t*, std::int64_t);                              \
  template void rnn_step_backward<T>(std::int64_t, std::int64_t, const T*, std::int64_t, bool, const T*,           \
                                     std::int64_t, T*, T*, std::int64_t, T*, const std::uint8_t*, std::int64_t);
KILN_INSTANTIATE(float)
KILN_INSTANTIATE(double)
#undef KILN_INSTANTIATE

}  // namespace kiln::kernels::cpu

KILN_VECTOR_MATH_END
