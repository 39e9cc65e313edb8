// Data-parallel throughput of the article's CNN on Fashion-MNIST-sized data (28x28x1, 10
// classes, random pixels): run under mpirun with any number of ranks (1 included). Prints one
// JSON line (rank 0): samples/s over the timed steps, the communication time per step (waiting
// for the gradient allreduce before the optimizer step), and the allreduce bandwidth of a
// 25 MB buffer. bench/distributed_bench.sh runs it against PyTorch DDP (bench/peers/torch_ddp_cnn.py).
//
//   mpirun -np 2 build/bench/kiln_bench_distributed --batch 64 --steps 60 --threads 1
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "kiln/distributed.hpp"
#include "kiln/kiln.hpp"

int main(int argc, char** argv) {
  kiln::distributed::init(&argc, &argv, {.set_threads = false});
  std::int64_t batch = 64, steps = 60, warmup = 10;
  int threads = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const long long v = std::atoll(argv[i + 1]);
    if (a == "--batch") batch = v;
    if (a == "--steps") steps = v;
    if (a == "--warmup") warmup = v;
    if (a == "--threads") threads = int(v);
  }
  kiln::set_num_threads(threads);
  const int ranks = kiln::distributed::world_size();
  kiln::manual_seed(0);
  auto model = std::make_shared<kiln::Sequential>(kiln::zoo::article_cnn({28, 28, 1}, 10));
  model->compile(kiln::optim::Adam(1e-3), kiln::losses::SparseCategoricalCrossentropy(), {"accuracy"});
  const std::int64_t n = batch * (warmup + steps);
  kiln::Generator g(1);
  std::vector<float> x(static_cast<std::size_t>(n * 28 * 28));
  for (float& v : x) v = static_cast<float>(g.uniform());
  std::vector<std::int32_t> y(static_cast<std::size_t>(n));
  for (auto& v : y) v = static_cast<std::int32_t>(g.below(10));
  const kiln::data::Dataset data(kiln::Tensor::from_vector(x, {n, 28, 28, 1}), kiln::Tensor::from_vector(y));

  kiln::distributed::DataParallel ddp(*model);
  model->fit(data.subset(0, batch * warmup), {.epochs = 1, .batch_size = batch, .verbose = 0, .seed = 2});
  const auto before = ddp.stats();
  kiln::distributed::barrier();
  const auto start = std::chrono::steady_clock::now();
  model->fit(data.subset(batch * warmup, n), {.epochs = 1, .batch_size = batch, .verbose = 0, .seed = 3});
  kiln::distributed::barrier();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto after = ddp.stats();
  const double comm_ms = 1e3 * (after.wait_seconds - before.wait_seconds) / double(after.steps - before.steps);
  const double grad_mb = double(after.bytes - before.bytes) / double(after.steps - before.steps) / 1e6;

  // Allreduce bandwidth: 25 MB of doubles, 10 times; "bus bandwidth" as NCCL's tests define it.
  std::vector<double> buffer(25 * 1000 * 1000 / 8, 1.0);
  kiln::distributed::sum(buffer);
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 10; ++i) kiln::distributed::sum(buffer);
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 10;
  const double bytes = double(buffer.size()) * 8;
  const double bus = ranks > 1 ? bytes / t * 2.0 * (ranks - 1) / ranks / 1e9 : 0.0;
  if (kiln::distributed::rank() == 0) {
    std::printf(
        "{\"impl\": \"kiln\", \"ranks\": %d, \"threads_per_rank\": %d, \"global_batch\": %lld, \"steps\": %lld, "
        "\"samples_per_s\": %.1f, \"comm_ms_per_step\": %.3f, \"gradient_mb_per_step\": %.3f, "
        "\"allreduce_25mb_ms\": %.2f, \"allreduce_bus_gb_per_s\": %.3f}\n",
        ranks, threads, static_cast<long long>(batch), static_cast<long long>(steps), double(batch * steps) / seconds,
        comm_ms, grad_mb, t * 1e3, bus);
  }
  return 0;
}
