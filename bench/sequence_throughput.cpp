// Training throughput of the sequence models on random data.
//   kiln_bench_sequence --model lstm|transformer [--threads N] [--steps S] [--warmup W] [--batch B] [--seq T]
//                       [--min-time SECONDS] [--precision float32|bf16]
//
// lstm:        LSTM(128) over [batch 64, 64 steps, 32 features], last output -> Dense(10);
//              softmax cross-entropy with integer labels, Adam(1e-3, eps 1e-7): full training steps.
// transformer: one TransformerEncoder block (d_model 128, 4 heads, feed-forward 512, ReLU,
//              post-norm, no dropout) on [batch 32, 64 steps, 128]: forward and backward of
//              mean(block(x) * r) for a fixed random r, gradients for every weight (no optimizer).
// A pool of 8 random batches, as the PyTorch peers (bench/peers/torch_lstm.py,
// torch_transformer.py) use. Prints one JSON line for bench/run_bench.py.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "kiln/kiln.hpp"

using namespace kiln;
using namespace kiln::layers;

namespace {

double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0.0;
}

Tensor random_normal(const Shape& shape, Generator& gen) {
  Tensor t = Tensor::empty(shape);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(gen.normal());
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model = "lstm", precision = "float32";
  int threads = 0, steps = 100, warmup = 10;
  double min_time = 0;  // --min-time: the timed window lasts at least this long, past --steps if need be
  std::int64_t batch = 0, seq = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") model = v;
    else if (k == "--threads") threads = std::stoi(v);
    else if (k == "--steps") steps = std::stoi(v);
    else if (k == "--warmup") warmup = std::stoi(v);
    else if (k == "--batch") batch = std::stoll(v);
    else if (k == "--seq") seq = std::stoll(v);
    else if (k == "--min-time") min_time = std::stod(v);
    else if (k == "--precision") precision = v;
  }
  if (model != "lstm" && model != "transformer") {
    std::fprintf(stderr, "kiln_bench_sequence: --model must be lstm or transformer, got %s\n", model.c_str());
    return 2;
  }
  if (precision != "float32" && precision != "bf16") {
    std::fprintf(stderr, "kiln_bench_sequence: --precision must be float32 or bf16, got %s\n", precision.c_str());
    return 2;
  }
  // bf16: Keras's mixed_bfloat16 policy for every layer made below (bench/bf16_bench.py).
  mixed_precision::set_global_policy(precision == "bf16" ? "mixed_bfloat16" : "float32");
  set_num_threads(threads);
  manual_seed(0);
  Generator gen(1);
  double seconds = 0;
  // Runs step(i) for the timed window; returns its length in seconds.
  auto timed = [&](auto&& step) {
    const auto t0 = std::chrono::steady_clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
    for (int i = 0; i < steps || elapsed() < min_time; ++i, steps = std::max(steps, i)) step(i);
    return elapsed();
  };
  if (model == "lstm") {
    if (!batch) batch = 64;
    const std::int64_t features = 32, units = 128;
    Sequential net;
    net.add(LSTM(units, {.input_shape = {seq, features}}));
    net.add(Dense(10));
    net.compile(optim::Adam(optim::AdamOptions{.learning_rate = 1e-3, .epsilon = 1e-7}),
                losses::SparseCategoricalCrossentropy(/*from_logits=*/true));
    std::vector<data::Batch> pool;
    for (int b = 0; b < 8; ++b) {
      Tensor y = Tensor::empty({batch}, DType::Int64);
      for (std::int64_t i = 0; i < batch; ++i) y.data<std::int64_t>()[i] = static_cast<std::int64_t>(gen.below(10));
      pool.push_back({random_normal({batch, seq, features}, gen), y});
    }
    for (int i = 0; i < warmup; ++i) net.train_step(pool[i % 8]);
    seconds = timed([&](int i) { net.train_step(pool[i % 8]); });
  } else {
    if (!batch) batch = 32;
    const std::int64_t d_model = 128;
    TransformerEncoder block(512, 4);
    block.build({seq, d_model});
    const std::vector<Tensor> params = block.trainable_weights();
    std::vector<Tensor> pool;
    for (int b = 0; b < 8; ++b) pool.push_back(random_normal({batch, seq, d_model}, gen));
    const Tensor r = random_normal({batch, seq, d_model}, gen);
    const double scale = 1.0 / static_cast<double>(r.numel());
    auto step = [&](const Tensor& x) {
      optim::Optimizer::zero_grad(params);
      (sum(block(x, true) * r) * scale).backward();
    };
    for (int i = 0; i < warmup; ++i) step(pool[i % 8]);
    seconds = timed([&](int i) { step(pool[i % 8]); });
  }
  std::printf(
      "{\"framework\": \"kiln\", \"model\": \"%s\", \"precision\": \"%s\", \"threads\": %d, \"batch\": %lld, \"seq\": "
      "%lld, "
      "\"steps\": %d, \"warmup\": %d, \"sequences_per_s\": %.1f, \"ms_per_step\": %.3f, "
      "\"self_peak_rss_mb\": %.1f}\n",
      model.c_str(), precision.c_str(), get_num_threads(), static_cast<long long>(batch), static_cast<long long>(seq),
      steps, warmup, steps * batch / seconds, 1e3 * seconds / steps, peak_rss_mb());
  return 0;
}
