// Embedding lookup: rows of a table selected by integer ids.
#pragma once
#include "kiln/tensor.hpp"

namespace kiln {

// ids [...] (int32, int64 or uint8) and table [V, D] -> [..., D]. Ids outside
// [0, V) are an Error naming the id and its position. The gradient reaches
// the table only (ids are not differentiable); repeated ids add up.
Tensor embedding(const Tensor& ids, const Tensor& table);

}  // namespace kiln
