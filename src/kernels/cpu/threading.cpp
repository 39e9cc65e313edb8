#include <omp.h>
#include <sched.h>

#include "kiln/threading.hpp"

namespace kiln {
namespace {

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  return omp_get_num_procs();
}

}  // namespace

void set_num_threads(int n) { omp_set_num_threads(n > 0 ? n : available_cores()); }

int get_num_threads() { return omp_get_max_threads(); }

}  // namespace kiln
