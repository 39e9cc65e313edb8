// The float32 convolution kernels on oneDNN, which JITs AVX-512 or AVX2 code
// for the CPU it finds.
//
// Activations stay NHWC (what every other Kiln kernel reads), but the weights
// are left to oneDNN ("any"): its fastest kernels want them blocked, and
// reordering a few thousand weights per call costs far less than running the
// slower im2col+GEMM path that the plain [kh, kw, in, out] layout forces.
// Primitives are built once per geometry and cached.
#include <array>
#include <map>
#include <mutex>

#include "kernels/cpu/conv2d.hpp"
#include "kernels/cpu/onednn.hpp"
#include "tensor/allocator.hpp"

namespace kiln::kernels::cpu {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// A weights buffer in a primitive's preferred layout, kept between calls.
struct Staged {
  memory::desc desc;
  bool needs_reorder = false;
  dnnl::reorder to_user, from_user;  // between Keras's hwio and `desc`
  void* buffer = nullptr;
  std::size_t size = 0;

  void init(const memory::desc& preferred, const memory::desc& user) {
    desc = preferred;
    needs_reorder = preferred != user;
    if (!needs_reorder) return;
    size = preferred.get_size();
    buffer = kiln::memory::allocate(size);
    auto& eng = onednn::engine();
    from_user = dnnl::reorder(dnnl::reorder::primitive_desc(eng, user, eng, preferred));
    to_user = dnnl::reorder(dnnl::reorder::primitive_desc(eng, preferred, eng, user));
  }
  ~Staged() { kiln::memory::release(buffer, size); }
};

struct ConvPrimitives {
  memory::desc src, user_weights, bias, dst;
  dnnl::convolution_forward::primitive_desc forward_pd;
  dnnl::convolution_forward forward, forward_relu;
  memory::desc forward_scratch, forward_relu_scratch;
  Staged forward_weights;
  // Built on first use: inference never needs them.
  bool has_backward = false;
  dnnl::convolution_backward_data backward_data;
  dnnl::convolution_backward_weights backward_weights;
  memory::desc backward_data_scratch, backward_weights_scratch;
  Staged backward_data_weights, backward_diff_weights;
};

using Key = std::array<std::int64_t, 17>;

Key key_of(const Conv2dGeometry& g) {
  return {g.N,        g.H,          g.W,          g.C,       g.KH,       g.KW,        g.O,
          g.OH,       g.OW,         g.stride_h,   g.stride_w, g.dilation_h, g.dilation_w, g.pad_top,
          g.pad_left, g.pad_bottom, g.pad_right};
}

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

ConvPrimitives& primitives(const Conv2dGeometry& g, bool need_backward) {
  static std::mutex mutex;
  static std::map<Key, std::unique_ptr<ConvPrimitives>> cache;
  std::lock_guard lock(mutex);
  auto& slot = cache[key_of(g)];
  const memory::dims strides{g.stride_h, g.stride_w};
  const memory::dims dilates{g.dilation_h - 1, g.dilation_w - 1};  // oneDNN counts from 0
  const memory::dims pad_l{g.pad_top, g.pad_left}, pad_r{g.pad_bottom, g.pad_right};
  const memory::desc any_weights({g.O, g.C, g.KH, g.KW}, dt::f32, tag::any);
  if (!slot) {
    slot = std::make_unique<ConvPrimitives>();
    auto& p = *slot;
    p.src = memory::desc({g.N, g.C, g.H, g.W}, dt::f32, tag::nhwc);
    p.user_weights = memory::desc({g.O, g.C, g.KH, g.KW}, dt::f32, tag::hwio);
    p.bias = memory::desc({g.O}, dt::f32, tag::a);
    p.dst = memory::desc({g.N, g.O, g.OH, g.OW}, dt::f32, tag::nhwc);
    dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                         p.src, any_weights, p.bias, p.dst, strides, dilates, pad_l, pad_r);
    p.forward_pd = dnnl::convolution_forward::primitive_desc(desc, attributes(false), onednn::engine());
    p.forward = dnnl::convolution_forward(p.forward_pd);
    p.forward_scratch = p.forward_pd.scratchpad_desc();
    dnnl::convolution_forward::primitive_desc relu_pd(desc, attributes(true), onednn::engine());
    p.forward_relu = dnnl::convolution_forward(relu_pd);
    p.forward_relu_scratch = relu_pd.scratchpad_desc();
    // Both forward variants choose the same weights layout (the post-op does not change it).
    p.forward_weights.init(p.forward_pd.weights_desc(), p.user_weights);
  }
  auto& p = *slot;
  if (need_backward && !p.has_backward) {
    dnnl::convolution_backward_data::desc data_desc(dnnl::algorithm::convolution_direct, p.src, any_weights, p.dst,
                                                    strides, dilates, pad_l, pad_r);
    dnnl::convolution_backward_data::primitive_desc data_pd(data_desc, attributes(false), onednn::engine(),
                                                            p.forward_pd);
    p.backward_data = dnnl::convolution_backward_data(data_pd);
    p.backward_data_scratch = data_pd.scratchpad_desc();
    p.backward_data_weights.init(data_pd.weights_desc(), p.user_weights);
    dnnl::convolution_backward_weights::desc weights_desc(dnnl::algorithm::convolution_direct, p.src, any_weights,
                                                          p.dst, strides, dilates, pad_l, pad_r);
    dnnl::convolution_backward_weights::primitive_desc weights_pd(weights_desc, attributes(false),
                                                                  onednn::engine(), p.forward_pd);
    p.backward_weights = dnnl::convolution_backward_weights(weights_pd);
    p.backward_weights_scratch = weights_pd.scratchpad_desc();
    p.backward_diff_weights.init(weights_pd.diff_weights_desc(), p.user_weights);
    p.has_backward = true;
  }
  return p;
}

