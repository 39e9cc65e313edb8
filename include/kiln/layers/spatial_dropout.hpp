// SpatialDropout1D and SpatialDropout2D: Dropout that drops whole channels
// (Keras's): one keep/drop draw per sample and channel, shared by every step
// ([batch, steps, channels]) or pixel ([batch, height, width, channels]), kept
// channels scaled by 1 / (1 - rate). Active only when training; the identity otherwise.
#pragma once
#include <optional>

#include "kiln/layers/layer.hpp"

namespace kiln::layers {

class SpatialDropout : public Layer {
 public:
  double rate() const { return rate_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  std::vector<Generator*> generators() override { return {&generator_}; }

 protected:
  SpatialDropout(const char* base_name, const char* type, int spatial_axes, double rate,
                 std::optional<std::uint64_t> seed, std::string data_format, std::string name);
  void build_weights(const Shape& input_shape, Generator& generator) override;
  bool accepts(const Shape& built, const Shape& actual) const override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  int spatial_axes_;
  double rate_;
  std::optional<std::uint64_t> seed_;
  std::string data_format_;
  Generator generator_;
};

class SpatialDropout1D : public SpatialDropout {
 public:
  // Without a seed, masks come from a generator seeded from kiln's default one at build time.
  explicit SpatialDropout1D(double rate, std::optional<std::uint64_t> seed = std::nullopt, std::string name = "");
};

class SpatialDropout2D : public SpatialDropout {
 public:
  // Keras's argument order: rate, data_format, seed.
  explicit SpatialDropout2D(double rate, std::string data_format = "channels_last",
                            std::optional<std::uint64_t> seed = std::nullopt, std::string name = "");
};

}  // namespace kiln::layers
