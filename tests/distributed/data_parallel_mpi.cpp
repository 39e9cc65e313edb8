// Data-parallel training on MPI, as PyTorch's DDP tests check it: N ranks, each on its rows of
// a global batch B, end with the weights one process reaches on batch B. Every rank runs these
// tests (kiln_mpi_tests under mpirun -np 2 and -np 3, tests/distributed/mpi_tests.cmake); each
// also trains the one-process reference itself (no DataParallel covers that model) and compares.
// Collective work comes first in each test and the checks after, so that a failing check on
// one rank cannot leave another waiting in a collective.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>

#include "kiln/distributed.hpp"
#include "kiln/kiln.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;
namespace dist = kiln::distributed;

// Images whose class shows in their pixels, so training makes progress.
data::Dataset mpi_toy_images(std::int64_t n, std::int64_t side, std::uint64_t seed) {
  Generator g(seed);
  std::vector<float> x(static_cast<std::size_t>(n * side * side));
  std::vector<std::int32_t> y(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    y[i] = static_cast<std::int32_t>(g.below(3));
    for (std::int64_t p = 0; p < side * side; ++p) {
      x[i * side * side + p] = static_cast<float>(g.uniform() * 0.5 + (p % 3 == y[i] ? 0.5 : 0.0));
    }
  }
  return data::Dataset(Tensor::from_vector(x, {n, side, side, 1}), Tensor::from_vector(y));
}

data::Dataset mpi_toy_sequences(std::int64_t n, std::uint64_t seed) {
  Generator g(seed);
  std::vector<float> x(static_cast<std::size_t>(n * 5 * 3));
  std::vector<std::int32_t> y(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    y[i] = static_cast<std::int32_t>(g.below(2));
    for (std::int64_t t = 0; t < 15; ++t) x[i * 15 + t] = static_cast<float>(g.uniform() + (t % 2 == y[i] ? 0.5 : 0));
  }
  return data::Dataset(Tensor::from_vector(x, {n, 5, 3}), Tensor::from_vector(y));
}

std::shared_ptr<Model> mpi_article_cnn(std::uint64_t seed) {
  manual_seed(seed);
  auto model = std::make_shared<Sequential>(zoo::article_cnn({18, 18, 1}, 3));
  model->compile(optim::SGD({.learning_rate = 0.1, .momentum = 0.9}), losses::SparseCategoricalCrossentropy(),
                 {"accuracy"});
  return model;
}

// Functional: LSTM then Dense.
std::shared_ptr<Model> mpi_lstm_model(std::uint64_t seed) {
  manual_seed(seed);
  const SymbolicTensor in = Input({5, 3});
  const SymbolicTensor h = LSTM(6)(in);
  auto model = std::make_shared<Model>(in, Dense(2, "softmax")(h));
  model->compile(optim::SGD(0.3), losses::SparseCategoricalCrossentropy(), {"accuracy"});
  return model;
}

// Conv, BatchNormalization (synchronized or not), pooling, Dense: the statistics of a batch's
// rows decide every rank's gradients.
std::shared_ptr<Model> mpi_batch_norm_cnn(std::uint64_t seed, bool synchronized) {
  manual_seed(seed);
  auto model = std::make_shared<Sequential>();
  model->add(Conv2D(4, 3, "linear", {18, 18, 1}));
  model->add(BatchNormalization({.momentum = 0.8, .synchronized = synchronized}));
  model->add(Activation("relu"));
  model->add(MaxPooling2D(2));
  model->add(Flatten());
  model->add(Dense(3, "softmax"));
  model->compile(optim::SGD({.learning_rate = 0.1, .momentum = 0.9}), losses::SparseCategoricalCrossentropy(),
                 {"accuracy"});
  return model;
}

// A custom train_step that takes gradients itself (kiln::gradients) and applies them.
class MpiCustomStep : public Sequential {
 public:
  Logs train_step(const data::Batch& batch) override {
    const Tensor loss = this->loss()(batch.y, call(batch.x, true));
    optimizer().apply_gradients(gradients(loss, trainable_weights()), trainable_weights());
    return {{"loss", loss.item()}};
  }
};

