// RandomFlip: Keras's augmentation layer. In training, each image [H, W, C] of a batch is
// mirrored left-right with probability 1/2 ("horizontal"), upside down with probability 1/2
// ("vertical"), or each independently ("horizontal_and_vertical", the default); outside
// training it passes images through unchanged. Seeded: a seed fixes the flips; without one
// the generator is seeded from kiln's default one at build time, and its state is saved in
// checkpoints, so a resumed run flips as the uninterrupted one would.
#pragma once
#include <optional>

#include "kiln/layers/layer.hpp"

namespace kiln::layers {

class RandomFlip : public Layer {
 public:
  explicit RandomFlip(std::string mode = "horizontal_and_vertical", std::optional<std::uint64_t> seed = std::nullopt,
                      Shape input_shape = {}, std::string name = "");
  const std::string& mode() const { return mode_; }
  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  std::vector<Generator*> generators() override { return {&generator_}; }

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;

 private:
  std::string mode_;
  std::optional<std::uint64_t> seed_;
  Generator generator_;
};

}  // namespace kiln::layers
