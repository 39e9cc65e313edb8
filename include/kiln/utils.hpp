// Small conversions Keras keeps in keras.utils.
#pragma once
#include <cstdint>
#include <optional>

#include "kiln/tensor.hpp"

namespace kiln::utils {

// Integer class ids [...] -> one-hot rows [..., num_classes] (float32), as keras.utils.to_categorical:
// labels of shape [n, 1] give [n, num_classes]; without num_classes it is the largest id + 1.
// Labels may be any integer dtype, or floats holding whole numbers; anything outside
// [0, num_classes) is an Error naming the value and its position.
Tensor to_categorical(const Tensor& labels, std::optional<std::int64_t> num_classes = std::nullopt,
                      DType dtype = DType::Float32);

}  // namespace kiln::utils
