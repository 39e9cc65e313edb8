#include "kiln/layers/reshaping.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

Flatten::Flatten(std::string name) : Layer(name.empty() ? unique_name("flatten") : name, "Flatten") {}

Shape Flatten::compute_output_shape(const Shape& in) const { return {shape_numel(in)}; }

Tensor Flatten::forward(const Tensor& x, bool) { return reshape(x, {x.size(0), shape_numel(input_shape())}); }

Reshape::Reshape(Shape target_shape, std::string name)
    : Layer(name.empty() ? unique_name("reshape") : name, "Reshape"), target_shape_(std::move(target_shape)) {
  int unknown = 0;
  for (auto d : target_shape_) {
    if (d == -1) ++unknown;
    else if (d <= 0) throw Error(describe() + ": target_shape " + shape_str(target_shape_) + " has a non-positive size");
  }
  if (unknown > 1) throw Error(describe() + ": target_shape " + shape_str(target_shape_) + " has more than one -1");
}

Shape Reshape::compute_output_shape(const Shape& in) const {
  const std::int64_t total = shape_numel(in);
  std::int64_t known = 1;
  Shape out = target_shape_;
  int infer = -1;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) infer = static_cast<int>(i);
    else known *= out[i];
  }
  if (infer >= 0 && known > 0 && total % known == 0) out[infer] = total / known;
  if (shape_numel(out) != total || (infer >= 0 && known == 0)) {
    throw Error(describe() + ": cannot reshape inputs of shape [batch, " + shape_str(in).substr(1) + " (" +
                std::to_string(total) + " values per sample) into [batch, " + shape_str(target_shape_).substr(1));
  }
  return out;
}

nlohmann::json Reshape::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["target_shape"] = target_shape_;
  return c;
}

Tensor Reshape::forward(const Tensor& x, bool) {
  Shape s = output_shape();
  s.insert(s.begin(), x.size(0));
  return reshape(x, s);
}

}  // namespace kiln::layers
