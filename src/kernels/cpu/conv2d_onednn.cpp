// The convolution kernels on oneDNN, which JITs AVX-512 or AVX2 code for the
// CPU it finds: float32, and mixed precision (bf16 products, float32
// accumulation, float32 outputs; AVX512-BF16 or AMX).
//
// Activations stay NHWC (what every other Kiln kernel reads), but the weights
// are left to oneDNN ("any"): its fastest kernels want them blocked, and
// reordering a few thousand weights per call costs far less than running the
// slower im2col+GEMM path that the plain [kh, kw, in, out] layout forces.
//
// Threads: a compiled primitive is built once per (kind, geometry), published
// in the cache and never written again, so every thread may run it at once
// (oneDNN allows that when each call brings its own scratchpad: user
// scratchpad mode, for the reorders too, since Debian's oneDNN gives each
// primitive a private library scratchpad that two threads would share).
// What a call writes lives in the calling thread: the weights reordered into
// the primitive's layout (onednn::staging) and the scratchpad
// (onednn::scratchpad). Two models with convolutions of the same shape on two
// threads therefore never read each other's weights, and one thread's steady
// state allocates nothing.
//
// The cache keeps the kConv2dCacheCapacity geometries used last for each kind
// (LRU), so a program that predicts on ever new batch sizes does not grow
// without end; a caller keeps its primitive alive (shared_ptr) while an
// eviction happens.
#include <array>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "kernels/cpu/bf16.hpp"
#include "kernels/cpu/conv2d.hpp"
#include "kernels/cpu/onednn.hpp"

namespace kiln::kernels::cpu {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

dnnl::primitive_attr attributes(bool relu) {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
  }
  return attr;
}

// A reorder between two weight layouts, with its own scratchpad size.
struct Reorder {
  dnnl::reorder primitive;
  memory::desc scratchpad;

  Reorder() = default;
  Reorder(const memory::desc& from, const memory::desc& to) {
    auto& eng = onednn::engine();
    const dnnl::reorder::primitive_desc pd(eng, from, eng, to, attributes(false));
    primitive = dnnl::reorder(pd);
    scratchpad = pd.scratchpad_desc();
  }
  void run(const memory& from, const memory& to) const {
    primitive.execute(
        onednn::stream(),
        {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}, {DNNL_ARG_SCRATCHPAD, onednn::scratchpad(scratchpad)}});
  }
};

// One compiled convolution primitive for one geometry: forward, forward with
// ReLU, backward data or backward weights.
enum Kind { kForward, kForwardRelu, kBackwardData, kBackwardWeights, kKinds };

struct Compiled {
  // src and dst are x (or its gradient) and y (or its gradient) as the primitive
  // reads or writes them: NHWC, in bf16 where a bf16 primitive reads them.
  memory::desc src, user_weights, bias, dst;
  dnnl::primitive primitive;
  memory::desc scratchpad;
  memory::desc weights;  // (diff) weights in the primitive's layout
  bool needs_reorder = false;
  Reorder reorder;  // hwio -> `weights` (forward, backward data), or back (backward weights)
};

using Key = std::array<std::int64_t, 18>;

Key key_of(const Conv2dGeometry& g, bool bf16) {
  return {g.N,          g.H,       g.W,        g.C,          g.KH,        g.KW,
          g.O,          g.OH,      g.OW,       g.stride_h,   g.stride_w,  g.dilation_h,
          g.dilation_w, g.pad_top, g.pad_left, g.pad_bottom, g.pad_right, bf16 ? 1 : 0};
}

