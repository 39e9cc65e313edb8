#include "model/fusion.hpp"

#include <typeinfo>

#include "kiln/layers/conv2d.hpp"
#include "kiln/layers/pooling.hpp"
#include "kiln/ops.hpp"

namespace kiln::model_detail {
namespace {

bool fusable(const layers::Layer& first, const layers::Layer& second) {
  if (typeid(first) != typeid(layers::Conv2D) || typeid(second) != typeid(layers::MaxPooling2D)) return false;
  const auto& conv = static_cast<const layers::Conv2D&>(first);
  const std::string& activation = conv.options().activation;
  // A grouped convolution is several convolutions; the fused kernel does one. An activity
  // regularizer needs the convolution's own output, which the fused op never forms.
  return conv.options().groups == 1 && (activation.empty() || activation == "linear" || activation == "relu") &&
         second.dtype() == first.dtype() && !conv.options().activity_regularizer;
}

}  // namespace

std::vector<std::size_t> plan_fusion(const std::vector<FusionStep>& steps) {
  std::vector<std::size_t> readers(steps.size(), 0), reader(steps.size(), kNotFused);
  for (std::size_t j = 0; j < steps.size(); ++j) {
    for (std::size_t i : steps[j].reads) {
      ++readers[i];
      reader[i] = j;
    }
  }
  std::vector<std::size_t> fused_into(steps.size(), kNotFused);
  for (std::size_t i = 0; i < steps.size(); ++i) {
    if (!steps[i].layer || steps[i].is_output || readers[i] != 1) continue;
    const FusionStep& next = steps[reader[i]];
    if (next.layer && next.reads.size() == 1 && fusable(*steps[i].layer, *next.layer)) fused_into[i] = reader[i];
  }
  return fused_into;
}

Tensor run_conv_max_pool(layers::Layer& conv_layer, layers::Layer& pool_layer, const Tensor& x) {
  auto& conv = static_cast<layers::Conv2D&>(conv_layer);
  auto& pool = static_cast<layers::MaxPooling2D&>(pool_layer);
  const Tensor in = conv.prepare(x);  // the same checks, errors and casts as calling the layers one by one
  pool.build(conv.output_shape());     // builds nothing (no weights), or checks the shape it was built for
  return conv2d_max_pool2d(in, conv.kernel(), conv.bias(), conv.conv_params(), pool.pool_params());
}

}  // namespace kiln::model_detail
