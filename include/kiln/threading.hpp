// How many threads Kiln's kernels use.
#pragma once

namespace kiln {

// Sets the number of threads for the kernels called from this thread (Kiln's
// loops and oneDNN share one OpenMP pool), OpenMP's rule: other threads keep
// their own count, and a new one starts from OMP_NUM_THREADS or all the cores.
// n <= 0 restores the default: the cores this process may use.
void set_num_threads(int n);
int get_num_threads();

}  // namespace kiln
