// kiln::data::Pipeline: each step against the elements it must give, worked out from the
// inputs the tests build (the values 0..n-1, so order and membership are visible).
#include "kiln/data/pipeline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <set>
#include <thread>

#include "data/data_test_util.hpp"
#include "kiln/error.hpp"

namespace kiln::test {
namespace {

using data::Batch;
using data::Pipeline;

Batch example(Tensor x, Tensor y = Tensor()) {
  Batch b;
  b.x = std::move(x);
  b.y = std::move(y);
  return b;
}

// Examples x = i (float32 scalar), y = 10 i (int32).
Pipeline counting(std::int64_t n) {
  return Pipeline::from_function(n, [](std::int64_t i) {
    return example(Tensor::scalar(double(i)), Tensor::scalar(double(10 * i), DType::Int32));
  });
}

std::vector<double> xs(const std::vector<Batch>& elements) {
  std::vector<double> out;
  for (const auto& e : elements) {
    for (double v : e.x.to_vector<double>()) out.push_back(v);
  }
  return out;
}

std::vector<double> iota(int n) {
  std::vector<double> v(n);
  std::iota(v.begin(), v.end(), 0.0);
  return v;
}

TEST(Pipeline, InMemoryDatasetGivesEveryExampleConvertedAsBatchesAre) {
  Tensor images = Tensor::from_vector<std::uint8_t>({0, 51, 102, 153, 204, 255}, {3, 2});
  Tensor labels = Tensor::from_vector<std::int64_t>({7, 8, 9});
  const Pipeline p(data::Dataset(images, labels).rescale(1.0 / 255));
  EXPECT_EQ(p.cardinality(), 3);
  EXPECT_FALSE(p.batched());
  const auto elements = p.collect();
  ASSERT_EQ(elements.size(), 3u);
  EXPECT_EQ(elements[1].x.shape(), Shape({2}));
  EXPECT_EQ(elements[1].x.dtype(), DType::Float32);
  EXPECT_FLOAT_EQ(elements[1].x.to_vector<float>()[0], 102.0f / 255);
  EXPECT_FLOAT_EQ(elements[1].x.to_vector<float>()[1], 153.0f / 255);
  EXPECT_EQ(elements[2].y.item(), 9);
  // Batched: whole batches at once, the last one smaller.
  const auto batches = p.batch(2).collect();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].x.shape(), Shape({2, 2}));
  EXPECT_EQ(batches[1].x.shape(), Shape({1, 2}));
  EXPECT_EQ(batches[1].y.to_vector<std::int64_t>(), std::vector<std::int64_t>{9});
  EXPECT_FLOAT_EQ(batches[1].x.to_vector<float>()[1], 1.0f);
}

TEST(Pipeline, BatchStacksAndDropsTheRemainderOnRequest) {
  const auto batches = counting(7).batch(3).collect();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].x.shape(), Shape({3}));
  EXPECT_EQ(batches[2].x.shape(), Shape({1}));
  EXPECT_EQ(batches[1].y.to_vector<std::int32_t>(), (std::vector<std::int32_t>{30, 40, 50}));
  EXPECT_EQ(xs(batches), iota(7));
  EXPECT_EQ(counting(7).batch(3).cardinality(), 3);
  EXPECT_EQ(counting(7).batch(3, true).cardinality(), 2);
  EXPECT_EQ(counting(7).batch(3, true).collect().size(), 2u);
}

TEST(Pipeline, BatchOfDifferentShapesNamesThem) {
  auto p = Pipeline::from_function(2, [](std::int64_t i) { return example(Tensor::zeros({i + 1, 2})); });
  const std::string message = error_of([&] { p.batch(2).collect(); });
  EXPECT_NE(message.find("[2, 2]"), std::string::npos) << message;
  EXPECT_NE(message.find("[1, 2]"), std::string::npos) << message;
}

