#include "kiln/mixed_precision.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

#include "kernels/cpu/bf16.hpp"
#include "kiln/error.hpp"
#include "layers/mixed_precision_notice.hpp"

namespace kiln::mixed_precision {
namespace {

std::mutex& policy_mutex() {
  static std::mutex mutex;
  return mutex;
}

DTypePolicy& global() {
  static DTypePolicy policy;
  return policy;
}

}  // namespace

DTypePolicy::DTypePolicy(std::string name) : name_(std::move(name)) {
  if (name_ != "float32" && name_ != "float64" && name_ != "mixed_bfloat16") {
    throw Error("dtype policy: expected \"float32\", \"float64\" or \"mixed_bfloat16\", got \"" + name_ + "\"" +
                (name_ == "mixed_float16" || name_ == "float16" || name_ == "bfloat16"
                     ? " (Kiln keeps weights in float32 and has no float16 kernels; use \"mixed_bfloat16\")"
                     : ""));
  }
}

std::string DTypePolicy::compute_dtype() const { return is_mixed() ? "bfloat16" : dtype_name(variable_dtype()); }

ComputeType DTypePolicy::compute_type() const {
  return is_mixed() && native_bf16() ? ComputeType::BFloat16 : ComputeType::Float32;
}

void notice_if_emulated(const DTypePolicy& policy) {
  static std::atomic<bool> told{false};
  if (!policy.is_mixed() || native_bf16() || told.exchange(true)) return;
  std::fprintf(stderr,
               "kiln: this CPU has no native bf16 arithmetic (AVX512-BF16 or AMX); the mixed_bfloat16 policy "
               "computes in float32 (emulated bf16 would be slower)\n");
}

void set_global_policy(const DTypePolicy& policy) {
  notice_if_emulated(policy);
  std::lock_guard lock(policy_mutex());
  global() = policy;
}

DTypePolicy global_policy() {
  std::lock_guard lock(policy_mutex());
  return global();
}

bool native_bf16() { return kernels::cpu::native_bf16(); }

}  // namespace kiln::mixed_precision
