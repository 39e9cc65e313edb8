#include "ops/mixed_precision.hpp"

#include "kernels/cpu/bf16.hpp"

namespace kiln::ops_detail {

bool runs_bf16(DType dtype, ComputeType compute) {
  return compute == ComputeType::BFloat16 && dtype == DType::Float32 && kernels::cpu::native_bf16();
}

}  // namespace kiln::ops_detail