TEST(Pipeline, TakeSkipRepeat) {
  EXPECT_EQ(xs(counting(5).take(2).collect()), (std::vector<double>{0, 1}));
  EXPECT_EQ(xs(counting(5).skip(3).collect()), (std::vector<double>{3, 4}));
  EXPECT_EQ(xs(counting(2).repeat(3).collect()), (std::vector<double>{0, 1, 0, 1, 0, 1}));
  EXPECT_EQ(xs(counting(3).repeat().take(7).collect()), (std::vector<double>{0, 1, 2, 0, 1, 2, 0}));
  EXPECT_EQ(counting(5).take(2).cardinality(), 2);
  EXPECT_EQ(counting(5).skip(7).cardinality(), 0);
  EXPECT_EQ(counting(5).repeat(3).cardinality(), 15);
  EXPECT_EQ(counting(5).repeat().cardinality(), data::INFINITE_CARDINALITY);
  EXPECT_EQ(counting(5).repeat().take(4).cardinality(), 4);
  EXPECT_EQ(counting(0).repeat().collect().size(), 0u);  // nothing to repeat: ends
  EXPECT_NE(error_of([] { counting(5).repeat().collect(); }).find("forever"), std::string::npos);
}

TEST(Pipeline, ShuffleIsAPermutationFixedBySeedAndIteration) {
  const auto p = counting(50).shuffle(50, 7);
  const auto a = xs(p.collect(0)), again = xs(p.collect(0)), next_epoch = xs(p.collect(1));
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, iota(50));
  EXPECT_NE(a, iota(50));
  EXPECT_EQ(a, again);
  EXPECT_NE(a, next_epoch);
  EXPECT_NE(a, xs(counting(50).shuffle(50, 8).collect(0)));
  EXPECT_EQ(xs(counting(50).shuffle(50, 7, /*reshuffle_each_iteration=*/false).collect(1)),
            xs(counting(50).shuffle(50, 7, false).collect(0)));
  // A buffer of one element cannot reorder anything.
  EXPECT_EQ(xs(counting(10).shuffle(1, 3).collect()), iota(10));
}

TEST(Pipeline, ShuffleBufferBoundsHowFarAnElementMoves) {
  // With a buffer of 3, output k is one of the first k + 3 inputs not yet given out.
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    const auto out = xs(counting(30).shuffle(3, seed).collect());
    for (std::size_t k = 0; k < out.size(); ++k) EXPECT_LT(out[k], double(k + 3)) << "seed " << seed;
  }
}

TEST(Pipeline, InMemoryFullShuffleBatchesLikeElementwiseShuffle) {
  Tensor x = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {10, 1});
  const Pipeline p = Pipeline(data::Dataset(x)).shuffle(10, 5);
  const auto one_by_one = xs(p.collect(2));
  EXPECT_EQ(xs(p.batch(4).collect(2)), one_by_one);
  auto sorted = one_by_one;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, iota(10));
}

TEST(Pipeline, ParallelMapKeepsOrderWhateverTheWorkerTimes) {
  auto slow_square = [](Batch b) {
    const double v = b.x.item();
    // Later elements finish first, so an order kept by arrival would show.
    std::this_thread::sleep_for(std::chrono::microseconds(int(2000 - 60 * v)));
    b.x = Tensor::scalar(v * v);
    return b;
  };
  std::vector<double> expected;
  for (int i = 0; i < 30; ++i) expected.push_back(double(i * i));
  EXPECT_EQ(xs(counting(30).map(slow_square, 4).collect()), expected);
  EXPECT_EQ(xs(counting(30).map(slow_square, 1).collect()), expected);
  EXPECT_EQ(xs(counting(30).map(slow_square).collect()), expected);  // AUTOTUNE
}

TEST(Pipeline, RandomMapIsReproducibleAndIndependentOfThreads) {
  auto noisy = [](Batch b, Generator& g) {
    b.x = Tensor::scalar(b.x.item() + g.uniform());
    return b;
  };
  const auto p1 = counting(40).map(noisy, {.num_parallel_calls = 1, .seed = 11});
  const auto p4 = counting(40).map(noisy, {.num_parallel_calls = 4, .seed = 11});
  const auto a = xs(p1.collect(3));
  EXPECT_EQ(a, xs(p4.collect(3)));
  EXPECT_EQ(a, xs(p4.prefetch(3).collect(3)));
  EXPECT_NE(a, xs(p1.collect(4)));
  for (int i = 0; i < 40; ++i) {
    EXPECT_GE(a[i], i);
    EXPECT_LT(a[i], i + 1);
  }
}

TEST(Pipeline, MapDropsElementsWithoutX) {
  auto odd_only = [](Batch b) { return int(b.x.item()) % 2 ? b : Batch{}; };
  EXPECT_EQ(xs(counting(7).map(odd_only, 3).collect()), (std::vector<double>{1, 3, 5}));
  EXPECT_EQ(xs(counting(7).map(odd_only, 1).batch(2).collect()), (std::vector<double>{1, 3, 5}));
}

