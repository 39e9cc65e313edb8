#include "kiln/layers/preprocessing/random_flip.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops/flip.hpp"

namespace kiln::layers {

RandomFlip::RandomFlip(std::string mode, std::optional<std::uint64_t> seed, Shape input_shape, std::string name)
    : Layer(name.empty() ? unique_name("random_flip") : name, "RandomFlip"), mode_(std::move(mode)), seed_(seed) {
  if (mode_ != "horizontal" && mode_ != "vertical" && mode_ != "horizontal_and_vertical") {
    throw Error(describe() + ": mode must be \"horizontal\", \"vertical\" or \"horizontal_and_vertical\", got \"" +
                mode_ + "\"");
  }
  set_declared_input_shape(input_shape);
}

Shape RandomFlip::compute_output_shape(const Shape& in) const {
  if (in.size() != 3) {
    throw Error(describe() + ": expected images [height, width, channels], got samples of shape " + shape_str(in));
  }
  return in;
}

void RandomFlip::build_weights(const Shape&, Generator& generator) {
  generator_.seed_with(seed_ ? *seed_ : generator.next_u64());
}

Tensor RandomFlip::forward(const Tensor& x, bool training) {
  if (!training) return x;
  std::vector<std::uint8_t> modes(static_cast<std::size_t>(x.size(0)), 0);
  for (auto& m : modes) {
    if (mode_ != "vertical" && generator_.uniform() < 0.5) m |= kFlipHorizontal;
    if (mode_ != "horizontal" && generator_.uniform() < 0.5) m |= kFlipVertical;
  }
  return flip_images(x, modes);
}

nlohmann::json RandomFlip::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["mode"] = mode_;
  c["seed"] = seed_ ? nlohmann::json(*seed_) : nlohmann::json(nullptr);
  return c;
}

}  // namespace kiln::layers
