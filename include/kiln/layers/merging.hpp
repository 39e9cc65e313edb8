// Layers that combine several inputs: Concatenate and Add (Keras's merging
// layers). They take a list, eagerly or symbolically:
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

 protected:
  virtual Tensor merge(const std::vector<Tensor>& inputs) = 0;
  Tensor forward(const Tensor& x, bool training) override;
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

// Elementwise sum of inputs of one shape.
class Add : public MergeLayer {
 public:
  explicit Add(std::string name = "");
  using MergeLayer::compute_output_shape;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;

 protected:
  Tensor merge(const std::vector<Tensor>& inputs) override;
};

}  // namespace kiln::layers
