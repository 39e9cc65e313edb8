// resize_images and affine_transform: resizes against the half-pixel bilinear formula written out
// per pixel, transforms against cases worked by hand (each fill mode, a one-pixel shift, a 90-degree
// turn, a 2x zoom), and both gradients against finite differences in double precision.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "kiln/kiln.hpp"
#include "support/common.hpp"
#include "support/gradcheck.hpp"

namespace kiln {
namespace {

using layers::rotation_transform;
using layers::translation_transform;
using layers::zoom_transform;

// tf.image.resize's bilinear sample of channel c at output (i, j), written as TensorFlow documents
// it: source (i + 0.5) * H / OH - 0.5, floor and floor + 1 clamped to the image, linear weights.
double reference_bilinear(const std::vector<double>& img, std::int64_t H, std::int64_t W, std::int64_t C,
                          std::int64_t OH, std::int64_t OW, std::int64_t i, std::int64_t j, std::int64_t c) {
  const double sy = (i + 0.5) * double(H) / double(OH) - 0.5, sx = (j + 0.5) * double(W) / double(OW) - 0.5;
  const double fy = std::floor(sy), fx = std::floor(sx);
  auto at = [&](double y, double x) {
    const auto yy = std::clamp<std::int64_t>(static_cast<std::int64_t>(y), 0, H - 1);
    const auto xx = std::clamp<std::int64_t>(static_cast<std::int64_t>(x), 0, W - 1);
    return img[static_cast<std::size_t>((yy * W + xx) * C + c)];
  };
  const double dy = sy - fy, dx = sx - fx;
  return (1 - dy) * ((1 - dx) * at(fy, fx) + dx * at(fy, fx + 1)) +
         dy * ((1 - dx) * at(fy + 1, fx) + dx * at(fy + 1, fx + 1));
}

TEST(ResizeImages, BilinearMatchesTheHalfPixelFormula) {
  const Tensor x = testing::random_tensor({2, 5, 7, 3}, 11, DType::Float64);
  const auto all = x.to_vector<double>();
  for (auto [oh, ow] : {std::pair<std::int64_t, std::int64_t>{3, 4}, {8, 9}, {5, 7}, {1, 1}}) {
    const auto y = resize_images(x, oh, ow).to_vector<double>();
    ASSERT_EQ(y.size(), static_cast<std::size_t>(2 * oh * ow * 3));
    for (std::int64_t n = 0; n < 2; ++n) {
      const std::vector<double> img(all.begin() + n * 105, all.begin() + (n + 1) * 105);
      for (std::int64_t i = 0; i < oh; ++i)
        for (std::int64_t j = 0; j < ow; ++j)
          for (std::int64_t c = 0; c < 3; ++c)
            EXPECT_NEAR(y[static_cast<std::size_t>(((n * oh + i) * ow + j) * 3 + c)],
                        reference_bilinear(img, 5, 7, 3, oh, ow, i, j, c), 1e-12)
                << oh << "x" << ow << " at " << n << "," << i << "," << j << "," << c;
    }
  }
}

TEST(ResizeImages, NearestAndCropToAspectRatio) {
  // Row [1 2 3 4] to width 2, nearest: floor((j + 0.5) * 2) -> columns 1 and 3.
  const Tensor row = Tensor::from_vector<float>({1, 2, 3, 4}, {1, 1, 4, 1});
  EXPECT_EQ(resize_images(row, 1, 2, "nearest").to_vector<float>(), (std::vector<float>{2, 4}));
  EXPECT_EQ(resize_images(row, 1, 2).to_vector<float>(), (std::vector<float>{1.5, 3.5}));
  // A 4x2 image to 2x2 with crop_to_aspect_ratio: the centred 2x2 window, rows 1 and 2.
  const Tensor tall = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7}, {1, 4, 2, 1});
  EXPECT_EQ(resize_images(tall, 2, 2, "bilinear", true).to_vector<float>(), (std::vector<float>{2, 3, 4, 5}));
  EXPECT_THROW(resize_images(tall, 0, 2), Error);
  EXPECT_THROW(resize_images(tall, 2, 2, "bicubic"), Error);
  EXPECT_THROW(resize_images(Tensor::zeros({4, 2, 1}), 2, 2), Error);
}

TEST(ResizeImages, GradientMatchesFiniteDifferences) {
  Tensor x = testing::random_tensor({2, 3, 5, 2}, 3, DType::Float64).set_requires_grad();
  const Tensor w = testing::random_tensor({2, 4, 3, 2}, 4, DType::Float64);
  testing::expect_gradients_match("resize_images bilinear", [&] { return sum(resize_images(x, 4, 3) * w); }, {x});
  testing::expect_gradients_match("resize_images nearest", [&] { return sum(resize_images(x, 4, 3, "nearest") * w); },
                                  {x});
  const Tensor w2 = testing::random_tensor({2, 2, 2, 2}, 5, DType::Float64);
  testing::expect_gradients_match("resize_images cropped",
                                  [&] { return sum(resize_images(x, 2, 2, "bilinear", true) * w2); }, {x});
}