memory wrap(const memory::desc& desc, const void* data) {
  return memory(desc, onednn::engine(), const_cast<void*>(data));
}

// Weights in the layout `staged` wants: the user's buffer itself, or a reordered copy.
memory stage_weights(Staged& staged, const memory::desc& user, const float* w) {
  if (!staged.needs_reorder) return wrap(user, w);
  memory in = wrap(user, w), out = wrap(staged.desc, staged.buffer);
  staged.from_user.execute(onednn::stream(), in, out);
  return out;
}

}  // namespace

void conv2d_forward(const float* x, const float* w, const float* b, float* y, const Conv2dGeometry& g,
                    bool fuse_relu) {
  if (conv2d_forward_small_channels(x, w, b, y, g, fuse_relu)) return;
  auto& p = primitives(g, false);
  std::vector<float> zero_bias;
  if (b == nullptr) {
    zero_bias.assign(static_cast<std::size_t>(g.O), 0.0f);
    b = zero_bias.data();
  }
  auto& prim = fuse_relu ? p.forward_relu : p.forward;
  const memory weights = stage_weights(p.forward_weights, p.user_weights, w);
  prim.execute(onednn::stream(), {{DNNL_ARG_SRC, wrap(p.src, x)},
                                  {DNNL_ARG_WEIGHTS, weights},
                                  {DNNL_ARG_BIAS, wrap(p.bias, b)},
                                  {DNNL_ARG_DST, wrap(p.dst, y)},
                                  {DNNL_ARG_SCRATCHPAD,
                                   onednn::scratchpad(fuse_relu ? p.forward_relu_scratch : p.forward_scratch)}});
  onednn::stream().wait();
}

void conv2d_backward_data(const float* gy, const float* w, float* gx, const Conv2dGeometry& g) {
  auto& p = primitives(g, true);
  const memory weights = stage_weights(p.backward_data_weights, p.user_weights, w);
  p.backward_data.execute(onednn::stream(), {{DNNL_ARG_DIFF_DST, wrap(p.dst, gy)},
                                             {DNNL_ARG_WEIGHTS, weights},
                                             {DNNL_ARG_DIFF_SRC, wrap(p.src, gx)},
                                             {DNNL_ARG_SCRATCHPAD, onednn::scratchpad(p.backward_data_scratch)}});
  onednn::stream().wait();
}

void conv2d_backward_weights(const float* x, const float* gy, float* gw, const Conv2dGeometry& g) {
  if (conv2d_backward_weights_small_channels(x, gy, gw, g)) return;
  auto& p = primitives(g, true);
  Staged& staged = p.backward_diff_weights;
  memory user_diff = wrap(p.user_weights, gw);
  memory diff_weights = staged.needs_reorder ? wrap(staged.desc, staged.buffer) : user_diff;
  p.backward_weights.execute(onednn::stream(),
                             {{DNNL_ARG_SRC, wrap(p.src, x)},
                              {DNNL_ARG_DIFF_DST, wrap(p.dst, gy)},
                              {DNNL_ARG_DIFF_WEIGHTS, diff_weights},
                              {DNNL_ARG_SCRATCHPAD, onednn::scratchpad(p.backward_weights_scratch)}});
  if (staged.needs_reorder) staged.to_user.execute(onednn::stream(), diff_weights, user_diff);
  onednn::stream().wait();
}

}  // namespace kiln::kernels::cpu
