// A hook into backward() for what runs beside it: data-parallel training (kiln_distributed)
// starts reducing each weight's gradient as soon as backward() has finished it.
#pragma once
#include <functional>

#include "kiln/tensor.hpp"

namespace kiln::autograd {

// Called by backward() for each leaf that requires a gradient as soon as its grad() is
// complete for this pass (no op left in the pass can add to it), in the order they finish
// (PyTorch DDP's post-accumulate hooks). gradients()/grad(), which accumulate nothing, do not
// call it. One hook per process; an empty one removes it.
using GradReadyHook = std::function<void(const Tensor& leaf)>;
void set_grad_ready_hook(GradReadyHook hook);

}  // namespace kiln::autograd
