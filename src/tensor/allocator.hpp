// CPU memory for tensors, cached by size class.
//
// A training step allocates the same buffer sizes every step. Returning them
// to malloc makes glibc unmap multi-MB blocks and fault fresh zeroed pages in
// again next step (PyTorch lost 1.6x to this here), so freed blocks are kept
// in per-size free lists and handed out again.
#pragma once
#include <cstddef>

namespace kiln::memory {

// 64-byte aligned, uninitialised.
void* allocate(std::size_t nbytes);
void release(void* ptr, std::size_t nbytes);

struct Stats {
  std::size_t bytes_in_use = 0;
  std::size_t bytes_cached = 0;
  std::size_t peak_bytes_in_use = 0;
};
Stats stats();
// Returns every cached block to the system.
void empty_cache();

}  // namespace kiln::memory
