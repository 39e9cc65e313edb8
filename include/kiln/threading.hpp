// How many threads Kiln's kernels use.
#pragma once

namespace kiln {

// Sets the number of threads for every kernel (Kiln's loops and oneDNN share
// one OpenMP pool). n <= 0 restores the default: the cores this process may use.
void set_num_threads(int n);
int get_num_threads();

}  // namespace kiln
