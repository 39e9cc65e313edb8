// The fallback notice of kiln/mixed_precision.hpp, shared by the global policy and layers' own.
#pragma once
#include "kiln/mixed_precision.hpp"

namespace kiln::mixed_precision {

// Prints, once per process, that a mixed_bfloat16 policy computes in float32 on this CPU
// (no native bf16); nothing for other policies or on CPUs with native bf16.
void notice_if_emulated(const DTypePolicy& policy);

}  // namespace kiln::mixed_precision
