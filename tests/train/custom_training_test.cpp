// The pieces of a custom training step: kiln::gradients, Optimizer's zip-style
// apply_gradients and minimize, detach, freezing, and their errors.
#include <gtest/gtest.h>

#include "kiln/kiln.hpp"
#include "support/errors.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::leaf;

using namespace kiln::layers;

using testing::error_of;

TEST(Gradients, MatchBackwardAndLeaveGradUntouched) {
  Tensor a = leaf({1.0, 2.0}), b = leaf({3.0});
  auto loss = [&] { return sum(a * a) * b; };  // d/da = 2ab, d/db = sum(a^2)
  const auto grads = gradients(loss(), {a, b});
  EXPECT_EQ(grads[0].to_vector<double>(), (std::vector<double>{6.0, 12.0}));
  EXPECT_DOUBLE_EQ(grads[1].item(), 5.0);
  EXPECT_FALSE(a.grad().defined());
}

TEST(Gradients, UnusedParameterGetsNoGradientAndApplyingItNamesTheLayer) {
  Dense used(2, DenseOptions{.name = "used_dense"}), unused(2, DenseOptions{.name = "unused_dense"});
  const Tensor x = Tensor::ones({3, 4});
  unused(x);  // built, but not part of the loss
  const Tensor loss = mean(used(x));
  std::vector<Tensor> params = used.trainable_weights();
  for (const Tensor& w : unused.trainable_weights()) params.push_back(w);
  const auto grads = gradients(loss, params);
  EXPECT_TRUE(grads[0].defined());
  EXPECT_FALSE(grads[2].defined()) << "the unused kernel has no gradient, as Keras's None";
  optim::Adam adam;
  const std::string msg = error_of([&] { adam.apply_gradients(grads, params); });
  EXPECT_NE(msg.find("unused_dense/kernel"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no gradient"), std::string::npos) << msg;
  EXPECT_EQ(adam.iterations(), 0) << "nothing was updated";
}

TEST(Gradients, FrozenParameterAndNonScalarLossAreErrors) {
  Dense dense(2, DenseOptions{.name = "frozen_dense"});
  const Tensor y = dense(Tensor::ones({3, 4}));
  const Tensor kernel = dense.kernel();
  dense.set_trainable(false);
  std::string msg = error_of([&] { gradients(mean(y), {kernel}); });
  EXPECT_NE(msg.find("frozen_dense/kernel"), std::string::npos) << msg;
  EXPECT_NE(msg.find("trainable"), std::string::npos) << msg;
  Tensor a = leaf({1.0, 2.0});
  msg = error_of([&] { gradients(a * 2.0, {a}); });
  EXPECT_NE(msg.find("scalar"), std::string::npos) << msg;
}

TEST(Gradients, DetachStopsTheGradient) {
  Tensor a = leaf({2.0}), b = leaf({3.0});
  const Tensor c = a * b;
  const auto grads = gradients(sum(c.detach() * b + c), {a, b});
  EXPECT_DOUBLE_EQ(grads[0].item(), 3.0);      // only through c
  EXPECT_DOUBLE_EQ(grads[1].item(), 6.0 + 2);  // c.detach() (6) plus through c (a = 2)
}

TEST(ApplyGradients, ZipStyleMatchesTheGradStyle) {
  Tensor p = leaf({1.0, -2.0}), q = leaf({1.0, -2.0});
  optim::Adam a1(0.1), a2(0.1);
  for (int step = 0; step < 3; ++step) {
    const Tensor g = Tensor::from_vector<double>({0.5 * (step + 1), -1.0});
    p.set_grad(g);
    a1.apply_gradients({p});
    a2.apply_gradients({g}, {q});
  }
  EXPECT_EQ(p.to_vector<double>(), q.to_vector<double>());
  EXPECT_EQ(a2.iterations(), 3);
  EXPECT_FALSE(q.grad().defined());
}

TEST(ApplyGradients, MismatchedListsAndShapesAreErrors) {
  Dense dense(3, DenseOptions{.name = "head"});
  dense(Tensor::ones({1, 2}));
  const auto params = dense.trainable_weights();
  optim::SGD sgd;
  std::string msg = error_of([&] { sgd.apply_gradients({Tensor::zeros({2, 3})}, params); });
  EXPECT_NE(msg.find("1 gradients for 2 parameters"), std::string::npos) << msg;
  msg = error_of([&] { sgd.apply_gradients({Tensor::zeros({3, 2}), Tensor::zeros({3})}, params); });
  EXPECT_NE(msg.find("head/kernel"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[3, 2]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("[2, 3]"), std::string::npos) << msg;
}

TEST(ApplyGradients, MinimizeTakesAStepDownhill) {
  Tensor w = leaf({3.0});
  optim::SGD sgd(0.25);
  sgd.minimize(sum(w * w), {w});  // w -= 0.25 * 2w
  EXPECT_DOUBLE_EQ(w.item(), 1.5);
}

// A GAN-style pair of steps on tiny models: the discriminator step leaves the
// generator alone (detach) and the generator step the discriminator (its
// gradient is never applied; freezing also skips computing it).
TEST(CustomStep, EachPlayerUpdatesOnlyItsOwnWeights) {
  manual_seed(3);
  Sequential gen, disc;
  gen.add(Dense(2, "", {1}));
  disc.add(Dense(1, "", {2}));
  optim::Adam g_opt(0.01), d_opt(0.01);
  const losses::BinaryCrossentropy bce(/*from_logits=*/true);
  const Tensor z = Tensor::ones({4, 1}), real = Tensor::full({4, 2}, 0.5);
  const auto gen_before = gen.trainable_weights()[0].to_vector<float>();
  const auto disc_before = disc.trainable_weights()[0].to_vector<float>();

  const Tensor fake = gen(z, true).detach();
  const Tensor d_loss = bce(Tensor::ones({4, 1}), disc(real, true)) + bce(Tensor::zeros({4, 1}), disc(fake, true));
  d_opt.minimize(d_loss, disc.trainable_weights());
  EXPECT_EQ(gen.trainable_weights()[0].to_vector<float>(), gen_before);
  EXPECT_NE(disc.trainable_weights()[0].to_vector<float>(), disc_before);

  const auto disc_after = disc.trainable_weights()[0].to_vector<float>();
  disc.set_trainable(false);
  EXPECT_TRUE(disc.trainable_weights().empty());
  const Tensor g_loss = bce(Tensor::ones({4, 1}), disc(gen(z, true), true));
  g_opt.minimize(g_loss, gen.trainable_weights());
  disc.set_trainable(true);
  EXPECT_NE(gen.trainable_weights()[0].to_vector<float>(), gen_before);
  EXPECT_EQ(disc.trainable_weights()[0].to_vector<float>(), disc_after);
}

}  // namespace
}  // namespace kiln