// [1 2 3 4] shifted right (dx > 0) or left by whole pixels, under each fill mode (fill value 9).
std::vector<float> shifted_row(double dx, const std::string& fill_mode, const std::string& interpolation = "bilinear") {
  const Tensor row = Tensor::from_vector<float>({1, 2, 3, 4}, {1, 1, 4, 1});
  return affine_transform(row, {translation_transform(0, dx)}, interpolation, fill_mode, 9).to_vector<float>();
}

TEST(AffineTransform, OnePixelShiftsUnderEachFillMode) {
  EXPECT_EQ(shifted_row(1, "reflect"), (std::vector<float>{1, 1, 2, 3}));   // d c b a | a b c d
  EXPECT_EQ(shifted_row(1, "wrap"), (std::vector<float>{4, 1, 2, 3}));      // a b c d | a b c d
  EXPECT_EQ(shifted_row(1, "nearest"), (std::vector<float>{1, 1, 2, 3}));   // a a a a | a b c d
  EXPECT_EQ(shifted_row(1, "constant"), (std::vector<float>{9, 1, 2, 3}));  // k k k k | a b c d
  EXPECT_EQ(shifted_row(2, "reflect"), (std::vector<float>{2, 1, 1, 2}));
  EXPECT_EQ(shifted_row(2, "wrap"), (std::vector<float>{3, 4, 1, 2}));
  EXPECT_EQ(shifted_row(2, "nearest"), (std::vector<float>{1, 1, 1, 2}));
  EXPECT_EQ(shifted_row(2, "constant"), (std::vector<float>{9, 9, 1, 2}));
  EXPECT_EQ(shifted_row(-1, "reflect"), (std::vector<float>{2, 3, 4, 4}));
  EXPECT_EQ(shifted_row(-1, "wrap"), (std::vector<float>{2, 3, 4, 1}));
  EXPECT_EQ(shifted_row(-1, "constant"), (std::vector<float>{2, 3, 4, 9}));
}

TEST(AffineTransform, FractionalShiftsAndNearestInterpolation) {
  // Half a pixel right: each output blends its two neighbours; "constant" fills points outside
  // [0, W - 1] entirely (TensorFlow's rule), so the first output is the fill value.
  EXPECT_EQ(shifted_row(0.5, "constant"), (std::vector<float>{9, 1.5, 2.5, 3.5}));
  EXPECT_EQ(shifted_row(0.5, "nearest"), (std::vector<float>{1, 1.5, 2.5, 3.5}));
  // Nearest interpolation rounds the source point: 0.6 right reads x - 0.6 -> round.
  EXPECT_EQ(shifted_row(0.6, "nearest", "nearest"), (std::vector<float>{1, 1, 2, 3}));
  EXPECT_EQ(shifted_row(0.4, "nearest", "nearest"), (std::vector<float>{1, 2, 3, 4}));
}

TEST(AffineTransform, QuarterTurnOfASquareImageUnderEveryFillMode) {
  // Keras's rotation matrix for a quarter turn of a 3x3 image: output (x, y) reads (2 - y, x).
  const auto t = rotation_transform(std::numbers::pi / 2, 3, 3);
  const AffineTransform quarter = {0, -1, 2, 1, 0, 0, 0, 0};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(t[i], quarter[i], 1e-12) << i;
  // 1 2 3          3 6 9
  // 4 5 6   -->    2 5 8    (counter-clockwise; every source point lies inside the image)
  // 7 8 9          1 4 7
  const Tensor x = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 3, 3, 1});
  for (const char* mode : {"reflect", "wrap", "constant", "nearest"}) {
    for (const char* interpolation : {"bilinear", "nearest"}) {
      EXPECT_EQ(affine_transform(x, {quarter}, interpolation, mode, -1).to_vector<float>(),
                (std::vector<float>{3, 6, 9, 2, 5, 8, 1, 4, 7}))
          << mode << " " << interpolation;
    }
  }
  testing::expect_values(affine_transform(x, {t}, "bilinear", "reflect"), {3, 6, 9, 2, 5, 8, 1, 4, 7}, 1e-5);
  // A half turn: the image upside down and mirrored.
  testing::expect_values(affine_transform(x, {rotation_transform(std::numbers::pi, 3, 3)}, "bilinear", "nearest"),
                         {9, 8, 7, 6, 5, 4, 3, 2, 1}, 1e-5);
}

