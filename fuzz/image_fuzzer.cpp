// libFuzzer target: the image decoders (src/data/image_decode.cpp: TurboJPEG, stb_image) and
// the resizer behind image_dataset_from_directory. The first byte picks the channels asked
// for and the output size; the rest is the file.
#include <cstddef>
#include <cstdint>
#include <span>

#include "kiln/data/images.hpp"
#include "kiln/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int channels = data[0] % 5;  // 0 (as stored) to 4
  const std::int64_t side = 1 + (data[0] >> 3) % 8;
  try {
    const kiln::Tensor image = kiln::data::decode_image(std::span(data + 1, size - 1), channels, "fuzz");
    // Small images only: resizing a decoded 2^26-pixel image is slow, not a finding.
    if (image.numel() <= (1 << 20)) {
      kiln::data::resize_image(image, side, side + 1, (data[0] & 4) ? "nearest" : "bilinear", data[0] & 2);
    }
  } catch (const kiln::Error&) {
  }
  return 0;
}