std::shared_ptr<Model> mpi_custom_step_model(std::uint64_t seed) {
  manual_seed(seed);
  auto model = std::make_shared<MpiCustomStep>();
  model->add(Conv2D(4, 3, "relu", {18, 18, 1}));
  model->add(Flatten());
  model->add(Dense(3, "softmax"));
  model->compile(optim::Adam(1e-2), losses::SparseCategoricalCrossentropy());
  return model;
}

// Whether every rank holds the same bits as rank 0: the sums over ranks of each value and of its
// square are world_size times this rank's (exact in double for float32 values and a few ranks).
bool same_on_every_rank(const std::vector<Tensor>& weights) {
  std::vector<double> mine;
  for (const Tensor& w : weights) {
    for (float v : w.contiguous().to_vector<float>()) mine.insert(mine.end(), {double(v), double(v) * double(v)});
  }
  std::vector<double> total = mine;
  dist::sum(total);
  for (std::size_t i = 0; i < mine.size(); ++i) {
    if (total[i] != mine[i] * dist::world_size()) return false;
  }
  return true;
}

void expect_weights_near(const std::vector<Tensor>& got, const std::vector<Tensor>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    const auto a = got[i].to_vector<float>(), b = want[i].to_vector<float>();
    ASSERT_EQ(a.size(), b.size());
    double worst = 0;
    for (std::size_t j = 0; j < a.size(); ++j) worst = std::max(worst, std::abs(double(a[j]) - double(b[j])));
    EXPECT_LE(worst, tol) << "weight " << i << " of " << got.size();
  }
}

struct EquivalenceRun {
  std::vector<Tensor> reference, parallel;
  History reference_history, parallel_history;
  Logs reference_scores, parallel_scores;
  bool identical_across_ranks = false;
  dist::CommunicationStats stats;
};

// One process on the whole batch, then every rank on its rows under DataParallel, from weights
// that differ per rank before fit (rank 0's must win).
EquivalenceRun run_both(const std::function<std::shared_ptr<Model>(std::uint64_t)>& make, const data::Dataset& data,
                        FitOptions options, double bucket_cap_mb = 25) {
  EquivalenceRun r;
  options.verbose = 0;
  auto reference = make(11);
  r.reference_history = reference->fit(data, options);
  r.reference = reference->get_weights();
  r.reference_scores = reference->evaluate(data, {.batch_size = 7, .verbose = 0});
  auto model = make(11 + 1000 * std::uint64_t(dist::rank()));
  {
    dist::DataParallel ddp(*model, {.bucket_cap_mb = bucket_cap_mb});
    r.parallel_history = model->fit(data, options);
    r.parallel_scores = model->evaluate(data, {.batch_size = 7, .verbose = 0});
    r.stats = ddp.stats();
  }
  r.parallel = model->get_weights();
  r.identical_across_ranks = same_on_every_rank(r.parallel);
  return r;
}

void expect_equivalent(const EquivalenceRun& r, double tol) {
  EXPECT_TRUE(r.identical_across_ranks) << "every rank must end with rank 0's weights";
  expect_weights_near(r.parallel, r.reference, tol);
  for (const auto& [key, values] : r.reference_history.history) {
    ASSERT_TRUE(r.parallel_history.history.count(key)) << key;
    for (std::size_t e = 0; e < values.size(); ++e) {
      EXPECT_NEAR(r.parallel_history.history.at(key)[e], values[e], 1e-4) << key << " epoch " << e;
    }
  }
  for (const auto& [key, value] : r.reference_scores) EXPECT_NEAR(r.parallel_scores.at(key), value, 1e-4) << key;
}

// 27 samples in global batches of 12: 12, 12, then 3, split unevenly (2 + 1 on 2 ranks).
TEST(DataParallel, ArticleCnnMatchesOneProcessOnTheWholeBatch) {
  const auto data = mpi_toy_images(27, 18, 5);
  const auto r = run_both(mpi_article_cnn, data, {.epochs = 2, .batch_size = 12, .seed = 3});
  expect_equivalent(r, 2e-5);
  // The history's accuracy is over all ranks' samples: a count out of 27.
  const double correct = r.parallel_history.history.at("accuracy")[1] * 27;
  EXPECT_NEAR(correct, std::round(correct), 1e-9);
  EXPECT_EQ(r.stats.steps, 6);
}

