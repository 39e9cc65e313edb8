#include "kernels/cpu/onednn.hpp"

#include <memory>

#include "tensor/allocator.hpp"

namespace kiln::kernels::cpu::onednn {

dnnl::engine& engine() {
  static dnnl::engine instance(dnnl::engine::kind::cpu, 0);
  return instance;
}

dnnl::stream& stream() {
  static thread_local dnnl::stream instance(engine());
  return instance;
}

namespace {
struct Buffer {
  void* data = nullptr;
  std::size_t size = 0;
  ~Buffer() { kiln::memory::release(data, size); }
};

// Grown to the largest size asked for, kept until the thread ends.
dnnl::memory grow(Buffer& buffer, const dnnl::memory::desc& desc) {
  const std::size_t need = desc.get_size();
  if (need > buffer.size) {
    kiln::memory::release(buffer.data, buffer.size);
    buffer.data = nullptr;  // (allocate may throw)
    buffer.size = 0;
    buffer.data = kiln::memory::allocate(need);
    buffer.size = need;
  }
  return dnnl::memory(desc, engine(), buffer.data);
}
}  // namespace

dnnl::memory scratchpad(const dnnl::memory::desc& desc) {
  static thread_local Buffer buffer;
  return grow(buffer, desc);
}

dnnl::memory staging(const dnnl::memory::desc& desc) {
  static thread_local Buffer buffer;
  return grow(buffer, desc);
}

}  // namespace kiln::kernels::cpu::onednn