// bf16: every product in bf16, accumulated and written in float32 (y, the input
// gradient, the kernel gradient); what the primitive reads is bf16.
std::shared_ptr<const Compiled> compile(const Conv2dGeometry& g, Kind kind, bool bf16) {
  auto c = std::make_shared<Compiled>();
  const memory::dims strides{g.stride_h, g.stride_w};
  const memory::dims dilates{g.dilation_h - 1, g.dilation_w - 1};  // oneDNN counts from 0
  const memory::dims pad_l{g.pad_top, g.pad_left}, pad_r{g.pad_bottom, g.pad_right};
  const bool forward = kind == kForward || kind == kForwardRelu;
  const dt x_type = bf16 && kind != kBackwardData ? dt::bf16 : dt::f32;
  const dt y_type = bf16 && !forward ? dt::bf16 : dt::f32;
  const dt product_type = bf16 ? dt::bf16 : dt::f32;
  const memory::desc any_weights({g.O, g.C, g.KH, g.KW}, product_type, tag::any);
  c->src = memory::desc({g.N, g.C, g.H, g.W}, x_type, tag::nhwc);
  c->user_weights = memory::desc({g.O, g.C, g.KH, g.KW}, dt::f32, tag::hwio);
  c->bias = memory::desc({g.O}, dt::f32, tag::a);
  c->dst = memory::desc({g.N, g.O, g.OH, g.OW}, y_type, tag::nhwc);
  auto& eng = onednn::engine();
  // The backward primitives' hint is the forward of a bf16 training step, all bf16 but the bias.
  const memory::desc hint_src({g.N, g.C, g.H, g.W}, product_type, tag::nhwc);
  const memory::desc hint_dst({g.N, g.O, g.OH, g.OW}, forward ? dt::f32 : product_type, tag::nhwc);
  const dnnl::convolution_forward::desc forward_desc(dnnl::prop_kind::forward_training,
                                                     dnnl::algorithm::convolution_direct, hint_src, any_weights,
                                                     c->bias, hint_dst, strides, dilates, pad_l, pad_r);
  // Backward primitives take the forward one as a hint (its weights layout).
  const dnnl::convolution_forward::primitive_desc forward_pd(forward_desc, attributes(kind == kForwardRelu), eng);
  switch (kind) {
    case kForward:
    case kForwardRelu:
      c->primitive = dnnl::convolution_forward(forward_pd);
      c->scratchpad = forward_pd.scratchpad_desc();
      c->weights = forward_pd.weights_desc();
      break;
    case kBackwardData: {
      const dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, c->src, any_weights, c->dst,
                                                       strides, dilates, pad_l, pad_r);
      const dnnl::convolution_backward_data::primitive_desc pd(desc, attributes(false), eng, forward_pd);
      c->primitive = dnnl::convolution_backward_data(pd);
      c->scratchpad = pd.scratchpad_desc();
      c->weights = pd.weights_desc();
      break;
    }
    case kBackwardWeights: {
      const memory::desc any_diff_weights({g.O, g.C, g.KH, g.KW}, dt::f32, tag::any);
      const dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, c->src, any_diff_weights,
                                                          c->dst, strides, dilates, pad_l, pad_r);
      const dnnl::convolution_backward_weights::primitive_desc pd(desc, attributes(false), eng, forward_pd);
      c->primitive = dnnl::convolution_backward_weights(pd);
      c->scratchpad = pd.scratchpad_desc();
      c->weights = pd.diff_weights_desc();
      break;
    }
    case kKinds:
      break;
  }
  c->needs_reorder = c->weights != c->user_weights;
  if (c->needs_reorder) {
    c->reorder = kind == kBackwardWeights ? Reorder(c->weights, c->user_weights) : Reorder(c->user_weights, c->weights);
  }
  return c;
}

