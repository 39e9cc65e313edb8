#include "kernels/cpu/bf16.hpp"

#include <algorithm>
#include <bit>
#include <dnnl.hpp>

#include "kernels/cpu/growing_buffer.hpp"
#include "kernels/cpu/multiversion.hpp"
#include "kernels/cpu/parallel.hpp"

namespace kiln::kernels::cpu {
namespace {

// Integer arithmetic, so that the compiler vectorises it for any x86-64 (no
// vcvtneps2bf16 needed) and no oneDNN reorder primitive is built per shape.
inline std::uint16_t round_to_bf16(float value) {
  const auto bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t rounded = (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
  const bool nan = (bits & 0x7FFFFFFFu) > 0x7F800000u;
  return static_cast<std::uint16_t>(nan ? ((bits >> 16) | 0x40u) : rounded);
}

KILN_MULTIVERSION void round_range(const float* in, std::uint16_t* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = round_to_bf16(in[i]);
}

KILN_MULTIVERSION void widen_range(const std::uint16_t* in, float* out, std::int64_t n) {
  for (std::int64_t i = 0; i < n; ++i) out[i] = std::bit_cast<float>(static_cast<std::uint32_t>(in[i]) << 16);
}

}  // namespace

bool native_bf16() {
  static const bool native = [] {
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
    return (isa & bf16) == bf16;  // oneDNN's ISAs are nested bit sets; AMX includes AVX512-BF16
  }();
  return native;
}

std::uint16_t float_to_bf16(float value) { return round_to_bf16(value); }

float bf16_to_float(std::uint16_t value) { return std::bit_cast<float>(static_cast<std::uint32_t>(value) << 16); }

void float_to_bf16(const float* in, std::uint16_t* out, std::int64_t n) {
  parallel_for((n + 1023) / 1024, 1024, [&](std::int64_t begin, std::int64_t end) {
    round_range(in + begin * 1024, out + begin * 1024, std::min(end * 1024, n) - begin * 1024);
  });
}

void bf16_to_float(const std::uint16_t* in, float* out, std::int64_t n) {
  parallel_for((n + 1023) / 1024, 1024, [&](std::int64_t begin, std::int64_t end) {
    widen_range(in + begin * 1024, out + begin * 1024, std::min(end * 1024, n) - begin * 1024);
  });
}

std::uint16_t* bf16_buffer(int slot, std::int64_t elements) {
  static thread_local GrowingBuffer buffers[2];
  return static_cast<std::uint16_t*>(buffers[slot].reserve(static_cast<std::size_t>(elements) * sizeof(std::uint16_t)));
}

}  // namespace kiln::kernels::cpu
