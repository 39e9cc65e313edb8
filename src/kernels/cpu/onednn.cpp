#include "kernels/cpu/onednn.hpp"

#include "kernels/cpu/growing_buffer.hpp"

namespace kiln::kernels::cpu::onednn {

dnnl::engine& engine() {
  static dnnl::engine instance(dnnl::engine::kind::cpu, 0);
  return instance;
}

dnnl::stream& stream() {
  static thread_local dnnl::stream instance(engine());
  return instance;
}

dnnl::memory scratchpad(const dnnl::memory::desc& desc) {
  static thread_local GrowingBuffer buffer;
  return dnnl::memory(desc, engine(), buffer.reserve(desc.get_size()));
}

dnnl::memory staging(const dnnl::memory::desc& desc) {
  static thread_local GrowingBuffer buffer;
  return dnnl::memory(desc, engine(), buffer.reserve(desc.get_size()));
}

}  // namespace kiln::kernels::cpu::onednn
