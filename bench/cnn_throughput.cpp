// Training and inference throughput of the article's CNN on random data.
//   kiln_bench_cnn [--mode both|train|infer] [--threads N] [--steps S] [--warmup W] [--batch B]
//                  [--infer-batch B] [--infer-steps S] [--shape 32,32,3] [--min-time SECONDS]
//                  [--precision float32|bf16]
// --min-time extends each timed window past --steps (--infer-steps) until it lasts that long,
// so that fast and slow set-ups are measured over windows of the same length.
// Prints one JSON line, for bench/run_bench.py to collect. --mode train (or infer)
// runs only that half, so that the process's peak RSS belongs to it alone; a
// figure for the half not run is printed as 0.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "kiln/kiln.hpp"
#include "tensor/allocator.hpp"

using namespace kiln;

namespace {


// Peak resident memory of this process (VmHWM), in MB.
double peak_rss_mb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0.0;
}

long minor_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

double seconds(std::chrono::steady_clock::time_point a) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0, steps = 200, warmup = 20, infer_steps = 50;
  double min_time = 0;
  std::int64_t batch = 64, infer_batch = 256;
  Shape shape{32, 32, 3};
  std::string mode = "both", precision = "float32";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--mode") mode = v;
    else if (k == "--threads") threads = std::stoi(v);
    else if (k == "--steps") steps = std::stoi(v);
    else if (k == "--warmup") warmup = std::stoi(v);
    else if (k == "--batch") batch = std::stoll(v);
    else if (k == "--infer-batch") infer_batch = std::stoll(v);
    else if (k == "--infer-steps") infer_steps = std::stoi(v);
    else if (k == "--min-time") min_time = std::stod(v);
    else if (k == "--precision") precision = v;
    else if (k == "--shape") {
      shape.clear();
      for (std::size_t p = 0; p < v.size();) {
        const std::size_t q = v.find(',', p);
        shape.push_back(std::stoll(v.substr(p, q - p)));
        p = q == std::string::npos ? v.size() : q + 1;
      }
    }
  }
  if (mode != "both" && mode != "train" && mode != "infer") {
    std::fprintf(stderr, "kiln_bench_cnn: --mode must be both, train or infer, got %s\n", mode.c_str());
    return 2;
  }
  if (precision != "float32" && precision != "bf16") {
    std::fprintf(stderr, "kiln_bench_cnn: --precision must be float32 or bf16, got %s\n", precision.c_str());
    return 2;
  }
  // bf16: Keras's mixed_bfloat16 policy for every layer (bench/bf16_bench.py compares the two).
  mixed_precision::set_global_policy(precision == "bf16" ? "mixed_bfloat16" : "float32");
  const bool run_train = mode != "infer", run_infer = mode != "train";
  set_num_threads(threads);
  manual_seed(0);
  Sequential model = zoo::article_cnn(shape);
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
  double train_sps = 0, train_ms = 0;
  long steady_faults = 0;  // page faults during the timed steps: 0 means no fresh memory in the steady state
  if (run_train) {
    for (int i = 0; i < warmup; ++i) model.train_step(pool[i % 8]);
    const long faults_before = minor_faults();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps || seconds(t0) < min_time; ++i, steps = std::max(steps, i)) {
      model.train_step(pool[i % 8]);
    }
    steady_faults = minor_faults() - faults_before;
    const double train_s = seconds(t0);
    train_sps = steps * batch / train_s;
    train_ms = 1e3 * train_s / steps;
  }

  double infer_sps = 0;
  if (run_infer) {
    Shape s = shape;
    s.insert(s.begin(), infer_batch);
    Tensor xi = Tensor::empty(s);
    for (std::int64_t i = 0; i < xi.numel(); ++i) xi.data<float>()[i] = static_cast<float>(gen.uniform());
    NoGradGuard no_grad;
    for (int i = 0; i < 5; ++i) model(xi, false);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < infer_steps || seconds(t0) < min_time; ++i, infer_steps = std::max(infer_steps, i)) {
      model(xi, false);
    }
    infer_sps = infer_steps * infer_batch / seconds(t0);
  }
  std::printf(
      "{\"framework\": \"kiln\", \"mode\": \"%s\", \"precision\": \"%s\", \"threads\": %d, \"batch\": %lld, \"steps\": "
      "%d, "
      "\"warmup\": %d, \"infer_batch\": %lld, \"infer_steps\": %d, \"train_samples_per_s\": %.1f, "
      "\"infer_samples_per_s\": %.1f, \"train_ms_per_step\": %.3f, \"peak_tensor_mb\": %.1f, "
      "\"self_peak_rss_mb\": %.1f, \"steady_state_page_faults\": %ld}\n",
      mode.c_str(), precision.c_str(), get_num_threads(), static_cast<long long>(batch), steps, warmup,
      static_cast<long long>(infer_batch), infer_steps, train_sps, infer_sps, train_ms,
      memory::stats().peak_bytes_in_use / 1048576.0, peak_rss_mb(), steady_faults);
  return 0;
}
