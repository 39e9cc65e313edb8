#include "kiln/io/png.hpp"

#include <stb_image_write.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "kiln/error.hpp"
#include "kiln/io/files.hpp"

namespace kiln::io {
namespace {

void append(void* context, void* data, int size) {
  auto* out = static_cast<std::string*>(context);
  out->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

}  // namespace

void write_png(const std::filesystem::path& path, const Tensor& image) {
  const std::string where = "write_png(" + path.string() + ")";
  if (!image.defined()) throw Error(where + ": the image is undefined");
  if (image.ndim() != 3) {
    throw Error(where + ": expected an image [height, width, channels], got shape " + shape_str(image.shape()));
  }
  const std::int64_t h = image.size(0), w = image.size(1), c = image.size(2);
  if (c != 1 && c != 3 && c != 4) {
    throw Error(where + ": expected 1, 3 or 4 channels (grey, RGB, RGBA), got " + std::to_string(c));
  }
  if (h <= 0 || w <= 0 || h > (1 << 20) || w > (1 << 20)) {
    throw Error(where + ": cannot write an image of shape " + shape_str(image.shape()));
  }
  std::vector<unsigned char> pixels(static_cast<std::size_t>(h * w * c));
  if (image.dtype() == DType::UInt8) {
    const auto v = image.contiguous();
    std::copy_n(v.data<std::uint8_t>(), pixels.size(), pixels.begin());
  } else if (is_floating(image.dtype())) {
    const auto v = image.to_vector<double>();
    for (std::size_t i = 0; i < pixels.size(); ++i) {
      const double x = std::isnan(v[i]) ? 0.0 : std::clamp(v[i], 0.0, 1.0);
      pixels[i] = static_cast<unsigned char>(std::lround(x * 255.0));
    }
  } else {
    throw Error(where + ": expected a uint8 or floating image, got " + dtype_name(image.dtype()));
  }
  std::string bytes;
  if (!stbi_write_png_to_func(&append, &bytes, static_cast<int>(w), static_cast<int>(h), static_cast<int>(c),
                              pixels.data(), static_cast<int>(w * c))) {
    throw Error(where + ": PNG encoding failed");
  }
  // Images go into output folders that may not exist yet (samples/epoch_3.png).
  if (path.has_parent_path()) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) throw Error("cannot create folder " + path.parent_path().string() + " for " + path.string() + ": " + ec.message());
  }
  write_file_atomically(path, bytes);
}

}  // namespace kiln::io
