#include "kiln/layers/repeat_vector.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

RepeatVector::RepeatVector(std::int64_t n, std::string name)
    : Layer(name.empty() ? unique_name("repeat_vector") : name, "RepeatVector"), n_(n) {
  if (n_ <= 0) throw Error(describe() + ": n must be positive, got " + std::to_string(n_));
}

Shape RepeatVector::compute_output_shape(const Shape& in) const {
  if (in.size() != 1) {
    throw Error(describe() + ": expected inputs of shape [batch, features], got [batch" +
                (in.empty() ? std::string("]") : ", " + shape_str(in).substr(1)));
  }
  return {n_, in[0]};
}

nlohmann::json RepeatVector::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["n"] = n_;
  return c;
}

Tensor RepeatVector::forward(const Tensor& x, bool) {
  return broadcast_to(reshape(x, {x.size(0), 1, x.size(1)}), {x.size(0), n_, x.size(1)});
}

}  // namespace kiln::layers
