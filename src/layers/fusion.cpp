#include "layers/fusion.hpp"

#include "kiln/layers/conv2d.hpp"
#include "kiln/layers/pooling.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

std::optional<Tensor> run_fused(Layer& first, Layer& second, const Tensor& x) {
  auto* conv = dynamic_cast<Conv2D*>(&first);
  auto* pool = dynamic_cast<MaxPooling2D*>(&second);
  if (!conv || !pool) return std::nullopt;
  const std::string& activation = conv->options().activation;
  if (!(activation.empty() || activation == "linear" || activation == "relu")) return std::nullopt;
  const Tensor in = conv->prepare(x);  // the same checks, errors and casts as calling the layers one by one
  if (pool->dtype() != conv->dtype()) return std::nullopt;
  pool->build(conv->output_shape());
  return conv2d_max_pool2d(in, conv->kernel(), conv->bias(), conv->conv_params(), pool->pool_params());
}

}  // namespace kiln::layers
