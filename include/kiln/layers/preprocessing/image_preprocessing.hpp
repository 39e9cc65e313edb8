// What Keras's image preprocessing layers share (Resizing, CenterCrop, RandomCrop, RandomTranslation,
// RandomRotation, RandomZoom, RandomContrast, RandomBrightness; docs/data.md):
// - images channels last, of any height and width (the channel count is fixed when the layer is
//   built): a batch [N, H, W, C], or — called directly, as in a pipeline's map before batch() — one
//   image [H, W, C], whose result has no batch axis either;
// - the random layers change images only when training (fit, or training = true), drawing from
//   their own generator: Keras's `seed` fixes it; without one it is seeded from kiln's default
//   generator when the layer is built. Checkpoints save its state, so a resumed run draws on.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "kiln/layers/layer.hpp"

namespace kiln::layers {

// Keras's factor arguments: one number or a pair (lower, upper); each layer says what one number means.
struct Factor {
  Factor(double value) : values{value} {}  // NOLINT: RandomRotation(0.1) as in Keras
  Factor(double lower, double upper) : values{lower, upper} {}
  std::vector<double> values;  // one or two numbers, as given (and as get_config writes them)
};

class ImagePreprocessingLayer : public Layer {
 public:
  using Layer::operator();
  // A batch [N, H, W, C], or one image [H, W, C].
  Tensor operator()(const Tensor& x, bool training = false);
  Shape compute_output_shape(const Shape& input_shape) const override;
  std::vector<Generator*> generators() override;
  const std::optional<std::uint64_t>& seed() const { return seed_; }

 protected:
  // random: whether the layer draws numbers (and so has a generator to seed and save).
  ImagePreprocessingLayer(std::string name, std::string type, bool random, std::optional<std::uint64_t> seed);
  void build_weights(const Shape& input_shape, Generator& generator) override;
  bool accepts(const Shape& built, const Shape& actual) const override;
  // [H, W, C] checked; the layers that change the size override compute_output_shape from it.
  void check_images(const Shape& input_shape) const;
  // Layer::get_config plus seed (random layers) and data_format.
  nlohmann::json image_config() const;
  // lower <= upper, both in [low, high], or an Error naming this layer and `argument`.
  void check_range(const std::string& argument, double lower, double upper, double low, double high) const;
  // Keras's default reading of a factor: one number f means (-|f|, |f|), a pair is sorted.
  std::pair<double, double> symmetric_range(const std::string& argument, const Factor& factor, double low,
                                            double high) const;

  Generator generator_;

 private:
  bool random_;
  std::optional<std::uint64_t> seed_;
};

// JSON for a Factor: a number, or [lower, upper].
nlohmann::json factor_to_json(const Factor& factor);

}  // namespace kiln::layers
