// Models on several threads at once (the README's "Threading model"): each
// thread's results are bitwise the serial ones. Also run under
// ThreadSanitizer (scripts/tsan.sh), which checks that no two
// threads touch shared state without synchronisation.
//
// Each thread runs its model calls on one kernel thread (kiln::set_num_threads
// applies to the calling thread): the threads under test are these
// std::threads, and the serial reference uses the same setting.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "kiln/kiln.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::random_tensor;

using namespace kiln::layers;

constexpr int kThreads = 4;

// One architecture, weights drawn from `seed`: convolutions on both of Kiln's
// paths (the direct kernel for 3 input channels, oneDNN for 16), fused with
// pooling and not, then Dense layers (GEMM).
std::shared_ptr<Sequential> cnn(std::uint64_t seed) {
  manual_seed(seed);
  auto model = std::make_shared<Sequential>();
  model->add(Conv2D(16, {3, 3}, "relu", {14, 14, 3}));
  model->add(MaxPooling2D({2, 2}));
  model->add(Conv2D(16, {3, 3}, Conv2DOptions{.padding = "same", .activation = "relu"}));
  model->add(MaxPooling2D({2, 2}));
  model->add(Conv2D(32, {3, 3}, Conv2DOptions{.padding = "same"}));
  model->add(Flatten());
  model->add(Dense(16, "relu"));
  model->add(Dense(10, "softmax"));
  return model;
}

// Sets this thread's kernel thread count, restoring it on the way out.
class KernelThreads {
 public:
  explicit KernelThreads(int n) : previous_(get_num_threads()) { set_num_threads(n); }
  ~KernelThreads() { set_num_threads(previous_); }

 private:
  int previous_;
};

std::vector<float> predict(Model& model, const Tensor& x) {
  return model.predict(x, {.batch_size = 8, .verbose = 0}).to_vector<float>();
}

// Runs `work(t)` on kThreads threads at once and returns how many of their
// results differed from the serial ones.
template <typename Work>
int run_concurrently(Work work) {
  std::atomic<int> mismatches{0};
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      KernelThreads one(1);
      ++ready;
      while (ready.load() < kThreads) std::this_thread::yield();  // start together, to overlap the most
      mismatches += work(t);
    });
  }
  for (auto& thread : threads) thread.join();
  return mismatches.load();
}

TEST(Concurrency, DifferentModelsOnDifferentThreadsGiveTheSerialResults) {
  std::vector<std::shared_ptr<Sequential>> models;
  for (int t = 0; t < kThreads; ++t) models.push_back(cnn(100 + t));
  const Tensor x = random_tensor({16, 14, 14, 3}, 1);  // the same inputs for all: only the weights differ
  std::vector<std::vector<float>> expected;
  {
    KernelThreads one(1);
    for (auto& m : models) expected.push_back(predict(*m, x));
  }
  for (int t = 1; t < kThreads; ++t) ASSERT_NE(expected[t], expected[0]) << "the models should differ";
  const int iterations = 300;
  const int wrong = run_concurrently([&](int t) {
    int n = 0;
    for (int i = 0; i < iterations; ++i) n += predict(*models[t], x) != expected[t];
    return n;
  });
  EXPECT_EQ(wrong, 0) << "of " << kThreads * iterations << " predictions";
}

// A built model only reads its weights and layers in inference, so several
// threads may share one.
TEST(Concurrency, OneModelSharedByThreadsGivesTheSerialResults) {
  auto model = cnn(200);
  std::vector<Tensor> inputs;
  std::vector<std::vector<float>> expected;
  {
    KernelThreads one(1);
    for (int t = 0; t < kThreads; ++t) {
      inputs.push_back(random_tensor({8 + t, 14, 14, 3}, 10 + t));  // batch sizes differ too
      expected.push_back(predict(*model, inputs.back()));
    }
  }
  const int wrong = run_concurrently([&](int t) {
    int n = 0;
    for (int i = 0; i < 20; ++i) n += predict(*model, inputs[t]) != expected[t];
    return n;
  });
  EXPECT_EQ(wrong, 0);
}

// Training different models on different threads: each ends with the weights
// it has when trained alone.
TEST(Concurrency, DifferentModelsTrainOnDifferentThreadsAsTheyWouldAlone) {
  const Tensor x = random_tensor({24, 14, 14, 3}, 2);
  std::vector<std::int32_t> labels(24);
  for (std::size_t i = 0; i < labels.size(); ++i) labels[i] = static_cast<std::int32_t>(i % 10);
  const Tensor y = Tensor::from_vector(labels, {24});
  auto train = [&](Model& model) {
    model.compile(optim::Adam(0.01), losses::SparseCategoricalCrossentropy());
    model.fit(x, y, {.epochs = 2, .batch_size = 8, .verbose = 0, .seed = 3});
    std::vector<std::vector<float>> weights;
    for (const Tensor& w : model.trainable_weights()) weights.push_back(w.to_vector<float>());
    return weights;
  };
  std::vector<std::shared_ptr<Sequential>> alone, together;
  for (int t = 0; t < kThreads; ++t) {
    alone.push_back(cnn(300 + t));
    together.push_back(cnn(300 + t));
  }
  std::vector<std::vector<std::vector<float>>> expected;
  {
    KernelThreads one(1);
    for (auto& m : alone) expected.push_back(train(*m));
  }
  const int wrong = run_concurrently([&](int t) { return train(*together[t]) != expected[t] ? 1 : 0; });
  EXPECT_EQ(wrong, 0) << "models trained differently on threads";
}

}  // namespace
}  // namespace kiln
