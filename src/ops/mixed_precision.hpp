// Which ops run their bf16 kernels (kiln/compute_type.hpp).
#pragma once
#include "kiln/compute_type.hpp"
#include "kiln/dtype.hpp"

namespace kiln::ops_detail {

// Float32 tensors, BFloat16 asked for, and native bf16 on this CPU (without it, oneDNN's
// emulated bf16 is slower than float32, so the op computes in float32).
bool runs_bf16(DType dtype, ComputeType compute);

}  // namespace kiln::ops_detail
