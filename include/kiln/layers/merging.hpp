// Layers that combine several inputs (Keras's merging layers): Concatenate,
// Add, Subtract, Multiply, Average, Maximum, Minimum and Dot. They take a list, eagerly or symbolically:
//   Tensor y = Concatenate()({a, b});                   // tensors [batch, ...]
//   SymbolicTensor h = Concatenate()({noise, label});   // in a functional model
#pragma once
#include <vector>

#include "kiln/layers/layer.hpp"

namespace kiln::layers {

class MergeLayer : public Layer {
 public:
  using Layer::Layer;
  using Layer::operator();
  Tensor operator()(const std::vector<Tensor>& inputs, bool training = false);
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& inputs) &;
  SymbolicTensor operator()(const std::vector<SymbolicTensor>& inputs) &&;

  // Validates the per-sample input shapes (an Error names this layer) and returns the output's.
  virtual Shape compute_output_shape(const std::vector<Shape>& input_shapes) const = 0;
  // A merge layer takes a list; a single input is an Error naming it.
  Shape compute_output_shape(const Shape& input_shape) const override;
  // Creates the weights a merge layer may have (Attention's scale) for inputs of these
  // per-sample shapes, once; the calls above do it on first use.
  void build_inputs(const std::vector<Shape>& input_shapes);

 protected:
  virtual Tensor merge(const std::vector<Tensor>& inputs) = 0;
  // What the call runs; layers that behave differently while training (Attention's dropout) override it.
  virtual Tensor merge_training(const std::vector<Tensor>& inputs, bool /*training*/) { return merge(inputs); }
  virtual void build_merge_weights(const std::vector<Shape>& /*input_shapes*/, Generator& /*generator*/) {}
  Tensor forward(const Tensor& x, bool training) override;

 private:
  bool merge_built_ = false;
};

// Joins inputs along `axis` (counted as in Keras, the batch axis being 0; -1 is the last).
class Concatenate : public MergeLayer {
 public:
  explicit Concatenate(int axis = -1, std::string name = "");
  int axis() const { return axis_; }
  using MergeLayer::compute_output_shape;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  nlohmann::json get_config() const override;

 protected:
  Tensor merge(const std::vector<Tensor>& inputs) override;

 private:
  int axis_;
};

// Inputs of one shape combined elementwise into that shape.
class ElementwiseMerge : public MergeLayer {
 public:
  using MergeLayer::compute_output_shape;
  using MergeLayer::MergeLayer;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
};

// The sum of the inputs.
class Add : public ElementwiseMerge {
 public:
  explicit Add(std::string name = "");

 protected:
  Tensor merge(const std::vector<Tensor>& inputs) override;
};

// inputs[0] - inputs[1]; exactly two inputs.
class Subtract : public ElementwiseMerge {
 public:
  explicit Subtract(std::string name = "");
  using ElementwiseMerge::compute_output_shape;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;

 protected:
  Tensor merge(const std::vector<Tensor>& inputs) override;
};

// The product of the inputs.
class Multiply : public ElementwiseMerge {
 public:
  explicit Multiply(std::string name = "");

 protected:
  Tensor merge(const std::vector<Tensor>& inputs) override;
};

// The mean of the inputs.
class Average : public ElementwiseMerge {
 public:
  explicit Average(std::string name = "");

 protected:
  Tensor merge(const std::vector<Tensor>& inputs) override;
};

// The elementwise maximum of the inputs (where two are equal, the gradient goes to the first).
class Maximum : public ElementwiseMerge {
 public:
  explicit Maximum(std::string name = "");

 protected:
  Tensor merge(const std::vector<Tensor>& inputs) override;
};

// The elementwise minimum of the inputs.
class Minimum : public ElementwiseMerge {
 public:
  explicit Minimum(std::string name = "");

 protected:
  Tensor merge(const std::vector<Tensor>& inputs) override;
};

// Which axis of each of Dot's two inputs is summed over, counted as in Keras
// (the batch axis being 0; -1 is the last). One number means the same for both.
struct DotAxes {
  DotAxes(int both) : a(both), b(both), pair(false) {}  // NOLINT: Dot(1) as in Keras
  DotAxes(int first, int second) : a(first), b(second), pair(true) {}
  int a, b;
  bool pair;  // written as [a, b] in the config (Keras keeps the form it was given)
};

// Keras's Dot: per sample, the dot product of two inputs along `axes` (batch_dot).
//   [batch, D] . [batch, D], axes 1                    -> [batch, 1]
//   [batch, T, D] . [batch, S, D], axes 2             -> [batch, T, S]
//   [batch, K, M] . [batch, K, P], axes 1             -> [batch, M, P]
// With normalize, each input is first divided by its L2 norm along its axis
// (x / sqrt(max(sum(x^2), 1e-12))), giving cosine similarities.
// Inputs of rank 2 or 3 (batch included), both of the same rank.
class Dot : public MergeLayer {
 public:
  explicit Dot(DotAxes axes, bool normalize = false, std::string name = "");
  const DotAxes& axes() const { return axes_; }
  bool normalize() const { return normalize_; }
  using MergeLayer::compute_output_shape;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  nlohmann::json get_config() const override;

 protected:
  Tensor merge(const std::vector<Tensor>& inputs) override;

 private:
  // The per-sample axes (0-based, batch excluded) summed over, for inputs of rank `rank` (batch included).
  std::pair<int, int> sample_axes(int rank) const;
  DotAxes axes_;
  bool normalize_;
};

}  // namespace kiln::layers