TEST(Pipeline, ErrorsInWorkersReachTheIteratingThread) {
  auto failing = [](Batch b) {
    if (b.x.item() == 5) throw Error("element five is broken");
    return b;
  };
  for (int threads : {1, 3}) {
    auto it = counting(10).map(failing, threads).prefetch(2).iterate();
    std::vector<double> seen;
    const std::string message = error_of([&] {
      while (auto e = it.next()) seen.push_back(e->x.item());
    });
    EXPECT_EQ(message, "element five is broken");
    EXPECT_EQ(seen, (std::vector<double>{0, 1, 2, 3, 4}));
  }
}

TEST(Pipeline, PrefetchGivesTheSameElementsAndStopsEarlyCleanly) {
  const auto p = counting(20).shuffle(8, 1).batch(3);
  EXPECT_EQ(xs(p.prefetch(1).collect(4)), xs(p.collect(4)));
  EXPECT_EQ(xs(p.prefetch().collect(4)), xs(p.collect(4)));
  auto it = counting(1000).prefetch(4).iterate();
  EXPECT_EQ(it.next()->x.item(), 0);
  // `it` goes out of scope with the background thread still producing: it must stop it.
}

TEST(Pipeline, MemoryCacheComputesOnlyTheFirstCompletePass) {
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto p = counting(5)
               .map(
                   [calls](Batch b) {
                     ++*calls;
                     return b;
                   },
                   2)
               .cache();
  EXPECT_EQ(xs(p.take(2).collect()), (std::vector<double>{0, 1}));  // abandoned: caches nothing
  const int after_partial = calls->load();
  EXPECT_EQ(xs(p.collect(0)), iota(5));
  EXPECT_EQ(calls->load(), after_partial + 5);
  EXPECT_EQ(xs(p.collect(1)), iota(5));
  EXPECT_EQ(calls->load(), after_partial + 5);
}

TEST(Pipeline, FileCacheIsReadBackByLaterPipelines) {
  TempDir dir;
  const auto file = dir / "cache.bin";
  auto calls = std::make_shared<std::atomic<int>>(0);
  auto make = [&] {
    return Pipeline::from_function(
               4,
               [calls](std::int64_t i) {
                 ++*calls;
                 return example(Tensor::full({2, 3}, double(i)), Tensor::scalar(double(i), DType::Int64));
               })
        .cache(file);
  };
  make().take(2).collect();
  EXPECT_FALSE(std::filesystem::exists(file)) << "an abandoned pass must not leave a cache";
  const auto first = make().batch(4).collect();
  EXPECT_TRUE(std::filesystem::exists(file));
  const int calls_after_first = calls->load();
  const auto second = make().batch(4).collect();
  EXPECT_EQ(calls->load(), calls_after_first);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].x.shape(), Shape({4, 2, 3}));
  EXPECT_EQ(second[0].x.to_vector<float>(), first[0].x.to_vector<float>());
  EXPECT_EQ(second[0].y.dtype(), DType::Int64);
  EXPECT_EQ(second[0].y.to_vector<std::int64_t>(), (std::vector<std::int64_t>{0, 1, 2, 3}));
  // A file that is not a cache is named.
  write_file(dir / "junk.bin", {1, 2, 3});
  const std::string message = error_of([&] { counting(2).cache(dir / "junk.bin").collect(); });
  EXPECT_NE(message.find("junk.bin"), std::string::npos) << message;
}

TEST(Pipeline, InvalidArgumentsAreNamed) {
  EXPECT_NE(error_of([] { counting(3).batch(0); }).find("batch_size"), std::string::npos);
  EXPECT_NE(error_of([] { counting(3).shuffle(0); }).find("buffer_size"), std::string::npos);
  EXPECT_NE(error_of([] { counting(3).map([](Batch b) { return b; }, 0); }).find("num_parallel_calls"),
            std::string::npos);
  EXPECT_NE(error_of([] { counting(3).prefetch(0); }).find("buffer_size"), std::string::npos);
  EXPECT_NE(error_of([] { counting(3).skip(-1); }).find("count"), std::string::npos);
}

}  // namespace
}  // namespace kiln::test
