#include "kiln/layers/gaussian_noise.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {
namespace {

// Normal(mean, stddev) draws of x's shape and dtype, from `generator`.
Tensor noise_like(const Tensor& x, double mean, double stddev, Generator& generator) {
  Tensor n = Tensor::empty(x.shape(), DType::Float64);
  double* d = n.data<double>();
  for (std::int64_t i = 0; i < n.numel(); ++i) d[i] = generator.normal(mean, stddev);
  return n.to(x.dtype());
}

nlohmann::json seed_json(const std::optional<std::uint64_t>& seed) {
  return seed ? nlohmann::json(*seed) : nlohmann::json(nullptr);
}

}  // namespace

GaussianNoise::GaussianNoise(double stddev, std::optional<std::uint64_t> seed, std::string name)
    : Layer(name.empty() ? unique_name("gaussian_noise") : name, "GaussianNoise"), stddev_(stddev), seed_(seed) {
  if (!(stddev_ >= 0.0)) throw Error(describe() + ": stddev must not be negative, got " + std::to_string(stddev));
}

nlohmann::json GaussianNoise::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["stddev"] = stddev_;
  c["seed"] = seed_json(seed_);
  return c;
}

void GaussianNoise::build_weights(const Shape&, Generator& generator) {
  generator_.seed_with(seed_ ? *seed_ : generator.next_u64());
}

Tensor GaussianNoise::forward(const Tensor& x, bool training) {
  if (!training || stddev_ == 0.0) return x;
  return x + noise_like(x, 0.0, stddev_, generator_);
}

GaussianDropout::GaussianDropout(double rate, std::optional<std::uint64_t> seed, std::string name)
    : Layer(name.empty() ? unique_name("gaussian_dropout") : name, "GaussianDropout"), rate_(rate), seed_(seed) {
  if (!(rate_ >= 0.0 && rate_ < 1.0)) throw Error(describe() + ": rate must be in [0, 1), got " + std::to_string(rate));
}

nlohmann::json GaussianDropout::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["rate"] = rate_;
  c["seed"] = seed_json(seed_);
  return c;
}

void GaussianDropout::build_weights(const Shape&, Generator& generator) {
  generator_.seed_with(seed_ ? *seed_ : generator.next_u64());
}

Tensor GaussianDropout::forward(const Tensor& x, bool training) {
  if (!training || rate_ == 0.0) return x;
  return x * noise_like(x, 1.0, std::sqrt(rate_ / (1.0 - rate_)), generator_);
}

}  // namespace kiln::layers
