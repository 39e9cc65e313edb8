#include "kiln/layers/leaky_relu.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

LeakyReLU::LeakyReLU(double alpha, std::string name)
    : Layer(name.empty() ? unique_name("leaky_re_lu") : name, "LeakyReLU"), alpha_(alpha) {
  if (!std::isfinite(alpha_) || alpha_ < 0) {
    throw Error(describe() + ": alpha must be a finite non-negative number, got " + std::to_string(alpha_));
  }
}

nlohmann::json LeakyReLU::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["alpha"] = alpha_;
  return c;
}

Tensor LeakyReLU::forward(const Tensor& x, bool) { return leaky_relu(x, alpha_); }

}  // namespace kiln::layers
