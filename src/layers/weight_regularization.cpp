#include "layers/weight_regularization.hpp"

#include "kiln/ops.hpp"

namespace kiln::layers_detail {

Tensor activity_penalty(const regularizers::RegularizerArgument& regularizer, const Tensor& output) {
  const Tensor penalty = regularizer(output);
  // Keras divides by the batch size and leaves a scalar output's penalty (or an empty batch's, 0) as it is.
  if (output.ndim() == 0 || output.size(0) == 0) return penalty;
  return penalty / static_cast<double>(output.size(0));
}

std::vector<Tensor> penalties(const std::vector<RuledWeight>& weights,
                              const regularizers::RegularizerArgument& activity, const std::vector<Tensor>& outputs) {
  std::vector<Tensor> out;
  for (const RuledWeight& w : weights) {
    if (w.regularizer && w.weight.defined()) out.push_back(w.regularizer(w.weight));
  }
  if (activity) {
    for (const Tensor& output : outputs) {
      if (output.defined()) out.push_back(activity_penalty(activity, output));
    }
  }
  return out;
}

void constrain(const std::vector<RuledWeight>& weights) {
  for (const RuledWeight& w : weights) {
    if (!w.constraint || !w.weight.defined()) continue;
    Tensor handle = w.weight;  // shares the layer's storage: apply() writes into it
    w.constraint.apply(handle);
  }
}

}  // namespace kiln::layers_detail
