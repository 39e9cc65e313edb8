// oneDNN's engine (shared), and the stream and buffers each thread uses.
#pragma once
#include <dnnl.hpp>

namespace kiln::kernels::cpu::onednn {

dnnl::engine& engine();
dnnl::stream& stream();
// Buffers of the calling thread, so that threads running one primitive at once
// never share what it writes. Each grows to the largest `desc` asked for and is
// reused: a call's memory stays valid until this thread asks for that kind again.
// The scratchpad of a primitive in user scratchpad mode.
dnnl::memory scratchpad(const dnnl::memory::desc& desc);
// Weights reordered into a primitive's layout (apart from the scratchpad, which
// the reorder and then the primitive need while these live).
dnnl::memory staging(const dnnl::memory::desc& desc);

}  // namespace kiln::kernels::cpu::onednn
