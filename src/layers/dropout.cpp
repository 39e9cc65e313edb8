#include "kiln/layers/dropout.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

Dropout::Dropout(double rate, std::optional<Shape> noise_shape, std::optional<std::uint64_t> seed, std::string name)
    : Layer(name.empty() ? unique_name("dropout") : name, "Dropout"),
      rate_(rate),
      noise_shape_(std::move(noise_shape)),
      seed_(seed) {
  if (!(rate_ >= 0.0 && rate_ < 1.0)) throw Error(describe() + ": rate must be in [0, 1), got " + std::to_string(rate));
  if (noise_shape_) {
    for (auto d : *noise_shape_) {
      if (d == 0 || d < -1) {
        throw Error(describe() + ": noise_shape " + shape_str(*noise_shape_) +
                    " must hold positive sizes or -1 (the input's size)");
      }
    }
  }
}

nlohmann::json Dropout::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["rate"] = rate_;
  if (noise_shape_) {
    nlohmann::json shape = nlohmann::json::array();
    for (auto d : *noise_shape_) shape.push_back(d == -1 ? nlohmann::json(nullptr) : nlohmann::json(d));
    c["noise_shape"] = shape;
  } else {
    c["noise_shape"] = nullptr;
  }
  c["seed"] = seed_ ? nlohmann::json(*seed_) : nlohmann::json(nullptr);
  return c;
}

void Dropout::build_weights(const Shape&, Generator& generator) {
  generator_.seed_with(seed_ ? *seed_ : generator.next_u64());
}

Tensor Dropout::forward(const Tensor& x, bool training) {
  if (!noise_shape_) return dropout(x, rate_, training, generator_);
  if (!training || rate_ == 0.0) return x;
  const Shape& input = x.shape();
  if (noise_shape_->size() != input.size()) {
    throw Error(describe() + ": noise_shape " + shape_str(*noise_shape_) + " must have one size per input axis (" +
                std::to_string(input.size()) + ", batch included), input is " + shape_str(input));
  }
  Shape mask_shape = *noise_shape_;
  for (std::size_t i = 0; i < input.size(); ++i) {
    if (mask_shape[i] == -1) mask_shape[i] = input[i];
    if (mask_shape[i] != 1 && mask_shape[i] != input[i]) {
      throw Error(describe() + ": noise_shape " + shape_str(*noise_shape_) + " does not broadcast to input " +
                  shape_str(input) + " (axis " + std::to_string(i) + " must be 1, -1 or " + std::to_string(input[i]) +
                  ")");
    }
  }
  // One keep/drop draw per mask element, shared by every input element it broadcasts over.
  Tensor mask = Tensor::empty(mask_shape, DType::Float64);
  double* m = mask.data<double>();
  const double scale = 1.0 / (1.0 - rate_);
  for (std::int64_t i = 0; i < mask.numel(); ++i) m[i] = generator_.uniform() < rate_ ? 0.0 : scale;
  return x * mask.to(x.dtype());
}

}  // namespace kiln::layers
