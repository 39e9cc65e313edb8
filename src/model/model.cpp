// What every model is, apart from training: its weights and summary.
#include "kiln/model.hpp"

#include <iostream>

namespace kiln {

std::vector<Tensor> Model::trainable_weights() const {
  std::vector<Tensor> out;
  for (const auto& layer : layers()) {
    for (const Tensor& w : layer->trainable_weights()) out.push_back(w);
  }
  return out;
}

std::int64_t Model::count_params() const {
  std::int64_t n = 0;
  for (const auto& layer : layers()) n += layer->count_params();
  return n;
}

void Model::summary() const { summary(std::cout); }

}  // namespace kiln
