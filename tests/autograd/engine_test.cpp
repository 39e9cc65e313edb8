#include <gtest/gtest.h>

#include <cmath>

#include "kiln/kiln.hpp"
#include "support/errors.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::leaf;
using testing::contains;

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

TEST(AutogradVersions, InPlaceWritesBumpTheVersionSharedWithViews) {
  Tensor t = Tensor::zeros({2, 3}, DType::Float64);
  const std::uint64_t v0 = t.version();
  Tensor view = t.reshape({6});
  t.fill_(1.0);
  EXPECT_EQ(t.version(), v0 + 1);
  EXPECT_EQ(view.version(), v0 + 1);
  view.copy_(Tensor::ones({6}, DType::Float64));
  EXPECT_EQ(t.version(), v0 + 2);
  EXPECT_EQ(t.detach().version(), v0 + 2);
  EXPECT_EQ(t.clone().version(), 0u) << "a clone has data of its own";
  Tensor x = exp(t);  // computing from t writes nothing into it
  EXPECT_EQ(t.version(), v0 + 2);
}

TEST(AutogradVersions, CopyIntoASavedInputMakesBackwardThrowNamingTheOp) {
  Tensor w = leaf({1.0, 2.0}).set_name("dense/kernel");
  Tensor x = Tensor::from_vector<double>({3.0, 4.0});
  Tensor loss = sum(x * w);  // mul's backward reads x for w's gradient
  w.copy_(Tensor::from_vector<double>({5.0, 6.0}));
  const std::string msg = testing::error_of([&] { loss.backward(); });
  EXPECT_TRUE(contains(msg, "backward of 'mul'")) << msg;
  EXPECT_TRUE(contains(msg, "input 1 'dense/kernel'")) << msg;
  EXPECT_TRUE(contains(msg, "modified in place")) << msg;
  EXPECT_FALSE(w.grad().defined()) << "no gradient computed from the new values";
}

TEST(AutogradVersions, FillOfASavedInputMakesBackwardThrowNamingTheOp) {
  Tensor w = leaf({1.0, 2.0});
  Tensor x = Tensor::from_vector<double>({3.0, 4.0});
  Tensor loss = sum(square(w) * x);
  x.fill_(0.0);  // w's gradient would silently become 0
  const std::string msg = testing::error_of([&] { loss.backward(); });
  EXPECT_TRUE(contains(msg, "backward of 'mul'")) << msg;
  EXPECT_TRUE(contains(msg, "input 1 (float64 [2])")) << msg;
}

TEST(AutogradVersions, WritingIntoAnOpsOutputIsCaught) {
  Tensor x = leaf({0.5, -1.0});
  Tensor y = exp(x);  // exp's backward multiplies by its output
  y.fill_(0.0);
  const std::string msg = testing::error_of([&] { sum(y).backward(); });
  EXPECT_TRUE(contains(msg, "backward of 'exp': its output")) << msg;
  // Written after a later op read it, the error names that op and where the data came from.
  Tensor z = exp(x);
  Tensor total = sum(z);
  z.fill_(0.0);
  const std::string later = testing::error_of([&] { total.backward(); });
  EXPECT_TRUE(contains(later, "backward of 'sum': its input 0 (float64 [2]), the output of 'exp',")) << later;
}

TEST(AutogradVersions, AnOptimizerStepBeforeBackwardIsAnError) {
  Tensor w = leaf({1.0, -2.0}).set_name("dense_1/kernel");
  Tensor loss = sum(square(w));
  w.set_grad(Tensor::ones({2}, DType::Float64));
  optim::SGD(0.1).apply_gradients({w});  // w's data changes under the recorded square
  const std::string msg = testing::error_of([&] { loss.backward(); });
  EXPECT_TRUE(contains(msg, "backward of 'square'")) << msg;
  EXPECT_TRUE(contains(msg, "'dense_1/kernel'")) << msg;
  // With retain_graph, a second backward after a step is refused the same way.
  Tensor again = sum(square(w));
  again.backward(Tensor(), /*retain_graph=*/true);
  optim::SGD(0.1).apply_gradients({w});
  EXPECT_TRUE(contains(testing::error_of([&] { again.backward(); }), "backward of 'square'"));
}

TEST(AutogradVersions, WritesAfterBackwardOrIntoOtherDataAreFine) {
  Tensor w = leaf({1.0, -2.0});
  Tensor unrelated = Tensor::zeros({2}, DType::Float64);
  optim::SGD sgd(0.5);
  for (int step = 0; step < 3; ++step) {
    Tensor loss = sum(square(w));
    unrelated.fill_(step);
    loss.backward();
    sgd.apply_gradients({w});  // after backward: the normal training step
  }
  // w = w * (1 - 2 * 0.5) after the first step
  EXPECT_EQ(w.to_vector<double>(), (std::vector<double>{0.0, 0.0}));
}

}  // namespace
}  // namespace kiln
