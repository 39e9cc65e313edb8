// Shared oneDNN engine, stream and scratchpad for the kernels that use it.
#pragma once
#include <dnnl.hpp>

namespace kiln::kernels::cpu::onednn {

dnnl::engine& engine();
dnnl::stream& stream();
// A scratchpad memory of at least `desc`'s size, reused across calls on this thread.
dnnl::memory scratchpad(const dnnl::memory::desc& desc);

}  // namespace kiln::kernels::cpu::onednn
