// kiln::random: tensors of random values as keras.random makes them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "kiln/kiln.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

double mean_of(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }

double stddev_of(const std::vector<double>& v) {
  const double m = mean_of(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size()));
}

TEST(Random, NormalHasTheAskedMomentsShapeAndDtype) {
  const Tensor t = random::normal({100, 100}, 2.0, 3.0, 7);
  EXPECT_EQ(t.shape(), (Shape{100, 100}));
  EXPECT_EQ(t.dtype(), DType::Float32);
  const auto v = t.to_vector<double>();
  EXPECT_NEAR(mean_of(v), 2.0, 0.1);    // 3 / sqrt(10000) = 0.03 standard error
  EXPECT_NEAR(stddev_of(v), 3.0, 0.1);
  EXPECT_EQ(random::normal({3}, 0, 1, 1, DType::Float64).dtype(), DType::Float64);
}

TEST(Random, ASeedGivesTheSameValuesEveryCallAndNoSeedFollowsManualSeed) {
  EXPECT_EQ(random::uniform({50}, 0, 1, 42).to_vector<float>(), random::uniform({50}, 0, 1, 42).to_vector<float>());
  EXPECT_NE(random::uniform({50}, 0, 1, 42).to_vector<float>(), random::uniform({50}, 0, 1, 43).to_vector<float>());
  manual_seed(5);
  const auto a = random::normal({20}).to_vector<float>();
  const auto b = random::normal({20}).to_vector<float>();
  EXPECT_NE(a, b);  // the default generator advances
  manual_seed(5);
  EXPECT_EQ(random::normal({20}).to_vector<float>(), a);
}

TEST(Random, UniformStaysInItsRange) {
  const auto v = random::uniform({10000}, -2.0, 5.0, 3).to_vector<double>();
  EXPECT_GE(*std::min_element(v.begin(), v.end()), -2.0);
  EXPECT_LT(*std::max_element(v.begin(), v.end()), 5.0);
  EXPECT_NEAR(mean_of(v), 1.5, 0.1);
}

TEST(Random, RandintCoversExactlyItsHalfOpenRange) {
  const Tensor t = random::randint({5000}, -3, 4, 11);
  EXPECT_EQ(t.dtype(), DType::Int32);
  const auto v = t.to_vector<std::int64_t>();
  for (std::int64_t k = -3; k < 4; ++k) EXPECT_GT(std::count(v.begin(), v.end(), k), 500) << k;
  EXPECT_EQ(*std::min_element(v.begin(), v.end()), -3);
  EXPECT_EQ(*std::max_element(v.begin(), v.end()), 3);
  EXPECT_EQ(random::randint({2}, 0, 10, 0, DType::Int64).dtype(), DType::Int64);
}

TEST(Random, ShufflePermutesAlongTheAxisKeepingRowsWhole) {
  const Tensor x = Tensor::from_vector<float>({0, 1, 10, 11, 20, 21, 30, 31, 40, 41}, {5, 2});
  const Tensor s = random::shuffle(x, 0, 9);
  EXPECT_EQ(s.shape(), x.shape());
  auto rows = s.to_vector<float>();
  std::vector<float> firsts;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(rows[2 * i + 1], rows[2 * i] + 1);  // rows stay whole
    firsts.push_back(rows[2 * i]);
  }
  EXPECT_NE(firsts, (std::vector<float>{0, 10, 20, 30, 40}));
  std::sort(firsts.begin(), firsts.end());
  EXPECT_EQ(firsts, (std::vector<float>{0, 10, 20, 30, 40}));
  // Along the last axis: each row's entries are permuted in the same way.
  const Tensor cols = random::shuffle(Tensor::from_vector<std::int64_t>({0, 1, 2, 3, 4, 5, 6, 7}, {2, 4}), -1, 1);
  const auto c = cols.to_vector<std::int64_t>();
  for (int j = 0; j < 4; ++j) EXPECT_EQ(c[4 + j], c[j] + 4);
  EXPECT_EQ(x.to_vector<float>()[2], 10);  // the input is untouched
}

TEST(Random, BadArgumentsNameTheFunctionAndValues) {
  EXPECT_EQ(testing::error_of([] { random::uniform({2}, 1.0, 1.0); }),
            "kiln::random::uniform: minval must be below maxval, got minval 1.000000 and maxval 1.000000");
  EXPECT_EQ(testing::error_of([] { random::randint({2}, 5, 5); }),
            "kiln::random::randint: minval must be below maxval, got minval 5 and maxval 5");
  EXPECT_EQ(testing::error_of([] { random::randint({2}, 0, 2, 0, DType::Float32); }),
            "kiln::random::randint: dtype must be int32 or int64, got float32");
  EXPECT_EQ(testing::error_of([] { random::normal({2}, 0, 1, 0, DType::Int32); }),
            "kiln::random::normal: dtype must be float32 or float64, got int32");
  EXPECT_NE(testing::error_of([] { random::shuffle(Tensor::scalar(1)); }).find("scalar"), std::string::npos);
}

}  // namespace
}  // namespace kiln
