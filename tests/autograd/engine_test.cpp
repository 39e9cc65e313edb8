#include <gtest/gtest.h>

#include <cmath>

#include "kiln/kiln.hpp"

namespace kiln {
namespace {

Tensor leaf(std::vector<double> v) { return Tensor::from_vector(v).set_requires_grad(); }

TEST(Autograd, ReusedInputGetsTheSumOfItsPaths) {
  Tensor x = leaf({3.0});
  sum(x * x + x).backward();  // d/dx (x^2 + x) = 2x + 1
  EXPECT_DOUBLE_EQ(x.grad().item(), 7.0);
}

TEST(Autograd, GradientsAccumulateUntilCleared) {
  Tensor x = leaf({2.0});
  sum(x * 3.0).backward();
  sum(x * 3.0).backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 6.0);
  x.zero_grad();
  EXPECT_FALSE(x.grad().defined());
}

TEST(Autograd, NoGradRecordsNothing) {
  Tensor x = leaf({2.0});
  NoGradGuard guard;
  Tensor y = x * 2.0;
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
}

TEST(Autograd, DetachStopsGradients) {
  Tensor x = leaf({2.0});
  Tensor y = x.detach() * x;  // only the second factor is differentiated
  sum(y).backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 2.0);
}

TEST(Autograd, SecondBackwardThroughFreedGraphIsAnError) {
  Tensor x = leaf({1.0});
  Tensor y = sum(exp(x));
  y.backward();
  EXPECT_THROW(y.backward(), Error);
  Tensor z = sum(exp(x));
  z.backward(Tensor(), /*retain_graph=*/true);
  z.backward();
  EXPECT_NEAR(x.grad().item(), 3 * std::exp(1.0), 1e-12);
}

TEST(Autograd, GradReturnsWithoutTouchingLeaves) {
  Tensor a = leaf({1.0, 2.0}), b = leaf({3.0, 4.0});
  Tensor loss = sum(a * b);
  auto grads = autograd::grad(loss, {a});
  EXPECT_EQ(grads[0].to_vector<double>(), (std::vector<double>{3.0, 4.0}));
  EXPECT_FALSE(a.grad().defined());
  EXPECT_FALSE(b.grad().defined());
}

TEST(Autograd, GradWithRespectToAnIntermediate) {
  Tensor x = leaf({2.0});
  Tensor h = x * 3.0;
  Tensor loss = sum(h * h);
  auto grads = autograd::grad(loss, {h, x});
  EXPECT_DOUBLE_EQ(grads[0].item(), 12.0);  // 2h
  EXPECT_DOUBLE_EQ(grads[1].item(), 36.0);  // 2h * 3
}

TEST(Autograd, BackwardOnNonScalarNeedsGradOutput) {
  Tensor x = leaf({1.0, 2.0});
  Tensor y = x * 2.0;
  EXPECT_THROW(y.backward(), Error);
  y.backward(Tensor::from_vector<double>({1.0, 10.0}));
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2.0, 20.0}));
}

TEST(Autograd, DeepChainDoesNotOverflowTheStack) {
  Tensor x = leaf({1.0});
  Tensor y = x;
  for (int i = 0; i < 200000; ++i) y = y * 1.0;
  sum(y).backward();
  EXPECT_DOUBLE_EQ(x.grad().item(), 1.0);
}

TEST(Autograd, BackwardFromTensorThatNeedsNoGradIsAnError) {
  Tensor x = Tensor::from_vector<double>({1.0});
  EXPECT_THROW(sum(x).backward(), Error);
}

}  // namespace
}  // namespace kiln
