// The per-element loops of the cross-entropy losses (T = float or double). The
// log-softmax itself is kernels/cpu/softmax.hpp's; these take its output.
#pragma once
#include <cstdint>

namespace kiln::kernels::cpu {

// Sparse categorical, backward, over [N, C]: gx[i, c] = g[i] (exp(log_probs[i, c]) - [c == labels[i]]).
template <typename T>
void sparse_softmax_cross_entropy_backward(const T* log_probs, const std::int64_t* labels, const T* g, T* gx,
                                           std::int64_t N, std::int64_t C);

// Categorical, backward, over [N, C]: gx[i, c] = g[i] (exp(log_probs[i, c]) sum_c' t[i, c'] - t[i, c])
// and gt[i, c] = -g[i] log_probs[i, c]; either output may be null (not needed).
template <typename T>
void softmax_cross_entropy_backward(const T* log_probs, const T* targets, const T* g, T* gx, T* gt, std::int64_t N,
                                    std::int64_t C);

// Binary, from logits, elementwise: loss = max(x, 0) - x t + log(1 + exp(-|x|)).
template <typename T>
void sigmoid_cross_entropy(const T* x, const T* targets, T* loss, std::int64_t n);

}  // namespace kiln::kernels::cpu