TEST(AffineTransform, QuarterTurnOfAWideImageFillsByMode) {
  // A 1x3 row turned about its centre (1, 0): output (x, 0) reads (1, x - 1), so only the middle
  // output reads inside the image; the others' rows -1 and 1 are brought back to row 0 except
  // under "constant".
  const Tensor row = Tensor::from_vector<float>({1, 2, 3}, {1, 1, 3, 1});
  const auto turned = [&](const char* mode) {
    return affine_transform(row, {rotation_transform(std::numbers::pi / 2, 1, 3)}, "bilinear", mode, 7);
  };
  testing::expect_values(turned("reflect"), {2, 2, 2}, 1e-5);
  testing::expect_values(turned("wrap"), {2, 2, 2}, 1e-5);
  testing::expect_values(turned("nearest"), {2, 2, 2}, 1e-5);
  testing::expect_values(turned("constant"), {7, 2, 7}, 1e-5);
}

TEST(AffineTransform, ZoomOfTwoMagnifiesTheCentre) {
  // zoom 0.5 on a 4x4 image: output (x, y) reads (0.5 x + 0.75, 0.5 y + 0.75); on the linear image
  // v = 10 y + x bilinear interpolation is exact, so the output is 10 (0.5 y + 0.75) + 0.5 x + 0.75.
  std::vector<float> v;
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) v.push_back(float(10 * y + x));
  const Tensor img = Tensor::from_vector(v, {1, 4, 4, 1});
  std::vector<double> expected;
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) expected.push_back(10 * (0.5 * y + 0.75) + 0.5 * x + 0.75);
  testing::expect_values(affine_transform(img, {zoom_transform(0.5, 0.5, 4, 4)}), expected, 1e-5);
}

TEST(AffineTransform, OneTransformPerImageAndErrors) {
  const Tensor rows = Tensor::from_vector<float>({1, 2, 3, 4, 1, 2, 3, 4}, {2, 1, 4, 1});
  EXPECT_EQ(affine_transform(rows, {translation_transform(0, 1), translation_transform(0, -1)}, "bilinear", "wrap")
                .to_vector<float>(),
            (std::vector<float>{4, 1, 2, 3, 2, 3, 4, 1}));
  EXPECT_THROW(affine_transform(rows, {translation_transform(0, 1)}, "bilinear", "mirror"), Error);
  EXPECT_THROW(affine_transform(rows, {translation_transform(0, 1)}, "bicubic"), Error);
  EXPECT_THROW(affine_transform(rows, std::vector<AffineTransform>(3, translation_transform(0, 1))), Error);
}

// Translations with nearest sampling of an input that needs no gradient take a plan-free copy
// (RandomTranslation's common case): the same values as the general path, which an input
// needing a gradient takes, for shifts of whole and part pixels, in and past the image.
TEST(AffineTransform, NearestTranslationsCopyTheGeneralPathsValues) {
  const Tensor x = testing::random_tensor({6, 5, 7, 3}, 21, DType::Float32);
  const Tensor tracked = x.clone().set_requires_grad();
  const std::vector<AffineTransform> shifts = {translation_transform(0, 0),      translation_transform(1.4, -2.6),
                                               translation_transform(-0.5, 0.5), translation_transform(3, 8),
                                               translation_transform(-7.2, 2),   translation_transform(0.49, -0.51)};
  for (const char* mode : {"reflect", "wrap", "constant", "nearest"}) {
    const Tensor fast = affine_transform(x, shifts, "nearest", mode, 0.25);
    EXPECT_FALSE(fast.requires_grad());
    const Tensor general = affine_transform(tracked, shifts, "nearest", mode, 0.25);
    EXPECT_EQ(fast.to_vector<float>(), general.to_vector<float>()) << mode;
  }
}

TEST(AffineTransform, GradientMatchesFiniteDifferences) {
  Tensor x = testing::random_tensor({2, 4, 5, 2}, 8, DType::Float64).set_requires_grad();
  const Tensor w = testing::random_tensor({2, 4, 5, 2}, 9, DType::Float64);
  const std::vector<AffineTransform> transforms = {rotation_transform(0.4, 4, 5), zoom_transform(0.7, 1.3, 4, 5)};
  for (const char* mode : {"reflect", "wrap", "constant", "nearest"}) {
    testing::expect_gradients_match(std::string("affine_transform ") + mode,
                                    [&] { return sum(affine_transform(x, transforms, "bilinear", mode, 0.5) * w); },
                                    {x});
  }
  testing::expect_gradients_match("affine_transform nearest interpolation",
                                  [&] { return sum(affine_transform(x, transforms, "nearest", "reflect") * w); }, {x});
}

}  // namespace
}  // namespace kiln