TEST(DataParallel, LstmMatchesOneProcessOnTheWholeBatch) {
  const auto data = mpi_toy_sequences(30, 8);
  const auto r = run_both(mpi_lstm_model, data, {.epochs = 2, .batch_size = 10, .seed = 4});
  expect_equivalent(r, 2e-5);
}

TEST(DataParallel, CustomTrainStepMatchesOneProcess) {
  const auto data = mpi_toy_images(24, 18, 6);
  const auto r = run_both(mpi_custom_step_model, data, {.epochs = 1, .batch_size = 8, .seed = 5});
  expect_equivalent(r, 2e-5);
}

// Synchronized BatchNormalization: N ranks on their rows of each batch end where one process does
// on the whole batch, moving statistics included, through the uneven last batch (27 = 12 + 12 + 3:
// 2 + 1 rows on 2 ranks, 1 + 1 + 1 on 3). Without synchronization each rank normalizes its own
// rows, and the same check fails: the test can tell the two apart.
TEST(DataParallel, SynchronizedBatchNormalizationMatchesOneProcess) {
  const auto data = mpi_toy_images(27, 18, 10);
  const FitOptions options{.epochs = 2, .batch_size = 12, .seed = 7};
  const auto synced = run_both([](std::uint64_t seed) { return mpi_batch_norm_cnn(seed, true); }, data, options);
  const auto local = run_both([](std::uint64_t seed) { return mpi_batch_norm_cnn(seed, false); }, data, options);
  expect_equivalent(synced, 2e-5);
  // Keras's weight order: kernel, bias, gamma, beta, moving_mean, moving_variance, ...
  double worst = 0;
  for (std::size_t i = 2; i < 6; ++i) {
    const auto a = local.parallel[i].to_vector<float>(), b = local.reference[i].to_vector<float>();
    for (std::size_t j = 0; j < a.size(); ++j) worst = std::max(worst, std::abs(double(a[j]) - double(b[j])));
  }
  EXPECT_GT(worst, 1e-3) << "rank-local BatchNormalization should not match the one-process run";
}

// A streaming pipeline, shuffled by itself: every rank iterates it alike and keeps its rows.
TEST(DataParallel, ShuffledPipelineMatchesOneProcess) {
  const data::Pipeline pipeline = data::Pipeline(mpi_toy_sequences(33, 12)).shuffle(33, 8).batch(9);
  std::vector<Tensor> reference_weights, parallel_weights;
  History reference_history, parallel_history;
  {
    auto reference = mpi_lstm_model(11);
    reference_history = reference->fit(pipeline, {.epochs = 2, .verbose = 0});
    reference_weights = reference->get_weights();
  }
  auto model = mpi_lstm_model(11 + 7 * std::uint64_t(dist::rank()));
  {
    dist::DataParallel ddp(*model);
    parallel_history = model->fit(pipeline, {.epochs = 2, .verbose = 0});
  }
  parallel_weights = model->get_weights();
  EXPECT_TRUE(same_on_every_rank(parallel_weights));
  expect_weights_near(parallel_weights, reference_weights, 2e-5);
  for (std::size_t e = 0; e < 2; ++e) {
    EXPECT_NEAR(parallel_history.history.at("loss")[e], reference_history.history.at("loss")[e], 1e-5);
    EXPECT_NEAR(parallel_history.history.at("accuracy")[e], reference_history.history.at("accuracy")[e], 1e-9);
  }
}

