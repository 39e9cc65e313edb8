// Reading and resizing images: JPEG (libjpeg-turbo), PNG, BMP and GIF (its first frame;
// stb_image). The format is told by the file's first bytes, not by its name.
//
// Images are [height, width, channels] (HWC, as Keras). channels: 1 grayscale, 3 RGB,
// 4 RGBA, converted as needed (gray from colour is ITU-R 601 luma; a missing alpha is 255);
// 0 keeps what the file stores (1, 2, 3 or 4).
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "kiln/tensor.hpp"

namespace kiln::data {

// The largest image decoded, in pixels: a file claiming more (a corrupt or hostile header)
// is an Error, not an allocation of gigabytes.
inline constexpr std::int64_t kMaxImagePixels = std::int64_t(1) << 26;

// uint8 [h, w, c]. An Error names `name` (the file) and says what is wrong: not an image
// of a known format, truncated or corrupt, too large.
Tensor decode_image(std::span<const std::uint8_t> bytes, int channels, const std::string& name);
Tensor read_image(const std::filesystem::path& file, int channels = 0);

// float32 [height, width, c] from an image [h, w, c] (uint8 or float32), as
// tf.image.resize (half-pixel centres, no antialiasing): "bilinear" or "nearest".
// crop_to_aspect_ratio first crops the largest centred window of the target's aspect
// ratio (Keras's smart_resize), so the image is not distorted.
Tensor resize_image(const Tensor& image, std::int64_t height, std::int64_t width,
                    const std::string& interpolation = "bilinear", bool crop_to_aspect_ratio = false);

}  // namespace kiln::data
