// PNG files from image tensors (written with stb_image_write, Debian's libstb).
#pragma once
#include <filesystem>

#include "kiln/tensor.hpp"

namespace kiln::io {

// image [H, W, C] with C = 1 (grey), 3 (RGB) or 4 (RGBA). uint8 values are
// written as they are; float values are taken to lie in [0, 1], scaled to
// 0..255 and clipped. The file is written atomically (see files.hpp), its folder created when missing.
// Throws kiln::Error naming the path or the problem with the tensor.
void write_png(const std::filesystem::path& path, const Tensor& image);

}  // namespace kiln::io
