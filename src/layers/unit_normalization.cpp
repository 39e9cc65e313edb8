#include "kiln/layers/unit_normalization.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

UnitNormalization::UnitNormalization(int axis, std::string name) : UnitNormalization(std::vector<int>{axis}, name) {
  list_ = false;
}

UnitNormalization::UnitNormalization(std::vector<int> axes, std::string name)
    : Layer(name.empty() ? unique_name("unit_normalization") : name, "UnitNormalization"),
      axes_(std::move(axes)),
      list_(true) {
  if (axes_.empty()) throw Error(describe() + ": axis must name at least one axis");
  for (int a : axes_) {
    if (a == 0) throw Error(describe() + ": cannot normalise along the batch axis (axis 0)");
  }
}

Shape UnitNormalization::compute_output_shape(const Shape& in) const {
  const int rank = static_cast<int>(in.size()) + 1;
  for (int a : axes_) {
    const int axis = a < 0 ? a + rank : a;
    if (axis < 1 || axis >= rank) {
      throw Error(describe() + ": axis " + std::to_string(a) + " is outside inputs of shape [batch" +
                  (in.empty() ? std::string("]") : ", " + shape_str(in).substr(1)));
    }
  }
  return in;
}

bool UnitNormalization::accepts(const Shape& built, const Shape& actual) const {
  if (actual.size() != built.size()) return false;
  const int rank = static_cast<int>(built.size()) + 1;
  for (int a : axes_) {
    const auto axis = static_cast<std::size_t>((a < 0 ? a + rank : a) - 1);
    if (actual[axis] != built[axis]) return false;
  }
  return true;
}

nlohmann::json UnitNormalization::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = list_ ? nlohmann::json(axes_) : nlohmann::json(axes_.front());
  return c;
}

Tensor UnitNormalization::forward(const Tensor& x, bool) {
  std::vector<int> axes;
  for (int a : axes_) axes.push_back(a < 0 ? a + x.ndim() : a);
  const Tensor squares = sum(square(x), axes, /*keepdims=*/true);
  return x / sqrt(maximum(squares, Tensor::scalar(1e-12, x.dtype())));
}

}  // namespace kiln::layers
