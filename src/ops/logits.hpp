// Probabilities that remember their logits. softmax and sigmoid attach the
// tensor they were computed from to the tensor they return, in grad mode and
// under NoGradGuard alike, so a cross-entropy loss computes the same exact value
// in training and evaluation without reading autograd's bookkeeping. Views of
// the probabilities and results computed from them carry nothing.
#pragma once
#include "kiln/tensor.hpp"
#include "tensor/tensor_impl.hpp"

namespace kiln::ops_detail {

void attach_logits(const Tensor& probabilities, const Tensor& logits, LogitsOf kind);

// The logits `probabilities` came from when a `kind` op returned it and it has
// not been written in place since; an undefined tensor otherwise.
Tensor logits_of(const Tensor& probabilities, LogitsOf kind);

}  // namespace kiln::ops_detail
