#include "kiln/layers/rescaling.hpp"

#include <nlohmann/json.hpp>

#include <cmath>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

Rescaling::Rescaling(double scale, double offset, Shape input_shape, std::string name)
    : Layer(name.empty() ? unique_name("rescaling") : name, "Rescaling"), scale_(scale), offset_(offset) {
  if (!std::isfinite(scale) || !std::isfinite(offset)) throw Error(describe() + ": scale and offset must be finite");
  set_declared_input_shape(input_shape);
}

nlohmann::json Rescaling::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["scale"] = scale_;
  c["offset"] = offset_;
  return c;
}

Tensor Rescaling::forward(const Tensor& x, bool) { return affine(x, scale_, offset_); }

}  // namespace kiln::layers
