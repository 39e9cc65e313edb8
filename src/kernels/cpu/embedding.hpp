// Table lookups: rows of an embedding table selected by integer ids.
//   ids [n] (already checked to lie in [0, V)), table [V, D], out [n, D].
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

// out[i, :] = table[ids[i], :]
template <typename T>
void embedding_gather(const std::int64_t* ids, std::int64_t n, const T* table, std::int64_t D, T* out);

// gtable[ids[i], :] += g[i, :], in order of i (repeated ids accumulate
// deterministically). gtable must hold the starting values (usually zeros).
template <typename T>
void embedding_scatter_add(const std::int64_t* ids, std::int64_t n, const T* g, std::int64_t D, T* gtable);

}  // namespace kiln::kernels::cpu
