// Layer fusion, a rewrite of a model's graph that every model kind applies
// before running it (Sequential's stack and a functional model's graph alike):
// a Conv2D (linear or ReLU) whose output only a MaxPooling2D reads runs
// together with it as one op, conv2d_max_pool2d, which gives the same outputs
// and gradients without keeping the convolution's output.
//
// Layers are matched by exact type (typeid): a subclass of Conv2D or
// MaxPooling2D may compute something else in its forward(), which the fused op
// would skip. Model::set_layer_fusion(false) turns the rewrite off.
#pragma once
#include <cstddef>
#include <limits>
#include <vector>

#include "kiln/layers/layer.hpp"

namespace kiln::model_detail {

// A model's graph as the pass sees it: one step per call, in running order.
struct FusionStep {
  const layers::Layer* layer = nullptr;  // null for an input or a nested model (never fused)
  std::vector<std::size_t> reads;        // the steps whose outputs this one takes, in argument order
  bool is_output = false;                // a model output must stay computed
};

inline constexpr std::size_t kNotFused = std::numeric_limits<std::size_t>::max();

// For each step i, the step j that runs it inside a fused op (i is then
// skipped, and j computes both from i's input); kNotFused otherwise.
std::vector<std::size_t> plan_fusion(const std::vector<FusionStep>& steps);

// pool(conv(x)) as one op, for a pair plan_fusion chose; checks x as calling
// the two layers one by one would, with the same errors.
Tensor run_conv_max_pool(layers::Layer& conv, layers::Layer& pool, const Tensor& x);

}  // namespace kiln::model_detail
