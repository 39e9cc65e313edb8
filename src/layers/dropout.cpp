#include "kiln/layers/dropout.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

Dropout::Dropout(double rate, std::optional<std::uint64_t> seed, std::string name)
    : Layer(name.empty() ? unique_name("dropout") : name, "Dropout"), rate_(rate), seed_(seed) {
  if (!(rate_ >= 0.0 && rate_ < 1.0)) throw Error(describe() + ": rate must be in [0, 1), got " + std::to_string(rate));
}

nlohmann::json Dropout::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["rate"] = rate_;
  c["seed"] = seed_ ? nlohmann::json(*seed_) : nlohmann::json(nullptr);
  return c;
}

void Dropout::build_weights(const Shape&, Generator& generator) {
  generator_.seed_with(seed_ ? *seed_ : generator.next_u64());
}

Tensor Dropout::forward(const Tensor& x, bool training) { return dropout(x, rate_, training, generator_); }

}  // namespace kiln::layers
