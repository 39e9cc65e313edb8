// Image decoders: libjpeg-turbo's TurboJPEG for JPEG (the fastest decoder Debian ships,
// with exact luma for grayscale), stb_image for PNG, BMP and GIF.
#include <stb_image.h>
#include <turbojpeg.h>

#include <cstring>
#include <memory>
#include <string_view>

#include "kiln/data/images.hpp"
#include "kiln/error.hpp"
#include "kiln/io/files.hpp"

namespace kiln::data {
namespace {

enum class Format { Jpeg, Png, Gif, Bmp, Unknown };

Format sniff(std::span<const std::uint8_t> b) {
  auto starts = [&](std::initializer_list<std::uint8_t> magic) {
    return b.size() >= magic.size() && std::equal(magic.begin(), magic.end(), b.begin());
  };
  if (starts({0xFF, 0xD8, 0xFF})) return Format::Jpeg;
  if (starts({0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})) return Format::Png;
  if (starts({'G', 'I', 'F', '8'})) return Format::Gif;
  if (starts({'B', 'M'})) return Format::Bmp;
  return Format::Unknown;
}

std::string first_bytes(std::span<const std::uint8_t> b) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (std::size_t i = 0; i < std::min<std::size_t>(b.size(), 8); ++i) {
    s += i ? " " : "";
    s += hex[b[i] >> 4];
    s += hex[b[i] & 15];
  }
  return b.empty() ? "it is empty" : "it starts with " + s;
}

void check_size(std::int64_t w, std::int64_t h, const std::string& name) {
  if (w <= 0 || h <= 0 || w * h > kMaxImagePixels) {
    throw Error(name + ": the image claims " + std::to_string(w) + "x" + std::to_string(h) +
                " pixels; expected at least 1x1 and at most " + std::to_string(kMaxImagePixels) + " pixels");
  }
}

Tensor decode_jpeg(std::span<const std::uint8_t> bytes, int channels, const std::string& name) {
  std::unique_ptr<void, int (*)(tjhandle)> tj(tjInitDecompress(), tjDestroy);
  if (!tj) throw Error(name + ": cannot start the JPEG decoder");
  int w = 0, h = 0, subsampling = 0, colorspace = 0;
  auto* data = const_cast<unsigned char*>(bytes.data());
  const auto size = static_cast<unsigned long>(bytes.size());
  if (tjDecompressHeader3(tj.get(), data, size, &w, &h, &subsampling, &colorspace) != 0) {
    throw Error(name + ": not a valid JPEG (" + tjGetErrorStr2(tj.get()) + ")");
  }
  check_size(w, h, name);
  if (channels == 0) channels = colorspace == TJCS_GRAY ? 1 : 3;
  const int format = channels == 1 ? TJPF_GRAY : channels == 3 ? TJPF_RGB : TJPF_RGBA;
  if (channels == 2) {  // gray + alpha: decode gray, alpha opaque
    Tensor gray = decode_jpeg(bytes, 1, name);
    Tensor out = Tensor::empty({h, w, 2}, DType::UInt8);
    const auto* g = gray.data<std::uint8_t>();
    auto* o = out.data<std::uint8_t>();
    for (std::int64_t i = 0; i < std::int64_t(w) * h; ++i) o[2 * i] = g[i], o[2 * i + 1] = 255;
    return out;
  }
  Tensor out = Tensor::empty({h, w, channels}, DType::UInt8);
  // A warning (a truncated file decodes to grey rows) is an error too, as in tf.io.decode_jpeg.
  if (tjDecompress2(tj.get(), data, size, out.data<std::uint8_t>(), w, 0, h, format, TJFLAG_STOPONWARNING) != 0) {
    throw Error(name + ": truncated or corrupt JPEG (" + tjGetErrorStr2(tj.get()) + ")");
  }
  return out;
}

// Debian's stb_image trusts a PNG chunk's length field and grows its buffer to it before
// reading the chunk (a 60-byte file can ask for 1.4 GB: found by fuzz_image). Walking the
// chunk list first bounds every allocation by the file's own size.
void check_png_chunks(std::span<const std::uint8_t> bytes, const std::string& name) {
  std::size_t at = 8;  // after the signature
  while (at + 12 <= bytes.size()) {
    const std::uint64_t length = (std::uint64_t{bytes[at]} << 24) | (std::uint64_t{bytes[at + 1]} << 16) |
                                 (std::uint64_t{bytes[at + 2]} << 8) | bytes[at + 3];
    const bool end = std::memcmp(bytes.data() + at + 4, "IEND", 4) == 0;
    if (length > bytes.size() - at - 12) {
      throw Error(name + ": truncated or corrupt PNG (a chunk at byte " + std::to_string(at) + " claims " +
                  std::to_string(length) + " bytes; " + std::to_string(bytes.size() - at - 12) + " follow)");
    }
    at += 12 + length;
    if (end) return;
  }
  // No IEND: stb_image decides whether what came before is enough.
}

Tensor decode_stb(std::span<const std::uint8_t> bytes, int channels, const std::string& name, const char* format) {
  if (std::string_view(format) == "PNG") check_png_chunks(bytes, name);
  if (bytes.size() > std::size_t(std::numeric_limits<int>::max())) throw Error(name + ": file too large");
  const int len = static_cast<int>(bytes.size());
  int w = 0, h = 0, stored = 0;
  if (!stbi_info_from_memory(bytes.data(), len, &w, &h, &stored)) {
    throw Error(name + ": not a valid " + format + " (" + stbi_failure_reason() + ")");
  }
  check_size(w, h, name);
  if (channels == 0) channels = stored;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(stbi_load_from_memory(bytes.data(), len, &w, &h, &stored, channels),
                                                   stbi_image_free);
  if (!pixels) throw Error(name + ": truncated or corrupt " + format + " (" + stbi_failure_reason() + ")");
  check_size(w, h, name);
  Tensor out = Tensor::empty({h, w, channels}, DType::UInt8);
  std::memcpy(out.raw_data(), pixels.get(), static_cast<std::size_t>(w) * h * channels);
  return out;
}

}  // namespace

Tensor decode_image(std::span<const std::uint8_t> bytes, int channels, const std::string& name) {
  if (channels < 0 || channels > 4) {
    throw Error(name + ": channels must be 0 (as stored), 1, 2, 3 or 4, got " + std::to_string(channels));
  }
  switch (sniff(bytes)) {
    case Format::Jpeg:
      return decode_jpeg(bytes, channels, name);
    case Format::Png:
      return decode_stb(bytes, channels, name, "PNG");
    case Format::Gif:
      return decode_stb(bytes, channels, name, "GIF");
    case Format::Bmp:
      return decode_stb(bytes, channels, name, "BMP");
    case Format::Unknown:
      break;
  }
  throw Error(name + ": not a JPEG, PNG, GIF or BMP image (" + first_bytes(bytes) + ")");
}

Tensor read_image(const std::filesystem::path& file, int channels) {
  const std::string bytes = io::read_file(file, std::uint64_t(1) << 30);
  return decode_image(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), channels,
                      file.string());
}

}  // namespace kiln::data
