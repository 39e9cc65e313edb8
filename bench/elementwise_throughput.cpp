// Pointwise activations and softmax on float32 tensors: the time of one call.
//   kiln_bench_elementwise [--threads N] [--rows 256 --cols 4096] [--min-time 1.0] [--only op,op]
// Each op runs on a [rows, cols] tensor of normal values times 3 (log: on |x| + 1e-3,
// made once); softmax and log_softmax over the last axis of [1024, 1000]. "fwd+bwd"
// ops also take the gradient of sum(f(x)) with respect to x. The median call over a
// window of at least --min-time seconds (and 5 calls) is reported, one JSON line per op,
// for bench/elementwise_bench.py, which runs the PyTorch peer (peers/torch_elementwise.py)
// with the same ops and shapes.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kiln/kiln.hpp"

using namespace kiln;

namespace {

struct Timing {
  double median_ms;
  int calls;
};

Timing time_calls(const std::function<void()>& call, double min_time) {
  call();  // untimed: first-touch of the output's pages
  std::vector<double> ms;
  double total = 0;
  while (ms.size() < 5 || total < min_time) {
    const auto t0 = std::chrono::steady_clock::now();
    call();
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ms.push_back(1e3 * dt);
    total += dt;
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], static_cast<int>(ms.size())};
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  std::int64_t rows = 256, cols = 4096;
  double min_time = 1.0;
  std::set<std::string> only;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], v = argv[i + 1];
    if (key == "--threads") threads = std::stoi(v);
    else if (key == "--rows") rows = std::stoll(v);
    else if (key == "--cols") cols = std::stoll(v);
    else if (key == "--min-time") min_time = std::stod(v);
    else if (key == "--only") {
      std::stringstream names(v);
      for (std::string name; std::getline(names, name, ',');) only.insert(name);
    } else {
      std::fprintf(stderr, "kiln_bench_elementwise: unknown option %s\n", key.c_str());
      return 2;
    }
  }
  set_num_threads(threads);
  const Tensor x = random::normal({rows, cols}, 0.0, 3.0, 1);
  const Tensor positive = abs(x) + 1e-3;
  const Tensor logits = random::normal({1024, 1000}, 0.0, 3.0, 2);
  Tensor xg = x.detach();
  xg.set_requires_grad();
  auto gradient_of = [&](Tensor (*f)(const Tensor&)) {
    return [&xg, f] {
      xg.zero_grad();
      sum(f(xg)).backward();
    };
  };
  const std::vector<std::pair<std::string, std::function<void()>>> ops = {
      {"exp", [&] { exp(x); }},
      {"log", [&] { log(positive); }},
      {"sigmoid", [&] { sigmoid(x); }},
      {"tanh", [&] { tanh(x); }},
      {"elu", [&] { elu(x); }},
      {"selu", [&] { selu(x); }},
      {"silu", [&] { silu(x); }},
      {"gelu", [&] { gelu(x, false); }},
      {"gelu_tanh", [&] { gelu(x, true); }},
      {"softplus", [&] { softplus(x); }},
      {"mish", [&] { mish(x); }},
      {"softmax", [&] { softmax(logits); }},
      {"log_softmax", [&] { log_softmax(logits); }},
      {"tanh fwd+bwd", gradient_of([](const Tensor& t) { return tanh(t); })},
      {"sigmoid fwd+bwd", gradient_of([](const Tensor& t) { return sigmoid(t); })},
      {"silu fwd+bwd", gradient_of([](const Tensor& t) { return silu(t); })},
      {"gelu fwd+bwd", gradient_of([](const Tensor& t) { return gelu(t, false); })},
  };
  for (const auto& [name, call] : ops) {
    if (!only.empty() && !only.count(name)) continue;
    const Timing t = time_calls(call, min_time);
    const bool on_logits = name.starts_with("softmax") || name.starts_with("log_softmax");
    std::printf("{\"framework\": \"kiln\", \"op\": \"%s\", \"threads\": %d, \"shape\": [%lld, %lld], \"ms\": %.4f, "
                "\"calls\": %d}\n",
                name.c_str(), get_num_threads(), static_cast<long long>(on_logits ? 1024 : rows),
                static_cast<long long>(on_logits ? 1000 : cols), t.median_ms, t.calls);
    std::fflush(stdout);
  }
  return 0;
}