// The last kConv2dCacheCapacity geometries of one kind, most recent first.
class PrimitiveCache {
 public:
  std::shared_ptr<const Compiled> get(const Conv2dGeometry& g, Kind kind, bool bf16) {
    const Key key = key_of(g, bf16);
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      recent_.splice(recent_.begin(), recent_, it->second.place);
      return it->second.compiled;
    }
    // Compiled under the lock: two threads asking for one new geometry build it once.
    auto compiled = compile(g, kind, bf16);
    if (entries_.size() == kConv2dCacheCapacity) {
      entries_.erase(recent_.back());
      recent_.pop_back();
    }
    recent_.push_front(key);
    entries_.emplace(key, Entry{compiled, recent_.begin()});
    return compiled;
  }

  std::size_t size() {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }

 private:
  struct Entry {
    std::shared_ptr<const Compiled> compiled;
    std::list<Key>::iterator place;  // in recent_
  };
  std::mutex mutex_;
  std::map<Key, Entry> entries_;
  std::list<Key> recent_;
};

PrimitiveCache& primitive_cache(Kind kind) {
  // Leaked on purpose, like the allocator: a thread may still convolve while statics are destroyed.
  static auto* caches = new std::array<PrimitiveCache, kKinds>();
  return (*caches)[kind];
}

std::shared_ptr<const Compiled> compiled(const Conv2dGeometry& g, Kind kind, bool bf16 = false) {
  return primitive_cache(kind).get(g, kind, bf16);
}

memory wrap(const memory::desc& desc, const void* data) {
  return memory(desc, onednn::engine(), const_cast<void*>(data));
}

// Weights in the layout the primitive wants: the user's buffer itself, or
// this thread's reordered copy.
memory stage_weights(const Compiled& c, const float* w) {
  const memory user = wrap(c.user_weights, w);
  if (!c.needs_reorder) return user;
  memory staged = onednn::staging(c.weights);
  c.reorder.run(user, staged);
  return staged;
}

// Runs a compiled weights-gradient primitive: x and gy in the element type it was compiled for
// (float32, or bf16 under mixed precision), the float32 gradient written to gw through this
// thread's staging copy when the primitive's weights layout is not the user's.
void run_backward_weights(const Compiled& c, const void* x, const void* gy, float* gw) {
  const memory user_diff = wrap(c.user_weights, gw);
  const memory diff_weights = c.needs_reorder ? onednn::staging(c.weights) : user_diff;
  c.primitive.execute(onednn::stream(), {{DNNL_ARG_SRC, wrap(c.src, x)},
                                         {DNNL_ARG_DIFF_DST, wrap(c.dst, gy)},
                                         {DNNL_ARG_DIFF_WEIGHTS, diff_weights},
                                         {DNNL_ARG_SCRATCHPAD, onednn::scratchpad(c.scratchpad)}});
  if (c.needs_reorder) c.reorder.run(diff_weights, user_diff);
  onednn::stream().wait();
}

}  // namespace

std::size_t conv2d_cache_size() {
  std::size_t n = 0;
  for (int kind = 0; kind < kKinds; ++kind) n += primitive_cache(static_cast<Kind>(kind)).size();
  return n;
}

void conv2d_forward(const float* x, const float* w, const float* b, float* y, const Conv2dGeometry& g, bool fuse_relu) {
  if (conv2d_forward_small_channels(x, w, b, y, g, fuse_relu)) return;
  const auto c = compiled(g, fuse_relu ? kForwardRelu : kForward);
  std::vector<float> zero_bias;
  if (b == nullptr) {
    zero_bias.assign(static_cast<std::size_t>(g.O), 0.0f);
    b = zero_bias.data();
  }
  const memory weights = stage_weights(*c, w);
  c->primitive.execute(onednn::stream(), {{DNNL_ARG_SRC, wrap(c->src, x)},
                                          {DNNL_ARG_WEIGHTS, weights},
                                          {DNNL_ARG_BIAS, wrap(c->bias, b)},
                                          {DNNL_ARG_DST, wrap(c->dst, y)},
                                          {DNNL_ARG_SCRATCHPAD, onednn::scratchpad(c->scratchpad)}});
  onednn::stream().wait();
}

