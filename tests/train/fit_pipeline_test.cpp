// fit/evaluate/predict on streaming pipelines: the same numbers as the in-memory path when
// the batches are the same, and a run resumed from a checkpoint continues exactly.
#include <gtest/gtest.h>

#include <cstring>

#include "kiln/kiln.hpp"
#include "support/process.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;
using testing::TempDir;

Sequential pipeline_model() {
  Sequential m;
  m.add(Dense(8, "relu", {6}));
  m.add(Dense(3, "softmax"));
  return m;
}

data::Dataset pipeline_toy_data(std::int64_t n, std::uint64_t seed) {
  Generator g(seed);
  std::vector<float> x(static_cast<std::size_t>(n * 6));
  std::vector<std::int32_t> y(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    y[i] = static_cast<std::int32_t>(g.below(3));
    for (int p = 0; p < 6; ++p) x[i * 6 + p] = static_cast<float>(g.uniform() * 0.5 + (p % 3 == y[i] ? 0.5 : 0.0));
  }
  return data::Dataset(Tensor::from_vector(x, {n, 6}), Tensor::from_vector(y));
}

bool all_same_bits(const std::vector<Tensor>& a, const std::vector<Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].shape() != b[i].shape() ||
        std::memcmp(a[i].raw_data(), b[i].raw_data(), a[i].numel() * dtype_size(a[i].dtype())) != 0) {
      return false;
    }
  }
  return true;
}

TEST(FitPipeline, MatchesTheInMemoryFitOnTheSameBatches) {
  const auto train = pipeline_toy_data(50, 1), val = pipeline_toy_data(20, 2);
  manual_seed(3);
  Sequential a = pipeline_model();
  a.compile(optim::Adam(1e-2), "sparse_categorical_crossentropy", {"accuracy"});
  const History ha =
      a.fit(train, {.epochs = 3, .batch_size = 16, .verbose = 0, .validation_data = val, .shuffle = false});
  manual_seed(3);
  Sequential b = pipeline_model();
  b.compile(optim::Adam(1e-2), "sparse_categorical_crossentropy", {"accuracy"});
  const data::Pipeline streamed = data::Pipeline(train).batch(16).prefetch(2);
  const History hb = b.fit(streamed, {.epochs = 3, .verbose = 0, .validation_data = data::Pipeline(val).batch(7)});
  EXPECT_TRUE(all_same_bits(a.trainable_weights(), b.trainable_weights()));
  EXPECT_EQ(ha.history.at("loss"), hb.history.at("loss"));
  EXPECT_EQ(ha.history.at("accuracy"), hb.history.at("accuracy"));
  EXPECT_NEAR(ha.history.at("val_loss").back(), hb.history.at("val_loss").back(), 1e-6);
  EXPECT_EQ(ha.history.at("val_accuracy"), hb.history.at("val_accuracy"));
  // evaluate and predict agree with their in-memory forms.
  EXPECT_NEAR(a.evaluate(val, {.verbose = 0})["loss"],
              a.evaluate(data::Pipeline(val).map([](data::Batch x) { return x; }, 2), {.verbose = 0})["loss"], 1e-6);
  // Batches of 20 and of 5: GEMM kernels may sum in another order for another row count
  // (oneDNN's AVX2 sgemm does), so equal within rounding, not bit for bit.
  const Tensor p1 = a.predict(val), p2 = a.predict(data::Pipeline(val).batch(5).prefetch());
  ASSERT_EQ(p1.shape(), p2.shape());
  for (std::int64_t i = 0; i < p1.numel(); ++i) EXPECT_NEAR(p1.data<float>()[i], p2.data<float>()[i], 1e-6) << i;
}

TEST(FitPipeline, ResumedRunEndsWithTheUninterruptedWeights) {
  TempDir dir;
  const auto memory = pipeline_toy_data(60, 4);
  // Shuffled, randomly augmented on 3 workers, prefetched: every random draw must depend on the epoch only.
  const auto pipeline = [&] {
    return data::Pipeline(memory)
        .shuffle(20, 5)
        .map(
            [](data::Batch b, Generator& g) {
              Tensor x = b.x.clone();
              for (std::int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] += float(g.normal(0, 0.05));
              b.x = x;
              return b;
            },
            {.num_parallel_calls = 3, .seed = 6})
        .batch(8)
        .prefetch(3);
  };
  struct StopAfter : Callback {
    int epochs;
    explicit StopAfter(int e) : epochs(e) {}
    void on_epoch_begin(Model&, int e) override {
      if (e == epochs) throw std::runtime_error("stopped");
    }
  };
  manual_seed(9);
  Sequential full = pipeline_model();
  full.compile(optim::Adam(1e-2), "sparse_categorical_crossentropy");
  const auto ckpt = [&](const char* name) -> std::shared_ptr<Callback> {
    return std::make_shared<callbacks::ModelCheckpoint>(dir.path() / name);
  };
  full.fit(pipeline(), {.epochs = 5, .verbose = 0, .callbacks = {ckpt("full.ckpt")}});
  manual_seed(9);
  Sequential partial = pipeline_model();
  partial.compile(optim::Adam(1e-2), "sparse_categorical_crossentropy");
  EXPECT_THROW(
      partial.fit(pipeline(),
                  {.epochs = 5, .verbose = 0, .callbacks = {ckpt("part.ckpt"), std::make_shared<StopAfter>(2)}}),
      std::runtime_error);
  auto [resumed, state] = load_checkpoint(dir.path() / "part.ckpt");
  EXPECT_EQ(state->epochs_done, 2);
  EXPECT_FALSE(all_same_bits(full.trainable_weights(), resumed->trainable_weights()));
  resumed->fit(
      pipeline(),
      {.epochs = 5, .verbose = 0, .callbacks = {ckpt("part.ckpt"), std::make_shared<StopAfter>(-1)}, .resume = state});
  EXPECT_TRUE(all_same_bits(full.trainable_weights(), resumed->trainable_weights()));
}

TEST(FitPipeline, RefusesWhatCannotEndOrSplit) {
  manual_seed(1);
  Sequential m = pipeline_model();
  m.compile("adam", "sparse_categorical_crossentropy");
  const data::Pipeline forever = data::Pipeline(pipeline_toy_data(10, 1)).repeat();
  EXPECT_THROW(m.fit(forever, {.verbose = 0}), Error);
  EXPECT_THROW(m.evaluate(forever, {.verbose = 0}), Error);
  EXPECT_THROW(m.fit(data::Pipeline(pipeline_toy_data(10, 1)), {.verbose = 0, .validation_split = 0.2}), Error);
  // An unbatched pipeline is batched by batch_size: 10 samples in batches of 4 are 3 steps.
  struct CountSteps : Callback {
    int steps = 0;
    void on_train_batch_end(Model&, std::int64_t, const Logs&) override { ++steps; }
  };
  auto counter = std::make_shared<CountSteps>();
  m.fit(data::Pipeline(pipeline_toy_data(10, 1)), {.batch_size = 4, .verbose = 0, .callbacks = {counter}});
  EXPECT_EQ(counter->steps, 3);
}

}  // namespace
}  // namespace kiln
