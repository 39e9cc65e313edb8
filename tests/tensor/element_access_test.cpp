// Reading and writing single elements and rows, and printing values (issue 18: a Tensor had
// no element access, and str() showed no values beyond 32 elements).
#include <gtest/gtest.h>

#include <sstream>

#include "kiln/kiln.hpp"
#include "support/errors.hpp"

namespace kiln {
namespace {

TEST(ElementAccess, AtReadsAndWritesOneElement) {
  Tensor t = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5}, {2, 3});
  EXPECT_EQ(t.at<float>({1, 2}), 5.0f);
  EXPECT_EQ(t.at<float>({-1, -3}), 3.0f);  // negative indices count from the end
  t.at<float>({0, 1}) = 42.0f;
  EXPECT_EQ(t.to_vector<float>()[1], 42.0f);
  const Tensor c = t;
  EXPECT_EQ(c.at<float>({0, 1}), 42.0f);
  // Through a view: a transpose reads with its strides.
  EXPECT_EQ(t.transpose(0, 1).at<float>({2, 1}), 5.0f);
  Tensor ids = Tensor::from_vector<std::int64_t>({7, 8, 9});
  EXPECT_EQ(ids.at<std::int64_t>({2}), 9);
  EXPECT_EQ(Tensor::scalar(3.5).at<float>({}), 3.5f);
}

TEST(ElementAccess, AtErrorsNameTheIndexTheAxisAndTheDtype) {
  Tensor t = Tensor::zeros({2, 3});
  EXPECT_EQ(testing::error_of([&] { t.at<float>({0, 3}); }),
            "Tensor::at: index 3 is out of range for axis 1 of size 3 (shape [2, 3])");
  EXPECT_EQ(testing::error_of([&] { t.at<float>({1}); }),
            "Tensor::at: index {1} has 1 entries for a tensor of shape [2, 3] (one per axis)");
  EXPECT_EQ(testing::error_of([&] { t.at<double>({0, 0}); }),
            "Tensor::at: the tensor holds float32, asked for float64 (use at<float32> or to())");
}

TEST(ElementAccess, RowsAreViewsThatShareData) {
  Tensor p = Tensor::from_vector<float>({0.1f, 0.9f, 0.7f, 0.3f}, {2, 2});
  EXPECT_EQ(p[0].shape(), (Shape{2}));
  EXPECT_FLOAT_EQ(p[0][1].item(), 0.9f);  // Keras's p[0][1]
  EXPECT_FLOAT_EQ(p[-1][0].item(), 0.7f);
  p[1].fill_(0.0);
  EXPECT_EQ(p.to_vector<float>(), (std::vector<float>{0.1f, 0.9f, 0.0f, 0.0f}));
  p[0].at<float>({0}) = 5.0f;
  EXPECT_EQ(p.at<float>({0, 0}), 5.0f);
  // A row of a model's output carries no graph: reading it is not part of training.
  Tensor w = Tensor::ones({2, 2}).set_requires_grad();
  EXPECT_FALSE(w[0].requires_grad());
  EXPECT_EQ(testing::error_of([&] { (void)p[2]; }), "Tensor::operator[]: row 2 is out of range for shape [2, 2]");
  EXPECT_EQ(testing::error_of([&] { (void)Tensor::scalar(1)[0]; }),
            "Tensor::operator[]: a scalar has no rows (use item())");
}

TEST(TensorPrinting, SmallTensorsShowEveryValueInRows) {
  const Tensor t = Tensor::from_vector<float>({1, 2.5f, -3, 4}, {2, 2});
  EXPECT_EQ(t.str(), "Tensor([[  1, 2.5],\n        [ -3,   4]], shape=[2, 2], dtype=float32)");
  std::ostringstream out;
  out << Tensor::from_vector<std::int32_t>({1, 20, 300});
  EXPECT_EQ(out.str(), "Tensor([  1,  20, 300], shape=[3], dtype=int32)");
  EXPECT_EQ(Tensor::scalar(0.5).str(), "Tensor(0.5, shape=[], dtype=float32)");
  EXPECT_EQ(Tensor::zeros({1, 2, 1}, DType::Int64).str(),
            "Tensor([[[0],\n         [0]]], shape=[1, 2, 1], dtype=int64)");
  EXPECT_EQ(Tensor().str(), "Tensor(undefined)");
}

TEST(TensorPrinting, LargeTensorsAreSummarisedAroundEllipses) {
  std::vector<std::int32_t> values(40 * 50);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<std::int32_t>(i);
  const std::string s = Tensor::from_vector(values, {40, 50}).str();
  EXPECT_EQ(s.substr(0, 42), "Tensor([[   0,    1,    2, ...,   47,   48");
  EXPECT_NE(s.find("[ 100,  101,  102, ...,  147,  148,  149],\n        ...,\n        [1850,"), std::string::npos) << s;
  EXPECT_NE(s.find("1997, 1998, 1999]], shape=[40, 50], dtype=int32)"), std::string::npos) << s;
  EXPECT_LT(s.size(), 700u);
  // Up to 1000 elements nothing is left out.
  EXPECT_EQ(Tensor::zeros({1000}).str().find("..."), std::string::npos);
}

TEST(ToCategorical, OneHotRowsAsKerasMakesThem) {
  const Tensor y = utils::to_categorical(Tensor::from_vector<std::int64_t>({2, 0, 1}), 4);
  EXPECT_EQ(y.shape(), (Shape{3, 4}));
  EXPECT_EQ(y.dtype(), DType::Float32);
  EXPECT_EQ(y.to_vector<float>(), (std::vector<float>{0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0}));
  // Without num_classes: the largest label + 1; a trailing axis of 1 is dropped; uint8 and float labels.
  const Tensor z = utils::to_categorical(Tensor::from_vector<std::uint8_t>({1, 2}, {2, 1}));
  EXPECT_EQ(z.shape(), (Shape{2, 3}));
  EXPECT_EQ(z.to_vector<float>(), (std::vector<float>{0, 1, 0, 0, 0, 1}));
  EXPECT_EQ(utils::to_categorical(Tensor::from_vector<double>({1.0}), 2, DType::Float64).to_vector<double>(),
            (std::vector<double>{0, 1}));
}

TEST(ToCategorical, LabelsOutsideTheClassesAreErrors) {
  EXPECT_EQ(testing::error_of([] { utils::to_categorical(Tensor::from_vector<std::int32_t>({0, 5, 1}), 3); }),
            "to_categorical: label 5 at index 1 is not below num_classes 3");
  EXPECT_EQ(testing::error_of([] { utils::to_categorical(Tensor::from_vector<std::int32_t>({0, -1})); }),
            "to_categorical: labels must be whole numbers >= 0, got -1.000000 at index 1");
  EXPECT_EQ(testing::error_of([] { utils::to_categorical(Tensor::from_vector<float>({0.5f})); }),
            "to_categorical: labels must be whole numbers >= 0, got 0.500000 at index 0");
}

}  // namespace
}  // namespace kiln