void conv2d_backward_data(const float* gy, const float* w, float* gx, const Conv2dGeometry& g) {
  const auto c = compiled(g, kBackwardData);
  const memory weights = stage_weights(*c, w);
  c->primitive.execute(onednn::stream(), {{DNNL_ARG_DIFF_DST, wrap(c->dst, gy)},
                                          {DNNL_ARG_WEIGHTS, weights},
                                          {DNNL_ARG_DIFF_SRC, wrap(c->src, gx)},
                                          {DNNL_ARG_SCRATCHPAD, onednn::scratchpad(c->scratchpad)}});
  onednn::stream().wait();
}

void conv2d_backward_weights(const float* x, const float* gy, float* gw, const Conv2dGeometry& g) {
  if (conv2d_backward_weights_small_channels(x, gy, gw, g)) return;
  run_backward_weights(*compiled(g, kBackwardWeights), x, gy, gw);
}

// Mixed precision. Activations arrive in float32 and are rounded into this
// thread's bf16 buffers; the weights are rounded by the reorder into the
// primitive's layout that the float32 path runs anyway, so they cost no extra pass.
// Few input channels (an RGB first layer) keep the direct float32 kernels: with
// 27 products per output the work is memory bound, and the article's CNN trained
// about 8% slower with oneDNN's bf16 convolution for that layer.
void conv2d_forward_bf16(const float* x, const float* w, const float* b, float* y, const Conv2dGeometry& g,
                         bool fuse_relu) {
  if (conv2d_forward_small_channels(x, w, b, y, g, fuse_relu)) return;
  const auto c = compiled(g, fuse_relu ? kForwardRelu : kForward, true);
  std::vector<float> zero_bias;
  if (b == nullptr) {
    zero_bias.assign(static_cast<std::size_t>(g.O), 0.0f);
    b = zero_bias.data();
  }
  std::uint16_t* xb = bf16_buffer(0, g.N * g.H * g.W * g.C);
  float_to_bf16(x, xb, g.N * g.H * g.W * g.C);
  const memory weights = stage_weights(*c, w);
  c->primitive.execute(onednn::stream(), {{DNNL_ARG_SRC, wrap(c->src, xb)},
                                          {DNNL_ARG_WEIGHTS, weights},
                                          {DNNL_ARG_BIAS, wrap(c->bias, b)},
                                          {DNNL_ARG_DST, wrap(c->dst, y)},
                                          {DNNL_ARG_SCRATCHPAD, onednn::scratchpad(c->scratchpad)}});
  onednn::stream().wait();
}

void conv2d_backward_bf16(const float* x, const float* gy, const float* w, float* gx, float* gw,
                          const Conv2dGeometry& g) {
  const bool small_weights = gw && conv2d_backward_weights_small_channels(x, gy, gw, g);
  if (small_weights) gw = nullptr;
  if (!gx && !gw) return;
  // One rounding of gy serves both products.
  std::uint16_t* gyb = bf16_buffer(1, g.N * g.OH * g.OW * g.O);
  float_to_bf16(gy, gyb, g.N * g.OH * g.OW * g.O);
  if (gx) {
    const auto c = compiled(g, kBackwardData, true);
    const memory weights = stage_weights(*c, w);
    c->primitive.execute(onednn::stream(), {{DNNL_ARG_DIFF_DST, wrap(c->dst, gyb)},
                                            {DNNL_ARG_WEIGHTS, weights},
                                            {DNNL_ARG_DIFF_SRC, wrap(c->src, gx)},
                                            {DNNL_ARG_SCRATCHPAD, onednn::scratchpad(c->scratchpad)}});
    onednn::stream().wait();
  }
  if (gw) {
    std::uint16_t* xb = bf16_buffer(0, g.N * g.H * g.W * g.C);
    float_to_bf16(x, xb, g.N * g.H * g.W * g.C);
    run_backward_weights(*compiled(g, kBackwardWeights, true), xb, gyb, gw);
  }
}

}  // namespace kiln::kernels::cpu
