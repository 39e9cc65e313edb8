// NumPy's .npy files (format versions 1-3): what `kiln predict` reads and writes, and how
// tests hand tensors to other programs. Little-endian float32, float64, int32, int64 and
// uint8 arrays in C order; an Error names the file and what does not fit.
#pragma once
#include <filesystem>
#include <string>
#include <string_view>

#include "kiln/tensor.hpp"

namespace kiln::io {

Tensor read_npy(const std::filesystem::path& path);
Tensor npy_from_bytes(std::string_view bytes, const std::string& source = "npy data");
// Writes version 1.0 (a contiguous copy when `tensor` is a view), atomically.
void write_npy(const Tensor& tensor, const std::filesystem::path& path);
std::string npy_to_bytes(const Tensor& tensor);

}  // namespace kiln::io
