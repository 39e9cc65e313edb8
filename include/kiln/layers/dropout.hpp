// Dropout: during training, zeroes a fraction `rate` of the inputs and scales
// the rest by 1 / (1 - rate); at inference it passes inputs through.
#pragma once
#include <optional>

#include "kiln/layers/layer.hpp"

namespace kiln::layers {

class Dropout : public Layer {
 public:
  // Keras's arguments in Keras's order. noise_shape (batch axis included) shapes the mask that is
  // broadcast over the input: Dropout(0.3, Shape{-1, 1, 64}) drops the same features at every time
  // step; -1 (Keras's None) takes the input's size. Without a seed, masks come from a generator
  // seeded from kiln's default one at build time.
  explicit Dropout(double rate, std::optional<Shape> noise_shape = std::nullopt,
                   std::optional<std::uint64_t> seed = std::nullopt, std::string name = "");
  double rate() const { return rate_; }
  const std::optional<Shape>& noise_shape() const { return noise_shape_; }
  Shape compute_output_shape(const Shape& input_shape) const override { return input_shape; }
  nlohmann::json get_config() const override;
  std::vector<Generator*> generators() override { return {&generator_}; }

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  double rate_;
  std::optional<Shape> noise_shape_;
  std::optional<std::uint64_t> seed_;
  Generator generator_;
};

}  // namespace kiln::layers
