#include "kiln/layers/merging.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {
namespace {

std::string shapes_str(const std::vector<Shape>& shapes) {
  std::string s;
  for (const auto& shape : shapes) s += (s.empty() ? "" : ", ") + shape_str(shape);
  return s;
}

}  // namespace

Shape MergeLayer::compute_output_shape(const Shape&) const {
  throw Error(type() + " '" + name() + "' takes a list of inputs ({a, b}), got a single input");
}

Tensor MergeLayer::forward(const Tensor&, bool) { return (*this)(std::vector<Tensor>{}); }

Tensor MergeLayer::operator()(const std::vector<Tensor>& inputs, bool) {
  const std::string who = type() + " '" + name() + "'";
  if (inputs.size() < 2) {
    throw Error(who + ": expected a list of at least 2 inputs, got " + std::to_string(inputs.size()));
  }
  std::vector<Shape> samples;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    if (!x.defined()) throw Error(who + ": input " + std::to_string(i) + " is undefined");
    if (x.ndim() < 1) throw Error(who + ": input " + std::to_string(i) + " must have a batch axis, got a scalar");
    if (x.size(0) != inputs[0].size(0)) {
      throw Error(who + ": inputs have different batch sizes (" + shape_str(inputs[0].shape()) + " and " +
                  shape_str(x.shape()) + ")");
    }
    if (!accepts_dtype(x.dtype())) {
      throw Error(who + ": expected " + dtype_name(dtype()) + " inputs, got " + dtype_name(x.dtype()));
    }
    samples.emplace_back(x.shape().begin() + 1, x.shape().end());
  }
  compute_output_shape(samples);
  return merge(inputs);
}

Concatenate::Concatenate(int axis, std::string name)
    : MergeLayer(name.empty() ? unique_name("concatenate") : name, "Concatenate"), axis_(axis) {
  if (axis_ == 0) throw Error(describe() + ": cannot concatenate along the batch axis (axis 0)");
}

Shape Concatenate::compute_output_shape(const std::vector<Shape>& in) const {
  if (in.size() < 2) throw Error(describe() + ": expected at least 2 inputs, got " + std::to_string(in.size()));
  const int rank = static_cast<int>(in[0].size()) + 1;  // with the batch axis
  const int axis = axis_ < 0 ? axis_ + rank : axis_;
  if (axis < 1 || axis >= rank) {
    throw Error(describe() + ": axis " + std::to_string(axis_) + " is outside inputs of shape [batch, " +
                (in[0].empty() ? std::string("]") : shape_str(in[0]).substr(1)));
  }
  Shape out = in[0];
  out[axis - 1] = 0;
  for (const auto& s : in) {
    bool fits = s.size() == in[0].size();
    for (std::size_t d = 0; fits && d < s.size(); ++d) fits = int(d) == axis - 1 || s[d] == in[0][d];
    if (!fits) {
      throw Error(describe() + ": inputs must match except along axis " + std::to_string(axis_) + ", got shapes " +
                  shapes_str(in) + " (batch axis left out)");
    }
    out[axis - 1] += s[axis - 1];
  }
  return out;
}

nlohmann::json Concatenate::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axis"] = axis_;
  return c;
}

Tensor Concatenate::merge(const std::vector<Tensor>& inputs) { return concat(inputs, axis_); }

Add::Add(std::string name) : MergeLayer(name.empty() ? unique_name("add") : name, "Add") {}

Shape Add::compute_output_shape(const std::vector<Shape>& in) const {
  if (in.size() < 2) throw Error(describe() + ": expected at least 2 inputs, got " + std::to_string(in.size()));
  for (const auto& s : in) {
    if (s != in[0]) throw Error(describe() + ": inputs must have one shape, got " + shapes_str(in) + " (batch axis left out)");
  }
  return in[0];
}

Tensor Add::merge(const std::vector<Tensor>& inputs) {
  Tensor sum = inputs[0];
  for (std::size_t i = 1; i < inputs.size(); ++i) sum = sum + inputs[i];
  return sum;
}

}  // namespace kiln::layers
