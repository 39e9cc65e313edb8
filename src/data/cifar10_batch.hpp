// One CIFAR-10 batch file from memory (what the loaders and the fuzzer share).
// Internal to the dataset loaders.
#pragma once
#include <string>
#include <string_view>

#include "kiln/datasets.hpp"

namespace kiln::data_detail {

// The bytes of a batch file (a whole number of 3073-byte records: label, then the
// R, G and B planes) as NHWC images and labels; an Error naming `name` when the
// size or a label is wrong.
datasets::Split decode_cifar10_batch(std::string_view bytes, const std::string& name);

}  // namespace kiln::data_detail
