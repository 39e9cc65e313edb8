// Layers that add Gaussian noise while training and are the identity otherwise (Keras's):
//   GaussianNoise(stddev)   x + n,  n ~ Normal(0, stddev)
//   GaussianDropout(rate)   x * n,  n ~ Normal(1, sqrt(rate / (1 - rate)))
// Without a seed, the noise comes from a generator seeded from kiln's default one at build time.
#pragma once
#include <optional>

#include "kiln/layers/layer.hpp"

namespace kiln::layers {

class GaussianNoise : public Layer {
 public:
  explicit GaussianNoise(double stddev, std::optional<std::uint64_t> seed = std::nullopt, std::string name = "");
  double stddev() const { return stddev_; }
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;
  std::vector<Generator*> generators() override { return {&generator_}; }

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  double stddev_;
  std::optional<std::uint64_t> seed_;
  Generator generator_;
};

class GaussianDropout : public Layer {
 public:
  explicit GaussianDropout(double rate, std::optional<std::uint64_t> seed = std::nullopt, std::string name = "");
  double rate() const { return rate_; }
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;
  std::vector<Generator*> generators() override { return {&generator_}; }

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  double rate_;
  std::optional<std::uint64_t> seed_;
  Generator generator_;
};

}  // namespace kiln::layers
