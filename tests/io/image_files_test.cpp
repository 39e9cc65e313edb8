// PNG files, image grids and charts: written, then read back with stb_image.
#include <gtest/gtest.h>

#include <stb_image.h>

#include <filesystem>
#include <fstream>

#include "kiln/kiln.hpp"
#include "support/process.hpp"

namespace kiln {
namespace {

struct Decoded {
  int w = 0, h = 0, c = 0;
  std::vector<unsigned char> pixels;
};

Decoded read_png(const std::filesystem::path& path) {
  Decoded d;
  unsigned char* data = stbi_load(path.c_str(), &d.w, &d.h, &d.c, 0);
  if (!data) return d;
  d.pixels.assign(data, data + d.w * d.h * d.c);
  stbi_image_free(data);
  return d;
}

TEST(Png, GreyFloatImageRoundTrips) {
  testing::TempDir dir;
  const auto path = dir.path() / "sub" / "grey.png";  // the folder is created
  // 2x3, values 0..1 -> 0..255, clipped outside.
  io::write_png(path, Tensor::from_vector<float>({0.0f, 0.5f, 1.0f, -1.0f, 2.0f, 0.2f}, {2, 3, 1}));
  const Decoded d = read_png(path);
  ASSERT_EQ(d.w, 3);
  ASSERT_EQ(d.h, 2);
  ASSERT_EQ(d.c, 1);
  EXPECT_EQ(d.pixels, (std::vector<unsigned char>{0, 128, 255, 0, 255, 51}));
  // No temporary file is left beside it.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(path.parent_path())) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(Png, RgbUint8IsWrittenAsIs) {
  testing::TempDir dir;
  const auto path = dir.path() / "rgb.png";
  io::write_png(path, Tensor::from_vector<std::uint8_t>({255, 0, 0, 0, 255, 0, 0, 0, 255, 7, 8, 9}, {2, 2, 3}));
  const Decoded d = read_png(path);
  ASSERT_EQ(d.c, 3);
  EXPECT_EQ(d.pixels, (std::vector<unsigned char>{255, 0, 0, 0, 255, 0, 0, 0, 255, 7, 8, 9}));
}

TEST(Png, BadImagesAndPathsAreErrorsNamingThem) {
  testing::TempDir dir;
  const auto path = dir.path() / "x.png";
  auto message = [&](const Tensor& t, const std::filesystem::path& p) {
    try {
      io::write_png(p, t);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_NE(message(Tensor::zeros({4, 4}), path).find("[height, width, channels]"), std::string::npos);
  EXPECT_NE(message(Tensor::zeros({4, 4, 2}), path).find("channels"), std::string::npos);
  const std::string msg = message(Tensor::zeros({4, 4, 1}), "/proc/no/such/dir/x.png");
  EXPECT_NE(msg.find("/proc/no/such/dir/x.png"), std::string::npos) << msg;
}

TEST(ImageGrid, TilesTheBatchRowByRow) {
  // Three 1x2 images, 2 columns, 1 pixel of padding valued 9.
  const Tensor batch = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 1, 2, 1});
  const Tensor grid = io::image_grid(batch, {.columns = 2, .padding = 1, .padding_value = 9});
  ASSERT_EQ(grid.shape(), (Shape{5, 7, 1}));
  EXPECT_EQ(grid.to_vector<float>(), (std::vector<float>{9, 9, 9, 9, 9, 9, 9,  //
                                                         9, 1, 2, 9, 3, 4, 9,  //
                                                         9, 9, 9, 9, 9, 9, 9,  //
                                                         9, 5, 6, 9, 9, 9, 9,  //
                                                         9, 9, 9, 9, 9, 9, 9}));
  // By default a square-ish grid: 10 images -> 4 columns, 3 rows.
  EXPECT_EQ(io::image_grid(Tensor::zeros({10, 28, 28, 1}, DType::UInt8)).shape(), (Shape{3 * 30 + 2, 4 * 30 + 2, 1}));
  EXPECT_THROW(io::image_grid(Tensor::zeros({28, 28, 1})), Error);
}

TEST(LinePlot, DrawsEachSeriesInItsColour) {
  testing::TempDir dir;
  const auto path = dir.path() / "curves.png";
  io::write_line_plot(path, {{"rising", {0, 1, 2, 3}}, {"falling", {3, 2, 1, 0}}},
                      {.title = "losses", .x_label = "epoch", .x_start = 1, .width = 400, .height = 300});
  const Decoded d = read_png(path);
  ASSERT_EQ(d.w, 400);
  ASSERT_EQ(d.h, 300);
  ASSERT_EQ(d.c, 3);
  auto count = [&](unsigned char r, unsigned char g, unsigned char b) {
    int n = 0;
    for (std::size_t i = 0; i < d.pixels.size(); i += 3) n += d.pixels[i] == r && d.pixels[i + 1] == g && d.pixels[i + 2] == b;
    return n;
  };
  EXPECT_GT(count(31, 119, 180), 300) << "the first series' blue line";
  EXPECT_GT(count(255, 127, 14), 300) << "the second series' orange line";
  EXPECT_GT(count(0, 0, 0), 50) << "black text";
  EXPECT_THROW(io::write_line_plot(path, {{"empty", {}}}), Error);
}

}  // namespace
}  // namespace kiln
