// Image decoding (each format and colour mode, on files the tests write) and resizing
// against TensorFlow's formulas worked by hand.
#include "kiln/data/images.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include <cmath>

#include "data/image_test_util.hpp"

namespace kiln::test {
namespace {

using data::decode_image;
using data::read_image;
using data::resize_image;

std::vector<float> values(const Tensor& t) { return t.to(DType::Float32).to_vector<float>(); }
std::vector<float> as_floats(const Bytes& b) { return std::vector<float>(b.begin(), b.end()); }

// stb's luma, (77 r + 150 g + 29 b) >> 8: what grayscale from colour gives for PNG/BMP/GIF.
int luma(int r, int g, int b) { return (77 * r + 150 * g + 29 * b) >> 8; }

TEST(Images, PngInEveryColourMode) {
  TempDir dir;
  const auto rgb = pixels(3, 4, 3, [](int y, int x, int k) { return 20 * y + 50 * x + 7 * k; });
  write_image(dir / "a.png", 3, 4, 3, rgb);
  const Tensor stored = read_image(dir / "a.png");
  EXPECT_EQ(stored.shape(), Shape({3, 4, 3}));
  EXPECT_EQ(stored.dtype(), DType::UInt8);
  EXPECT_EQ(values(stored), as_floats(rgb));
  const Tensor gray = read_image(dir / "a.png", 1);
  EXPECT_EQ(gray.shape(), Shape({3, 4, 1}));
  EXPECT_EQ(values(gray)[5], luma(rgb[15], rgb[16], rgb[17]));
  const Tensor rgba = read_image(dir / "a.png", 4);
  EXPECT_EQ(values(rgba)[4 * 6 + 2], rgb[3 * 6 + 2]);
  EXPECT_EQ(values(rgba)[4 * 6 + 3], 255);  // no alpha stored: opaque
  // A stored alpha channel is kept.
  const auto with_alpha = pixels(2, 2, 4, [](int y, int x, int k) { return k == 3 ? 10 * (y * 2 + x) : 100 + k; });
  write_image(dir / "b.png", 2, 2, 4, with_alpha);
  EXPECT_EQ(values(read_image(dir / "b.png")), as_floats(with_alpha));
  const auto g = pixels(2, 3, 1, [](int y, int x, int) { return 40 * y + x; });
  write_image(dir / "g.png", 2, 3, 1, g);
  EXPECT_EQ(read_image(dir / "g.png").shape(), Shape({2, 3, 1}));
  EXPECT_EQ(values(read_image(dir / "g.png", 3))[3 * 4 + 1], g[4]);  // gray to RGB repeats the value
}

TEST(Images, BmpAndGifFirstFrame) {
  TempDir dir;
  const auto rgb = pixels(2, 3, 3, [](int y, int x, int k) { return 30 * y + 60 * x + k; });
  write_image(dir / "a.bmp", 2, 3, 3, rgb);
  EXPECT_EQ(values(read_image(dir / "a.bmp")), as_floats(rgb));
  const std::vector<std::array<std::uint8_t, 3>> palette = {{0, 0, 0}, {255, 0, 0}, {0, 200, 0}, {10, 20, 250}};
  const std::vector<int> idx = {0, 1, 2, 3, 3, 1};
  write_file(dir / "a.gif", gif_bytes(2, 3, palette, idx));
  const Tensor gif = read_image(dir / "a.gif", 3);
  ASSERT_EQ(gif.shape(), Shape({2, 3, 3}));
  const auto v = values(gif);
  for (int i = 0; i < 6; ++i) {
    for (int k = 0; k < 3; ++k) EXPECT_EQ(v[i * 3 + k], palette[idx[i]][k]) << "pixel " << i;
  }
}

TEST(Images, JpegDecodesCloseToWhatWasWritten) {
  TempDir dir;
  // Smooth content at quality 100 survives JPEG's quantisation to within a few levels.
  const auto rgb = pixels(16, 16, 3, [](int y, int x, int k) { return 40 + 8 * y + 4 * x + 20 * k; });
  write_image(dir / "a.jpg", 16, 16, 3, rgb);
  const Tensor img = read_image(dir / "a.jpg");
  ASSERT_EQ(img.shape(), Shape({16, 16, 3}));
  const auto v = values(img);
  for (std::size_t i = 0; i < v.size(); ++i) ASSERT_NEAR(v[i], rgb[i], 6) << "value " << i;
  // Grayscale is the image's luma (ITU-R 601), within the same tolerance.
  const auto gray = values(read_image(dir / "a.jpg", 1));
  for (int p = 0; p < 256; ++p) {
    const double y = 0.299 * rgb[3 * p] + 0.587 * rgb[3 * p + 1] + 0.114 * rgb[3 * p + 2];
    ASSERT_NEAR(gray[p], y, 6) << "pixel " << p;
  }
}

TEST(Images, BrokenFilesAreNamedWithWhatIsWrong) {
  TempDir dir;
  write_image(dir / "a.jpg", 16, 16, 3, pixels(16, 16, 3, [](int y, int x, int) { return (y * 37 + x * 11) % 256; }));
  Bytes jpeg = read_file(dir / "a.jpg");
  jpeg.resize(jpeg.size() / 2);
  write_file(dir / "truncated.jpg", jpeg);
  std::string message = error_of([&] { read_image(dir / "truncated.jpg"); });
  EXPECT_NE(message.find("truncated.jpg"), std::string::npos) << message;
  EXPECT_NE(message.find("JPEG"), std::string::npos) << message;
  write_file(dir / "text.png", {'h', 'e', 'l', 'l', 'o', '\n'});
  message = error_of([&] { read_image(dir / "text.png"); });
  EXPECT_NE(message.find("text.png"), std::string::npos) << message;
  EXPECT_NE(message.find("not a JPEG, PNG, GIF or BMP image"), std::string::npos) << message;
  write_image(dir / "ok.png", 4, 4, 3, pixels(4, 4, 3, [](int, int, int) { return 1; }));
  Bytes png = read_file(dir / "ok.png");
  png.resize(40);
  write_file(dir / "cut.png", png);
  message = error_of([&] { read_image(dir / "cut.png"); });
  EXPECT_NE(message.find("cut.png"), std::string::npos) << message;
  EXPECT_NE(message.find("PNG"), std::string::npos) << message;
  // A chunk whose length field claims more than the file holds (fuzz_image found stb_image
  // allocating that length, 1.4 GB, before reading): an Error, with no allocation of it.
  Bytes lying = read_file(dir / "ok.png");
  const auto idat = std::search(lying.begin(), lying.end(), std::begin("IDAT"), std::begin("IDAT") + 4);
  ASSERT_NE(idat, lying.end());
  std::copy_n(Bytes{0x55, 0x00, 0x00, 0x1a}.begin(), 4, idat - 4);
  write_file(dir / "lying.png", lying);
  message = error_of([&] { read_image(dir / "lying.png"); });
  EXPECT_NE(message.find("lying.png"), std::string::npos) << message;
  EXPECT_NE(message.find("claims 1426063386 bytes"), std::string::npos) << message;
  write_file(dir / "empty.bmp", {});
  EXPECT_NE(error_of([&] { read_image(dir / "empty.bmp"); }).find("empty"), std::string::npos);
  message = error_of([&] { read_image(dir / "missing.png"); });
  EXPECT_NE(message.find("missing.png"), std::string::npos) << message;
}

TEST(ImageResize, BilinearUpscaleMatchesTheHalfPixelFormula) {
  // 2x2 -> 4x4: sample points (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, clamped to
  // the border: weights 0, 0.25, 0.75, 1 of the second pixel along each axis.
  const Tensor img = Tensor::from_vector<float>({0, 10, 20, 30}, {2, 2, 1});
  EXPECT_EQ(values(resize_image(img, 4, 4)), (std::vector<float>{0, 2.5, 7.5, 10,     //
                                                                 5, 7.5, 12.5, 15,    //
                                                                 15, 17.5, 22.5, 25,  //
                                                                 20, 22.5, 27.5, 30}));
}

TEST(ImageResize, DownscaleNearestAndIdentity) {
  const Tensor row = Tensor::from_vector<std::uint8_t>({0, 1, 2, 3, 4, 5, 6, 7}, {1, 4, 2});
  // 4 -> 2 bilinear: points 0.5 and 2.5, the means of pixel pairs.
  EXPECT_EQ(values(resize_image(row, 1, 2)), (std::vector<float>{1, 2, 5, 6}));
  // Nearest: floor((i + 0.5) * 2) = 1, 3.
  EXPECT_EQ(values(resize_image(row, 1, 2, "nearest")), (std::vector<float>{2, 3, 6, 7}));
  // 4 -> 8 nearest repeats each pixel twice.
  EXPECT_EQ(values(resize_image(row, 1, 8, "nearest")),
            (std::vector<float>{0, 1, 0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7}));
  const Tensor img = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3, 1});
  EXPECT_EQ(values(resize_image(img, 2, 3)), values(img));
}

TEST(ImageResize, CropToAspectRatioTakesTheCentredWindow) {
  // 4 high, 2 wide, to 2x2: Keras's smart_resize crops rows 1..2, which then need no resizing.
  const Tensor tall = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7}, {4, 2, 1});
  EXPECT_EQ(values(resize_image(tall, 2, 2, "bilinear", true)), (std::vector<float>{2, 3, 4, 5}));
  // Without cropping the rows are squeezed: points 0.5 and 2.5.
  EXPECT_EQ(values(resize_image(tall, 2, 2)), (std::vector<float>{1, 2, 5, 6}));
  EXPECT_NE(error_of([&] { resize_image(tall, 2, 2, "bicubic"); }).find("interpolation"), std::string::npos);
}

}  // namespace
}  // namespace kiln::test
