// The core's hooks for distributed training (kiln/distribution.hpp, autograd's grad-ready
// hook), checked in one process: kiln_mpi_tests (tests/distributed/) runs them over MPI.
#include "kiln/distribution.hpp"

#include <gtest/gtest.h>

#include <sstream>

#include "kiln/autograd_hooks.hpp"
#include "kiln/kiln.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;

TEST(GradReadyHook, FiresOncePerLeafWhenItsGradientIsComplete) {
  // loss = sum(w2 * (w1 * x) + w1 * x): w1 gets two contributions, w2 one, and w2's comes first.
  Tensor x = Tensor::from_vector(std::vector<float>{1, 2}, {2});
  Tensor w1 = Tensor::from_vector(std::vector<float>{3, 4}, {2}).set_requires_grad();
  Tensor w2 = Tensor::from_vector(std::vector<float>{5, 6}, {2}).set_requires_grad();
  std::vector<std::pair<const void*, std::vector<float>>> seen;
  autograd::set_grad_ready_hook(
      [&](const Tensor& leaf) { seen.emplace_back(leaf.impl(), leaf.grad().to_vector<float>()); });
  const Tensor h = w1 * x;
  sum(w2 * h + h).backward();
  autograd::set_grad_ready_hook({});
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, w2.impl());
  EXPECT_EQ(seen[0].second, (std::vector<float>{3, 8}));  // d/dw2 = w1 * x
  EXPECT_EQ(seen[1].first, w1.impl());
  EXPECT_EQ(seen[1].second, (std::vector<float>{6, 14}));  // d/dw1 = (w2 + 1) * x, both paths in
}

TEST(GradReadyHook, IsNotCalledByGradientsNorAfterRemoval) {
  Tensor w = Tensor::from_vector(std::vector<float>{1, 2}, {2}).set_requires_grad();
  int calls = 0;
  autograd::set_grad_ready_hook([&](const Tensor&) { ++calls; });
  (void)gradients(sum(w * w), {w});  // returned, not accumulated: nothing becomes "ready"
  EXPECT_EQ(calls, 0);
  sum(w * w).backward();
  EXPECT_EQ(calls, 1);
  autograd::set_grad_ready_hook({});
  sum(w * w).backward();
  EXPECT_EQ(calls, 1);
}

TEST(Distribution, ShardRowsSplitsAsEvenlyAsItCan) {
  using distribution::shard_rows;
  EXPECT_EQ(shard_rows(7, 0, 3), (std::pair<std::int64_t, std::int64_t>{0, 3}));
  EXPECT_EQ(shard_rows(7, 1, 3), (std::pair<std::int64_t, std::int64_t>{3, 5}));
  EXPECT_EQ(shard_rows(7, 2, 3), (std::pair<std::int64_t, std::int64_t>{5, 7}));
  EXPECT_EQ(shard_rows(8, 1, 2), (std::pair<std::int64_t, std::int64_t>{4, 8}));
  EXPECT_EQ(shard_rows(5, 0, 1), (std::pair<std::int64_t, std::int64_t>{0, 5}));
}

// Rank 1 of 2, the other rank simulated: it reports what fit asks and doubles every sum, as a
// twin rank with the same values would.
class RecordingStrategy : public distribution::Strategy {
 public:
  explicit RecordingStrategy(const Model& m) : model(&m) {}
  int rank() const override { return 1; }
  int world_size() const override { return 2; }
  bool covers(const Model& m) const override { return &m == model; }
  void on_fit_begin(Model&) override { ++fit_begins; }
  void on_step_begin(std::int64_t local, std::int64_t global) override { steps.emplace_back(local, global); }
  void reduce_gradients(std::vector<Tensor>& grads, const std::vector<Tensor>& params) override {
    reduced_params = params.size();
    for (Tensor& g : grads) g = g * 0.0;  // the twin's gradients cancel ours: no weight may change
  }
  void sum(std::vector<double>& values) override {
    for (double& v : values) v *= 2;
  }
  const Model* model;
  int fit_begins = 0;
  std::vector<std::pair<std::int64_t, std::int64_t>> steps;
  std::size_t reduced_params = 0;
};

TEST(Distribution, FitTrainsOnThisRanksRowsAndStepsWithReducedGradients) {
  manual_seed(3);
  Sequential model;
  model.add(Dense(2, DenseOptions{.input_shape = {3}}));
  model.compile(optim::SGD(0.5), losses::SparseCategoricalCrossentropy(true), {"accuracy"});
  const Tensor x = testing::random_tensor({10, 3}, 1);
  const Tensor y = Tensor::from_vector(std::vector<std::int32_t>{0, 1, 0, 1, 1, 0, 0, 1, 1, 0});
  const std::vector<Tensor> before = model.get_weights();
  auto strategy = std::make_shared<RecordingStrategy>(model);
  distribution::set_strategy(strategy);
  std::ostringstream out;
  std::streambuf* old = std::cout.rdbuf(out.rdbuf());
  const History h = model.fit(x, y, {.epochs = 1, .batch_size = 4, .verbose = 2, .shuffle = false});
  const Logs scored = model.evaluate(x, y, {.batch_size = 4, .verbose = 2});
  std::cout.rdbuf(old);
  distribution::set_strategy(nullptr);

  EXPECT_EQ(strategy->fit_begins, 1);
  // Global batches of 4, 4 and 2 rows: rank 1 of 2 takes the second half of each.
  EXPECT_EQ(strategy->steps, (std::vector<std::pair<std::int64_t, std::int64_t>>{{2, 4}, {2, 4}, {1, 2}}));
  EXPECT_EQ(strategy->reduced_params, 2u);
  for (std::size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(testing::same_bits(before[i], model.get_weights()[i]));
  EXPECT_EQ(out.str(), "") << "only rank 0 prints";
  // Rank 1's rows are 2-3, 6-7 and 9 in training and evaluation: the doubled sums leave means as they are.
  const Tensor mine_x = concat({x.slice(2, 4), x.slice(6, 8), x.slice(9, 10)}, 0);
  const Tensor mine_y = concat({y.slice(2, 4), y.slice(6, 8), y.slice(9, 10)}, 0);
  const Logs local = model.evaluate(mine_x, mine_y, {.batch_size = 5, .verbose = 0});
  EXPECT_NEAR(h.history.at("loss")[0], local.at("loss"), 1e-6);
  EXPECT_NEAR(h.history.at("accuracy")[0], local.at("accuracy"), 1e-12);
  EXPECT_NEAR(scored.at("loss"), local.at("loss"), 1e-6);
  EXPECT_NEAR(scored.at("accuracy"), local.at("accuracy"), 1e-12);
}

}  // namespace
}  // namespace kiln
