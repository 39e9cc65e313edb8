// The oneDNN convolution cache stays bounded however many geometries (batch
// sizes) a program runs, and an evicted geometry still computes right.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "kernels/cpu/conv2d.hpp"
#include "kiln/random.hpp"
#include "support/common.hpp"

namespace kiln::kernels::cpu {
namespace {

using testing::random_vector;

// 8 input channels: oneDNN's path, not the direct kernel for few channels.
Conv2dGeometry geometry(std::int64_t batch) {
  Conv2dGeometry g{};
  g.N = batch, g.H = 5, g.W = 5, g.C = 8, g.KH = 3, g.KW = 3, g.O = 8, g.OH = 3, g.OW = 3;
  return g;
}

TEST(Conv2dCache, ManyBatchSizesKeepItBounded) {
  // Batch sizes no other test uses, so each one is a new geometry.
  const std::int64_t first = 1000, count = static_cast<std::int64_t>(kConv2dCacheCapacity) + 16;
  const auto w = random_vector(3 * 3 * 8 * 8, 1), b = random_vector(8, 2);
  const auto x = random_vector(static_cast<std::size_t>((first + count) * 5 * 5 * 8), 3);
  std::vector<float> y(static_cast<std::size_t>((first + count) * 3 * 3 * 8));
  const std::size_t before = conv2d_cache_size();
  conv2d_forward(x.data(), w.data(), b.data(), y.data(), geometry(first));
  const std::vector<float> first_result(y.begin(), y.begin() + first * 3 * 3 * 8);
  for (std::int64_t n = first + 1; n < first + count; ++n) {
    conv2d_forward(x.data(), w.data(), b.data(), y.data(), geometry(n));
  }
  // One kind (forward without ReLU) holds kConv2dCacheCapacity geometries at most.
  EXPECT_LE(conv2d_cache_size(), before + kConv2dCacheCapacity);
  EXPECT_GE(conv2d_cache_size(), kConv2dCacheCapacity);
  // The first geometry was evicted long ago; built again, it gives the same numbers.
  std::fill(y.begin(), y.end(), 0.0f);
  conv2d_forward(x.data(), w.data(), b.data(), y.data(), geometry(first));
  EXPECT_EQ(std::vector<float>(y.begin(), y.begin() + first * 3 * 3 * 8), first_result);
  std::vector<float> reference(first_result.size());
  conv2d_forward_reference(x.data(), w.data(), b.data(), reference.data(), geometry(first));
  for (std::size_t i = 0; i < reference.size(); i += 97) EXPECT_NEAR(first_result[i], reference[i], 1e-4) << i;
}

// Threads with weights of their own, convolving in turn over a few geometries
// (cache hits that reorder the LRU list, and a miss each), get what they get
// alone. Without OpenMP threads or the allocator's lock in between, this is
// also where ThreadSanitizer sees the cache's own locking.
TEST(Conv2dCache, ThreadsWithTheirOwnWeightsShareIt) {
  constexpr int kThreads = 4, kRounds = 40;
  const std::int64_t batches[] = {2000, 2001, 2002};
  const auto x = random_vector(2002 * 5 * 5 * 8, 4);
  const std::size_t out = 2002 * 3 * 3 * 8;
  std::vector<std::vector<float>> w, b, expected;
  for (int t = 0; t < kThreads; ++t) {
    w.push_back(random_vector(3 * 3 * 8 * 8, 10 + t));
    b.push_back(random_vector(8, 20 + t));
    expected.emplace_back(out);
    conv2d_forward(x.data(), w[t].data(), b[t].data(), expected[t].data(), geometry(2002), t % 2 == 0);
  }
  std::vector<int> wrong(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> y(out);
      for (int round = 0; round < kRounds; ++round) {
        for (std::int64_t n : batches)
          conv2d_forward(x.data(), w[t].data(), b[t].data(), y.data(), geometry(n), t % 2 == 0);
        wrong[t] += y != expected[t];  // the last geometry is the one `expected` used
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace kiln::kernels::cpu
