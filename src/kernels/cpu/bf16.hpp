// bfloat16: float32's sign, 8-bit exponent and top 7 mantissa bits (8 with the
// implicit one), stored as uint16. Mixed-precision kernels round their float32
// inputs to it, multiply in it and accumulate in float32.
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

// Whether oneDNN multiplies bf16 natively on this CPU (AVX512-BF16 or AMX), as
// oneDNN sees it (DNNL_MAX_CPU_ISA lowers it). Without it oneDNN emulates bf16
// with float32 instructions, slower than float32 itself. Asked once.
bool native_bf16();

// out[i] = in[i] rounded to the nearest bf16, ties to even (what vcvtneps2bf16
// and oneDNN's reorders do); NaN stays NaN. Parallel over the OpenMP pool.
void float_to_bf16(const float* in, std::uint16_t* out, std::int64_t n);
// The exact float32 value of each bf16.
void bf16_to_float(const std::uint16_t* in, float* out, std::int64_t n);
// One value, for tests and reference code.
std::uint16_t float_to_bf16(float value);
float bf16_to_float(std::uint16_t value);

// A float32 matrix in bf16 on this thread, kept until the thread asks for
// `slot` again: slot 0 for a primitive's source, 1 for its gradient.
std::uint16_t* bf16_buffer(int slot, std::int64_t elements);

}  // namespace kiln::kernels::cpu
