#include <gtest/gtest.h>

#include "kiln/kiln.hpp"
#include "tensor/allocator.hpp"

namespace kiln {
namespace {

TEST(Tensor, CreationAndValues) {
  Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.numel(), 6);
  EXPECT_EQ(t.dtype(), DType::Float32);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.to_vector<double>(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(Tensor::full({2}, 7.0, DType::Int32).to_vector<std::int32_t>(), (std::vector<std::int32_t>{7, 7}));
  EXPECT_DOUBLE_EQ(Tensor::scalar(2.5).item(), 2.5);
}

TEST(Tensor, ViewsShareStorage) {
  Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2});
  Tensor rows = t.slice(1, 3);
  EXPECT_EQ(rows.shape(), (Shape{2, 2}));
  EXPECT_EQ(rows.to_vector<float>(), (std::vector<float>{3, 4, 5, 6}));
  rows.fill_(0);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1, 2, 0, 0, 0, 0}));
  Tensor flat = t.reshape({-1});
  EXPECT_EQ(flat.shape(), (Shape{6}));
  flat.data<float>()[0] = 9;
  EXPECT_EQ(t.data<float>()[0], 9);
}

TEST(Tensor, TransposeIsAStridedViewUntilMadeContiguous) {
  Tensor t = Tensor::from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  Tensor tt = t.transpose(0, 1);
  EXPECT_FALSE(tt.is_contiguous());
  EXPECT_EQ(tt.to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
  Tensor c = tt.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.reshape({6}).to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6}));
}

// A broadcast's innermost stride is 0; the copy that materialises it (as every
// gradient expanded from a sum or mean is) writes each row as a fill.
TEST(Tensor, BroadcastRowsMaterialiseWithTheirValuesInEveryDtype) {
  const Tensor column = Tensor::from_vector<float>({1, 2, 3}, {3, 1});
  const std::vector<double> expected = {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3};
  const Tensor wide = broadcast_to(column, {2, 3, 4});
  EXPECT_EQ(wide.contiguous().to_vector<double>(), expected);
  EXPECT_EQ(wide.to(DType::Float64).to_vector<double>(), expected);
  EXPECT_EQ(wide.to(DType::Int64).to_vector<std::int64_t>(),
            std::vector<std::int64_t>(expected.begin(), expected.end()));
  EXPECT_EQ(broadcast_to(Tensor::scalar(2.5), {3, 2}).to_vector<double>(), std::vector<double>(6, 2.5));
}

TEST(Tensor, ConversionsBetweenDtypes) {
  Tensor u = Tensor::from_vector<std::uint8_t>({0, 128, 255});
  EXPECT_EQ(u.to(DType::Float64).to_vector<double>(), (std::vector<double>{0, 128, 255}));
  const auto scaled = to_float(u, 1.0 / 255).to_vector<float>();
  EXPECT_FLOAT_EQ(scaled[2], 1.0f);
  EXPECT_FLOAT_EQ(scaled[1], 128.0f / 255.0f);
}

TEST(Tensor, ErrorsNameTheProblem) {
  Tensor t = Tensor::zeros({2, 3});
  EXPECT_THROW(t.reshape({4, 2}), Error);
  EXPECT_THROW(t.reshape({-1, -1}), Error);
  EXPECT_THROW(t.slice(1, 3), Error);
  EXPECT_THROW(t.item(), Error);
  EXPECT_THROW(t.data<double>(), Error);
  EXPECT_THROW(Tensor::from_vector<float>({1, 2, 3}, {2, 2}), Error);
  EXPECT_THROW(Tensor().shape(), Error);
  EXPECT_THROW(Tensor::zeros({2}, DType::Int32).set_requires_grad(), Error);
  try {
    t.reshape({4, 2});
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[2, 3]"), std::string::npos) << e.what();
  }
}

TEST(Allocator, ReusesFreedBlocksOfTheSameSize) {
  void* first;
  {
    Tensor a = Tensor::empty({1 << 20});
    first = a.raw_data();
  }
  Tensor b = Tensor::empty({1 << 20});
  EXPECT_EQ(b.raw_data(), first);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.raw_data()) % 64, 0u);
}

TEST(Generator, SameSeedSameSequenceAndSensibleMoments) {
  Generator a(42), b(42), c(43);
  EXPECT_EQ(a.next_u64(), b.next_u64());
  EXPECT_NE(a.next_u64(), c.next_u64());
  Generator g(1);
  double sum = 0, sum_sq = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    const double v = g.normal();
    sum += v, sum_sq += v * v;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.02);
  EXPECT_NEAR(sum_sq / n, 1.0, 0.02);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) ++counts[g.below(7)];
  for (int k : counts) EXPECT_NEAR(k, 10000, 500);
}

}  // namespace
}  // namespace kiln
