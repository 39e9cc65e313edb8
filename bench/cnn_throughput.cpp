// Training and inference throughput of the article's CNN on random data.
//   kiln_bench_cnn [--threads N] [--steps S] [--warmup W] [--batch B] [--infer-batch B] [--shape 32,32,3]
// Prints one JSON line per measurement, for bench/run_bench.py to collect.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "kiln/kiln.hpp"
#include "tensor/allocator.hpp"

using namespace kiln;
using namespace kiln::layers;

namespace {

Sequential article_cnn(const Shape& shape) {
  Sequential model;
  model.add(Conv2D(32, {3, 3}, "relu", shape));
  model.add(MaxPooling2D({2, 2}));
  model.add(Conv2D(64, {3, 3}, "relu"));
  model.add(MaxPooling2D({2, 2}));
  model.add(Conv2D(64, {3, 3}, "relu"));
  model.add(Flatten());
  model.add(Dense(64, "relu"));
  model.add(Dense(10, "softmax"));
  return model;
}

double seconds(std::chrono::steady_clock::time_point a) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0, steps = 200, warmup = 20, infer_steps = 50;
  std::int64_t batch = 64, infer_batch = 256;
  Shape shape{32, 32, 3};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--threads") threads = std::stoi(v);
    else if (k == "--steps") steps = std::stoi(v);
    else if (k == "--warmup") warmup = std::stoi(v);
    else if (k == "--batch") batch = std::stoll(v);
    else if (k == "--infer-batch") infer_batch = std::stoll(v);
    else if (k == "--infer-steps") infer_steps = std::stoi(v);
    else if (k == "--shape") {
      shape.clear();
      for (std::size_t p = 0; p < v.size();) {
        const std::size_t q = v.find(',', p);
        shape.push_back(std::stoll(v.substr(p, q - p)));
        p = q == std::string::npos ? v.size() : q + 1;
      }
    }
  }
  set_num_threads(threads);
  manual_seed(0);
  Sequential model = article_cnn(shape);
  model.compile(optim::Adam(), losses::SparseCategoricalCrossentropy(), {});
  // A pool of 8 random batches, as the PyTorch peer uses.
  Generator gen(1);
  std::vector<data::Batch> pool;
  for (int b = 0; b < 8; ++b) {
    Shape s = shape;
    s.insert(s.begin(), batch);
    Tensor x = Tensor::empty(s);
    for (std::int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(gen.uniform());
    Tensor y = Tensor::empty({batch}, DType::Int32);
    for (std::int64_t i = 0; i < batch; ++i) y.data<std::int32_t>()[i] = static_cast<std::int32_t>(gen.below(10));
    pool.push_back({x, y});
  }
  for (int i = 0; i < warmup; ++i) model.train_step(pool[i % 8]);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) model.train_step(pool[i % 8]);
  const double train_s = seconds(t0);

  Shape s = shape;
  s.insert(s.begin(), infer_batch);
  Tensor xi = Tensor::empty(s);
  for (std::int64_t i = 0; i < xi.numel(); ++i) xi.data<float>()[i] = static_cast<float>(gen.uniform());
  {
    NoGradGuard no_grad;
    for (int i = 0; i < 5; ++i) model(xi, false);
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < infer_steps; ++i) model(xi, false);
  }
  const double infer_s = seconds(t0);
  std::printf("{\"framework\": \"kiln\", \"threads\": %d, \"batch\": %lld, \"train_samples_per_s\": %.1f, "
              "\"infer_samples_per_s\": %.1f, \"train_ms_per_step\": %.3f, \"peak_tensor_mb\": %.1f}\n",
              get_num_threads(), static_cast<long long>(batch), steps * batch / train_s,
              infer_steps * infer_batch / infer_s, 1e3 * train_s / steps,
              memory::stats().peak_bytes_in_use / 1048576.0);
  return 0;
}