// Dropout draws different masks on each rank, while the weights stay the same on all.
TEST(DataParallel, DropoutMasksDifferPerRank) {
  manual_seed(5);
  auto model = std::make_shared<Sequential>();
  model->add(Dense(8, "relu", {4}));
  model->add(Dropout(0.5));
  model->add(Dense(2, "softmax"));
  model->compile(optim::SGD(0.1), losses::SparseCategoricalCrossentropy());
  const Tensor x = testing::random_tensor({12, 4}, 3);
  const Tensor y = Tensor::from_vector(std::vector<std::int32_t>{0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0});
  {
    dist::DataParallel ddp(*model);
    model->fit(x, y, {.epochs = 1, .batch_size = 6, .verbose = 0, .seed = 1});
  }
  std::vector<double> draw{model->layers()[1]->generators().at(0)->uniform()};
  const double mine = draw[0];
  dist::sum(draw);
  const bool weights_agree = same_on_every_rank(model->get_weights());
  EXPECT_NE(draw[0], mine * dist::world_size()) << "every rank drew the same dropout numbers";
  EXPECT_TRUE(weights_agree);
}

// Tiny buckets: one per weight, each launched from backward as its gradient completes.
TEST(DataParallel, SmallBucketsAreLaunchedDuringBackward) {
  const auto data = mpi_toy_images(16, 18, 7);
  const auto r = run_both(mpi_article_cnn, data, {.epochs = 1, .batch_size = 8, .seed = 6}, 1e-6);
  expect_equivalent(r, 2e-5);
  const std::int64_t weights = std::int64_t(mpi_article_cnn(1)->trainable_weights().size());
  EXPECT_EQ(r.stats.buckets, 2 * weights);
  // All but the last bucket (the first layer's bias, ready at the very end) leave before the step.
  EXPECT_GE(r.stats.launched_during_backward, double(weights - 1) / double(weights) - 1e-9);
}

TEST(DataParallel, BucketsFollowBackwardOrderWithinTheCap) {
  auto model = mpi_article_cnn(1);
  dist::DataParallel ddp(*model, {.bucket_cap_mb = 0.1});
  const auto data = mpi_toy_images(8, 18, 7);
  model->fit(data, {.epochs = 1, .batch_size = 8, .verbose = 0});
  const auto buckets = ddp.buckets();
  const auto weights = model->trainable_weights();
  std::vector<std::size_t> order;
  for (const auto& b : buckets) {
    std::int64_t bytes = 0;
    for (std::size_t i : b) bytes += weights[i].numel() * 4;
    EXPECT_TRUE(b.size() == 1 || bytes <= 0.1 * 1024 * 1024) << bytes;
    order.insert(order.end(), b.begin(), b.end());
  }
  ASSERT_EQ(order.size(), weights.size());
  for (std::size_t i = 0; i < order.size(); ++i) EXPECT_EQ(order[i], weights.size() - 1 - i);
}

// A run stopped after epoch 1 and resumed from its checkpoint ends as the run that never stopped.
TEST(DataParallel, ResumedRunEndsAsTheUninterruptedOne) {
  std::string dir;
  if (dist::rank() == 0) {
    char tmpl[] = "/tmp/kiln_mpi_resume_XXXXXX";
    dir = mkdtemp(tmpl);
  }
  dir = dist::broadcast(dir);
  const auto data = mpi_toy_images(20, 18, 9);
  const std::filesystem::path ckpt = std::filesystem::path(dir) / "checkpoint.safetensors";
  auto fit_with_checkpoint = [&](Model& model, int epochs, std::shared_ptr<const TrainingState> resume) {
    dist::DataParallel ddp(model);
    auto cb = std::make_shared<callbacks::ModelCheckpoint>(ckpt);
    model.fit(data, {.epochs = epochs, .batch_size = 8, .verbose = 0, .seed = 2, .callbacks = {cb}, .resume = resume});
  };
  auto whole = mpi_article_cnn(21);
  fit_with_checkpoint(*whole, 2, nullptr);
  auto first = mpi_article_cnn(21);
  fit_with_checkpoint(*first, 1, nullptr);
  dist::barrier();  // rank 0 has written the checkpoint
  auto [resumed, state] = load_checkpoint(ckpt);
  fit_with_checkpoint(*resumed, 2, state);
  dist::barrier();
  if (dist::rank() == 0) std::filesystem::remove_all(dir);
  const auto a = whole->get_weights(), b = resumed->get_weights();
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(testing::same_bits(a[i], b[i])) << "weight " << i;
}

}  // namespace
}  // namespace kiln
