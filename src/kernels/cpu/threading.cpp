#include "kiln/threading.hpp"

#include <omp.h>

#include "kernels/cpu/core_usage.hpp"

namespace kiln {
namespace {

int available_cores() {
  const auto cpus = kernels::cpu::allowed_cpus();
  return cpus.empty() ? omp_get_num_procs() : static_cast<int>(cpus.size());
}

}  // namespace

void set_num_threads(int n) { omp_set_num_threads(n > 0 ? n : available_cores()); }

int get_num_threads() { return omp_get_max_threads(); }

}  // namespace kiln
