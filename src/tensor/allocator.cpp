#include "tensor/allocator.hpp"

#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace kiln::memory {
namespace {

constexpr std::size_t kAlignment = 64;
// Cached memory beyond this is given back to the system instead of kept.
constexpr std::size_t kMaxCachedBytes = std::size_t{1} << 30;

// Size classes: 64-byte multiples up to 4 KiB, then four classes per power of
// two, so a block is at most 25% larger than asked for.
std::size_t size_class(std::size_t nbytes) {
  if (nbytes <= 4096) return (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  const std::size_t top = std::bit_floor(nbytes);
  const std::size_t step = top / 4;
  return (nbytes + step - 1) / step * step;
}

struct Cache {
  std::mutex mutex;
  std::unordered_map<std::size_t, std::vector<void*>> free_blocks;
  Stats stats;
};

Cache& cache() {
  // Leaked on purpose: tensors in static objects may be freed after main returns.
  static Cache* instance = new Cache();
  return *instance;
}

}  // namespace

void* allocate(std::size_t nbytes) {
  if (nbytes == 0) nbytes = 1;
  const std::size_t size = size_class(nbytes);
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end() && !it->second.empty()) {
      void* ptr = it->second.back();
      it->second.pop_back();
      c.stats.bytes_cached -= size;
      c.stats.bytes_in_use += size;
      if (c.stats.bytes_in_use > c.stats.peak_bytes_in_use) c.stats.peak_bytes_in_use = c.stats.bytes_in_use;
      return ptr;
    }
  }
  void* ptr = std::aligned_alloc(kAlignment, size);
  if (ptr == nullptr) {
    empty_cache();
    ptr = std::aligned_alloc(kAlignment, size);
    if (ptr == nullptr) throw std::bad_alloc();
  }
  std::lock_guard lock(c.mutex);
  c.stats.bytes_in_use += size;
  if (c.stats.bytes_in_use > c.stats.peak_bytes_in_use) c.stats.peak_bytes_in_use = c.stats.bytes_in_use;
  return ptr;
}

void release(void* ptr, std::size_t nbytes) {
  if (ptr == nullptr) return;
  if (nbytes == 0) nbytes = 1;
  const std::size_t size = size_class(nbytes);
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    c.stats.bytes_in_use -= size;
    if (c.stats.bytes_cached + size <= kMaxCachedBytes) {
      c.free_blocks[size].push_back(ptr);
      c.stats.bytes_cached += size;
      return;
    }
  }
  std::free(ptr);
}

Stats stats() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  return c.stats;
}

void empty_cache() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  for (auto& [size, blocks] : c.free_blocks) {
    for (void* ptr : blocks) std::free(ptr);
    blocks.clear();
  }
  c.stats.bytes_cached = 0;
}

}  // namespace kiln::memory
