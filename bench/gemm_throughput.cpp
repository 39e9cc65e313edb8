// fp32 GEMM rate of this machine through Kiln: C[M,N] = A[M,K] * B[K,N], row-major.
//   kiln_bench_gemm [--threads N] [--size 2048 | --m M --n N --k K] [--min-time 1.0] [--min-reps 5]
// Times Kiln's float GEMM kernel (kiln::kernels::cpu::gemm<float>, the oneDNN sgemm
// every Dense layer and matmul goes through) and the public kiln::matmul, which
// also allocates its output; then oneDNN's matmul primitive in float32 and, where the CPU
// has native bf16 arithmetic (AVX512-BF16, AMX), in bf16 (bf16 inputs, float32
// accumulation and output): the machine's bf16 peak that mixed precision is measured
// against. GFLOP/s = 2*M*N*K / seconds of one call; the median and the best call are
// reported. Prints one JSON line per API, for bench/run_bench.py to collect.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/cpu/gemm.hpp"
#include "kiln/kiln.hpp"

using namespace kiln;

namespace {

struct Timing {
  double median_s, best_s;
  int reps;
};

// Two untimed calls (page faults, thread start, JIT), then at least min_reps
// calls and min_time seconds.
Timing time_calls(const std::function<void()>& call, double min_time, int min_reps) {
  call();
  call();
  std::vector<double> times;
  double total = 0;
  while (static_cast<int>(times.size()) < min_reps || total < min_time) {
    const auto t0 = std::chrono::steady_clock::now();
    call();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    times.push_back(dt);
    total += dt;
  }
  std::sort(times.begin(), times.end());
  return {times[times.size() / 2], times.front(), static_cast<int>(times.size())};
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0, min_reps = 5;
  std::int64_t m = 2048, n = 2048, k = 2048;
  double min_time = 1.0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], v = argv[i + 1];
    if (key == "--threads") threads = std::stoi(v);
    else if (key == "--size") m = n = k = std::stoll(v);
    else if (key == "--m") m = std::stoll(v);
    else if (key == "--n") n = std::stoll(v);
    else if (key == "--k") k = std::stoll(v);
    else if (key == "--min-time") min_time = std::stod(v);
    else if (key == "--min-reps") min_reps = std::stoi(v);
    else {
      std::fprintf(stderr, "kiln_bench_gemm: unknown option %s\n", key.c_str());
      return 2;
    }
  }
  set_num_threads(threads);

  Generator gen(0);
  auto random_matrix = [&](std::int64_t rows, std::int64_t cols) {
    Tensor t = Tensor::empty({rows, cols});
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(gen.uniform(-1.0, 1.0));
    return t;
  };
  const Tensor a = random_matrix(m, k), b = random_matrix(k, n);
  Tensor c = Tensor::zeros({m, n});
  const double flops = 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);

  auto report = [&](const char* api, const Timing& t) {
    std::printf("{\"framework\": \"kiln\", \"bench\": \"gemm\", \"api\": \"%s\", \"m\": %lld, \"n\": %lld, \"k\": %lld, "
                "\"threads\": %d, \"gflops_median\": %.1f, \"gflops_best\": %.1f, \"reps\": %d}\n",
                api, static_cast<long long>(m), static_cast<long long>(n), static_cast<long long>(k),
                get_num_threads(), flops / t.median_s / 1e9, flops / t.best_s / 1e9, t.reps);
    std::fflush(stdout);
  };

  report("kernels::cpu::gemm<float>", time_calls(
                                          [&] {
                                            kernels::cpu::gemm<float>(false, false, m, n, k, 1.0f, a.data<float>(), k,
                                                                      b.data<float>(), n, 0.0f, c.data<float>(), n);
                                          },
                                          min_time, min_reps));
  NoGradGuard no_grad;
  Tensor out;
  report("matmul", time_calls([&] { out = matmul(a, b); }, min_time, min_reps));

  // oneDNN's matmul primitive on its preferred weight layout, as a layer would hold it.
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(engine);
  auto onednn_matmul = [&](dt input_type, const char* api) {
    const dnnl::memory::desc a_md({m, k}, input_type, tag::ab), b_md({k, n}, input_type, tag::any),
        c_md({m, n}, dt::f32, tag::ab);
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), engine);
    dnnl::memory a_f32({{m, k}, dt::f32, tag::ab}, engine, const_cast<float*>(a.data<float>()));
    dnnl::memory b_f32({{k, n}, dt::f32, tag::ab}, engine, const_cast<float*>(b.data<float>()));
    dnnl::memory a_mem(pd.src_desc(), engine), b_mem(pd.weights_desc(), engine);
    dnnl::memory c_mem(pd.dst_desc(), engine, c.data<float>());
    dnnl::reorder(a_f32, a_mem).execute(stream, a_f32, a_mem);
    dnnl::reorder(b_f32, b_mem).execute(stream, b_f32, b_mem);
    const dnnl::matmul prim(pd);
    report(api, time_calls(
                    [&] {
                      prim.execute(stream, {{DNNL_ARG_SRC, a_mem}, {DNNL_ARG_WEIGHTS, b_mem}, {DNNL_ARG_DST, c_mem}});
                      stream.wait();
                    },
                    min_time, min_reps));
  };
  onednn_matmul(dt::f32, "onednn matmul f32");
  const auto isa = dnnl::get_effective_cpu_isa();
  if (isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx) {
    onednn_matmul(dt::bf16, "onednn matmul bf16");
  } else {
    std::printf("{\"framework\": \"kiln\", \"bench\": \"gemm\", \"api\": \"onednn matmul bf16\", \"skipped\": "
                "\"this CPU has no native bf16 arithmetic\"}\n");
  }
  return 0;
}
