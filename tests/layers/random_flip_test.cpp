// RandomFlip and its op: flips worked by hand, the gradient against finite differences, the
// layer's randomness (seeded, only in training, about half the images per direction) and config.
#include <gtest/gtest.h>

#include "kiln/kiln.hpp"
#include "support/gradcheck.hpp"

namespace kiln {
namespace {

using layers::RandomFlip;

// One 2x3 single-channel image per batch entry, values 10 b + (0..5) row-major.
Tensor images(std::int64_t n) {
  std::vector<float> v;
  for (std::int64_t b = 0; b < n; ++b)
    for (int i = 0; i < 6; ++i) v.push_back(float(10 * b + i));
  return Tensor::from_vector(v, {n, 2, 3, 1});
}

TEST(FlipImages, EachImageItsOwnWay) {
  const Tensor y = flip_images(images(4), {0, kFlipHorizontal, kFlipVertical, kFlipHorizontal | kFlipVertical});
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0,  1,  2,  3,  4,  5,      // as is
                                                      12, 11, 10, 15, 14, 13,     // left-right
                                                      23, 24, 25, 20, 21, 22,     // upside down
                                                      35, 34, 33, 32, 31, 30}));  // both
  EXPECT_THROW(flip_images(images(2), {0}), Error);
}

TEST(FlipImages, GradientMatchesFiniteDifferences) {
  Generator gen(2);
  Tensor x = Tensor::empty({3, 2, 3, 2}, DType::Float64);
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data<double>()[i] = gen.uniform(-1, 1);
  x.set_requires_grad();
  Tensor w = Tensor::empty({3, 2, 3, 2}, DType::Float64);
  for (std::int64_t i = 0; i < w.numel(); ++i) w.data<double>()[i] = gen.uniform(-1, 1);
  testing::expect_gradients_match("flip_images",
                                  [&] {
                                    return sum(flip_images(x, {kFlipHorizontal, kFlipVertical, 3}) * w);
                                  },
                                  {x});
}

// Which flip turned each input image into each output image.
std::vector<int> flips_of(const Tensor& in, const Tensor& out) {
  std::vector<int> found;
  const auto o = out.to_vector<float>();
  for (std::int64_t b = 0; b < in.size(0); ++b) {
    int which = -1;
    for (int m = 0; m < 4; ++m) {
      const auto candidate = flip_images(in.slice(b, b + 1), {std::uint8_t(m)}).to_vector<float>();
      if (std::equal(candidate.begin(), candidate.end(), o.begin() + b * 6)) which = m;
    }
    found.push_back(which);
  }
  return found;
}

TEST(RandomFlip, FlipsAboutHalfOfTheImagesEachWayOnlyInTraining) {
  const Tensor x = images(400);
  RandomFlip both("horizontal_and_vertical", 7);
  EXPECT_EQ(both(x, false).to_vector<float>(), x.to_vector<float>());
  const auto modes = flips_of(x, both(x, true));
  int counts[4] = {0, 0, 0, 0};
  for (int m : modes) {
    ASSERT_GE(m, 0) << "an output that is no flip of its input";
    ++counts[m];
  }
  for (int m = 0; m < 4; ++m) EXPECT_NEAR(counts[m], 100, 35) << "mode " << m;
  // The same seed flips the same way; each call draws anew.
  RandomFlip again("horizontal_and_vertical", 7);
  EXPECT_EQ(flips_of(x, again(x, true)), modes);
  EXPECT_NE(flips_of(x, again(x, true)), modes);
  // One direction only.
  for (int m : flips_of(x, RandomFlip("horizontal", 1)(x, true))) EXPECT_TRUE(m == 0 || m == kFlipHorizontal);
  for (int m : flips_of(x, RandomFlip("vertical", 1)(x, true))) EXPECT_TRUE(m == 0 || m == kFlipVertical);
}

TEST(RandomFlip, ConfigAndErrors) {
  RandomFlip layer("vertical", 3, {2, 3, 1});
  const auto rebuilt = layers::layer_from_config("RandomFlip", layer.get_config());
  const Tensor x = images(20);
  EXPECT_EQ((*rebuilt)(x, true).to_vector<float>(), layer(x, true).to_vector<float>());
  EXPECT_EQ(layer.generators().size(), 1u);
  EXPECT_THROW(RandomFlip("diagonal"), Error);
  EXPECT_THROW(RandomFlip()(Tensor::zeros({2, 3})), Error);
}

}  // namespace
}  // namespace kiln
