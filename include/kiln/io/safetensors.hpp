// The safetensors format (https://github.com/huggingface/safetensors), read and
// written by Kiln itself — it is small, and other tools (Python's safetensors,
// PyTorch, JAX, Rust) read the files:
//
//   8 bytes     N, the header's length, unsigned little-endian
//   N bytes     a JSON object, UTF-8, padded with spaces:
//                 {"__metadata__": {"key": "text", ...},
//                  "dense/kernel": {"dtype": "F32", "shape": [784, 64], "data_offsets": [0, 200704]}, ...}
//   the rest    the tensors' bytes, row-major, little-endian; data_offsets are
//               [begin, end) into this part, which the tensors cover exactly
//               (no gaps, no overlaps, nothing after the last one)
//
// Reading checks all of that before allocating anything, so a corrupt or
// hostile file gives an Error that names the file and the problem, and never
// makes Kiln allocate more than the file's own size.
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/tensor.hpp"

namespace kiln::io {

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

struct Safetensors {
  std::vector<NamedTensor> tensors;  // in the order of their data in the file
  std::map<std::string, std::string> metadata;
  // The tensor called `name`, or nullptr.
  const Tensor* find(const std::string& name) const;
};

// The file's bytes for `tensors` (float32, float64, uint8, int32, int64), in the given order.
std::string encode_safetensors(const std::vector<NamedTensor>& tensors,
                               const std::map<std::string, std::string>& metadata = {});
// Parses and validates a file's bytes; `source` names it in errors.
Safetensors decode_safetensors(std::string_view bytes, const std::string& source = "safetensors data");

// Written atomically (see kiln/io/files.hpp).
void save_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
Safetensors load_safetensors(const std::filesystem::path& path);

// The safetensors name of a dtype: "F32", "F64", "U8", "I32", "I64".
const char* safetensors_dtype(DType dtype);

}  // namespace kiln::io
