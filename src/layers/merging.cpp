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

void MergeLayer::build_inputs(const std::vector<Shape>& input_shapes) {
  if (merge_built_) return;
  build_merge_weights(input_shapes, default_generator());
  merge_built_ = true;
}

Tensor MergeLayer::operator()(const std::vector<Tensor>& inputs, bool training) {
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
  build_inputs(samples);
  return merge_training(inputs, training);
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

Shape ElementwiseMerge::compute_output_shape(const std::vector<Shape>& in) const {
  if (in.size() < 2) throw Error(describe() + ": expected at least 2 inputs, got " + std::to_string(in.size()));
  for (const auto& s : in) {
    if (s != in[0]) throw Error(describe() + ": inputs must have one shape, got " + shapes_str(in) + " (batch axis left out)");
  }
  return in[0];
}

Add::Add(std::string name) : ElementwiseMerge(name.empty() ? unique_name("add") : name, "Add") {}

Tensor Add::merge(const std::vector<Tensor>& inputs) {
  Tensor sum = inputs[0];
  for (std::size_t i = 1; i < inputs.size(); ++i) sum = sum + inputs[i];
  return sum;
}

Subtract::Subtract(std::string name) : ElementwiseMerge(name.empty() ? unique_name("subtract") : name, "Subtract") {}

Shape Subtract::compute_output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 2) throw Error(describe() + ": expected exactly 2 inputs, got " + std::to_string(in.size()));
  return ElementwiseMerge::compute_output_shape(in);
}

Tensor Subtract::merge(const std::vector<Tensor>& inputs) { return inputs[0] - inputs[1]; }

Multiply::Multiply(std::string name) : ElementwiseMerge(name.empty() ? unique_name("multiply") : name, "Multiply") {}

Tensor Multiply::merge(const std::vector<Tensor>& inputs) {
  Tensor product = inputs[0];
  for (std::size_t i = 1; i < inputs.size(); ++i) product = product * inputs[i];
  return product;
}

Average::Average(std::string name) : ElementwiseMerge(name.empty() ? unique_name("average") : name, "Average") {}

Tensor Average::merge(const std::vector<Tensor>& inputs) {
  Tensor sum = inputs[0];
  for (std::size_t i = 1; i < inputs.size(); ++i) sum = sum + inputs[i];
  return sum * (1.0 / static_cast<double>(inputs.size()));
}

Maximum::Maximum(std::string name) : ElementwiseMerge(name.empty() ? unique_name("maximum") : name, "Maximum") {}

Tensor Maximum::merge(const std::vector<Tensor>& inputs) {
  Tensor out = inputs[0];
  for (std::size_t i = 1; i < inputs.size(); ++i) out = maximum(out, inputs[i]);
  return out;
}

Minimum::Minimum(std::string name) : ElementwiseMerge(name.empty() ? unique_name("minimum") : name, "Minimum") {}

Tensor Minimum::merge(const std::vector<Tensor>& inputs) {
  Tensor out = inputs[0];
  for (std::size_t i = 1; i < inputs.size(); ++i) out = minimum(out, inputs[i]);
  return out;
}

Dot::Dot(DotAxes axes, bool normalize, std::string name)
    : MergeLayer(name.empty() ? unique_name("dot") : name, "Dot"), axes_(axes), normalize_(normalize) {
  if (axes_.a == 0 || axes_.b == 0) throw Error(describe() + ": cannot take the dot product along the batch axis (0)");
}

std::pair<int, int> Dot::sample_axes(int rank) const {
  const int a = axes_.a < 0 ? axes_.a + rank : axes_.a, b = axes_.b < 0 ? axes_.b + rank : axes_.b;
  return {a - 1, b - 1};
}

Shape Dot::compute_output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 2) throw Error(describe() + ": expected exactly 2 inputs, got " + std::to_string(in.size()));
  const int rank = static_cast<int>(in[0].size()) + 1;
  if (in[0].size() != in[1].size() || rank < 2 || rank > 3) {
    throw Error(describe() + ": expected two inputs of rank 2 or 3 (batch included), of one rank, got shapes " +
                shapes_str(in) + " (batch axis left out)");
  }
  const auto [a, b] = sample_axes(rank);
  if (a < 0 || a >= rank - 1 || b < 0 || b >= rank - 1) {
    throw Error(describe() + ": axes (" + std::to_string(axes_.a) + ", " + std::to_string(axes_.b) +
                ") are outside inputs of rank " + std::to_string(rank) + " (batch included)");
  }
  if (in[0][static_cast<std::size_t>(a)] != in[1][static_cast<std::size_t>(b)]) {
    throw Error(describe() + ": the summed axes differ in size: " + shapes_str(in) + " along axes (" +
                std::to_string(axes_.a) + ", " + std::to_string(axes_.b) + ") (batch axis left out)");
  }
  if (rank == 2) return {1};
  return {in[0][static_cast<std::size_t>(1 - a)], in[1][static_cast<std::size_t>(1 - b)]};
}

nlohmann::json Dot::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["axes"] = axes_.pair ? nlohmann::json{axes_.a, axes_.b} : nlohmann::json(axes_.a);
  c["normalize"] = normalize_;
  return c;
}

namespace {

Tensor l2_normalize(const Tensor& x, int axis) {
  const Tensor squares = sum(square(x), {axis}, /*keepdims=*/true);
  return x / sqrt(maximum(squares, Tensor::scalar(1e-12, x.dtype())));
}

}  // namespace

Tensor Dot::merge(const std::vector<Tensor>& inputs) {
  const int rank = inputs[0].ndim();
  const auto [a, b] = sample_axes(rank);
  Tensor x = inputs[0], y = inputs[1];
  if (normalize_) x = l2_normalize(x, a + 1), y = l2_normalize(y, b + 1);
  if (rank == 2) return sum(x * y, {1}, /*keepdims=*/true);
  // x as [batch, M, K] and y as [batch, K, P]: the summed axis inner.
  return batched_matmul(x, y, /*transpose_a=*/a == 0, /*transpose_b=*/b == 1);
}

}  // namespace kiln::layers
