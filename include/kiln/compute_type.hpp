// The type an op multiplies in when its tensors are float32.
#pragma once
#include <cstdint>

namespace kiln {

// BFloat16: mixed precision (kiln/mixed_precision.hpp). The op rounds its float32
// operands to bf16 for the products and sums and returns float32; on a CPU without
// native bf16 (kernels::cpu::native_bf16) it computes in float32. Ignored by
// float64 tensors, which always compute in float64.
enum class ComputeType : std::uint8_t { Float32, BFloat16 };

}  // namespace kiln
