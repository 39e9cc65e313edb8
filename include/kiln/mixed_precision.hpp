// Mixed precision, Keras's way (keras.mixed_precision).
//
//   kiln::mixed_precision::set_global_policy("mixed_bfloat16");
//   kiln::Sequential model;  // layers made from now on compute in bf16
//
// A policy names the dtype a layer's weights are stored in (variable_dtype) and
// the dtype its products are computed in (compute_dtype):
//   "float32"          float32, float32 (the default)
//   "float64"          float64, float64 (gradient checks)
//   "mixed_bfloat16"   float32, bfloat16
// Under "mixed_bfloat16" the weights and the activations between layers stay
// float32; Conv2D, Dense, LSTM, GRU and MultiHeadAttention round the operands of
// their matrix products and convolutions to bf16 and accumulate in float32.
// Softmax, losses, normalization statistics and the optimizer stay float32, so
// no loss scaling is needed (bf16 has float32's exponent range). Model files keep
// float32 weights and record each layer's policy under "dtype", as Keras 3 does.
//
// bf16 is fast only where the CPU multiplies it natively (AVX512-BF16, AMX). On
// other CPUs a mixed_bfloat16 policy computes in float32 and says so once on
// stderr: emulated bf16 would be slower than float32.
#pragma once
#include <string>

#include "kiln/compute_type.hpp"
#include "kiln/dtype.hpp"

namespace kiln::mixed_precision {

class DTypePolicy {
 public:
  // Throws an Error naming the policies Kiln has when `name` is not one of them.
  DTypePolicy(std::string name = "float32");  // NOLINT: a name reads as a policy, as in Keras
  DTypePolicy(const char* name) : DTypePolicy(std::string(name)) {}  // NOLINT

  const std::string& name() const { return name_; }
  DType variable_dtype() const { return name_ == "float64" ? DType::Float64 : DType::Float32; }
  // "float32", "float64" or "bfloat16", as Keras names them.
  std::string compute_dtype() const;
  bool is_mixed() const { return name_ == "mixed_bfloat16"; }
  // What the kernels multiply in on this CPU: BFloat16 only for a mixed policy on native bf16.
  ComputeType compute_type() const;
  bool operator==(const DTypePolicy& other) const { return name_ == other.name_; }

 private:
  std::string name_;
};

// The policy layers made from now on take (Keras's set_global_policy); a layer keeps
// the policy it was made with. Not for changing while other threads make layers.
void set_global_policy(const DTypePolicy& policy);
DTypePolicy global_policy();

// Whether this CPU has native bf16 arithmetic (AVX512-BF16 or AMX) as oneDNN sees
// it (the environment variable DNNL_MAX_CPU_ISA can lower what it uses).
bool native_bf16();

}  // namespace kiln::mixed_precision
