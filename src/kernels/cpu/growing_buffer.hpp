// Scratch memory that grows to the largest size asked for and is kept until its owner ends
// (its users make it thread_local), so that a steady run of training steps allocates nothing.
#pragma once
#include <cstddef>

#include "tensor/allocator.hpp"

namespace kiln::kernels::cpu {

class GrowingBuffer {
 public:
  GrowingBuffer() = default;
  GrowingBuffer(const GrowingBuffer&) = delete;
  GrowingBuffer& operator=(const GrowingBuffer&) = delete;
  ~GrowingBuffer() { kiln::memory::release(data_, size_); }

  // At least `bytes` of memory; its contents are not kept when it grows.
  void* reserve(std::size_t bytes) {
    if (bytes > size_) {
      kiln::memory::release(data_, size_);
      data_ = nullptr;  // (allocate may throw)
      size_ = 0;
      data_ = kiln::memory::allocate(bytes);
      size_ = bytes;
    }
    return data_;
  }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace kiln::kernels::cpu
