// Image files written by the tests: PNG, BMP and JPEG through stb_image_write, GIF by hand
// (stb has no GIF writer), from pixels the test chooses.
#pragma once
#include <stb_image_write.h>

#include <array>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "data/data_test_util.hpp"

namespace kiln::test {

// Pixels h x w x c, row-major, value f(y, x, k).
template <typename F>
Bytes pixels(int h, int w, int c, F f) {
  Bytes p(static_cast<std::size_t>(h * w * c));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < c; ++k) p[(y * w + x) * c + k] = static_cast<std::uint8_t>(f(y, x, k));
  return p;
}

inline void write_image(const std::filesystem::path& file, int h, int w, int c, const Bytes& px,
                        int jpeg_quality = 100) {
  std::filesystem::create_directories(file.parent_path());
  std::string ext = file.extension().string();
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const std::string name = file.string();
  int ok = 0;
  if (ext == ".png") ok = stbi_write_png(name.c_str(), w, h, c, px.data(), w * c);
  if (ext == ".bmp") ok = stbi_write_bmp(name.c_str(), w, h, c, px.data());
  if (ext == ".jpg" || ext == ".jpeg") ok = stbi_write_jpg(name.c_str(), w, h, c, px.data(), jpeg_quality);
  if (!ok) throw std::runtime_error("cannot write " + name);
}

// A GIF of up to 4 colours: LZW with a clear code before every pixel, so every code is 3 bits.
inline Bytes gif_bytes(int h, int w, const std::vector<std::array<std::uint8_t, 3>>& palette,
                       const std::vector<int>& indices) {
  Bytes b = {'G', 'I', 'F', '8', '9', 'a'};
  auto u16 = [&](int v) { b.push_back(std::uint8_t(v & 255)), b.push_back(std::uint8_t(v >> 8)); };
  u16(w), u16(h);
  b.insert(b.end(), {0xF1, 0, 0});  // global colour table of 4 entries
  for (int i = 0; i < 4; ++i) {
    const auto c = i < int(palette.size()) ? palette[i] : std::array<std::uint8_t, 3>{0, 0, 0};
    b.insert(b.end(), c.begin(), c.end());
  }
  b.push_back(0x2C), u16(0), u16(0), u16(w), u16(h), b.push_back(0);
  b.push_back(2);  // LZW minimum code size: clear = 4, end = 5
  Bytes data;
  std::uint32_t acc = 0;
  int bits = 0;
  auto code = [&](int v) {
    acc |= std::uint32_t(v) << bits, bits += 3;
    while (bits >= 8) data.push_back(std::uint8_t(acc & 255)), acc >>= 8, bits -= 8;
  };
  for (int i : indices) code(4), code(i);
  code(5);
  if (bits) data.push_back(std::uint8_t(acc & 255));
  for (std::size_t i = 0; i < data.size(); i += 255) {
    const std::size_t n = std::min<std::size_t>(255, data.size() - i);
    b.push_back(std::uint8_t(n));
    b.insert(b.end(), data.begin() + i, data.begin() + i + n);
  }
  b.push_back(0), b.push_back(0x3B);
  return b;
}

}  // namespace kiln::test
