// The records behind symbolic tensors: each Node is one call of a layer or
// of a nested model on symbolic inputs, or a model Input. A functional Model
// keeps the nodes between its inputs and outputs in the order they run.
// Internal: users see SymbolicTensor and Model.
#pragma once
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "kiln/layers/layer.hpp"
#include "kiln/model.hpp"
#include "kiln/symbolic.hpp"

namespace kiln::functional {

struct Node {
  std::shared_ptr<layers::Layer> layer;  // a layer call,
  std::shared_ptr<Model> model;          // or a nested model's call,
  std::string input_name;                // or, with neither, an Input of this name
  std::vector<SymbolicTensor> inputs;    // what it was called on
  std::vector<Shape> output_shapes;      // per sample
  DType dtype = DType::Float32;          // of its outputs

  bool is_input() const { return !layer && !model; }
  // "Dense 'dense_1'", "model 'generator'", "Input 'noise'"
  std::string describe() const;
  // The layer's, model's or input's name.
  std::string name() const;
};

struct Graph {
  std::vector<SymbolicTensor> inputs, outputs;
  // Every node between the inputs and the outputs, each after the nodes it reads (inputs first).
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_map<const Node*, std::size_t> position;  // index into `order`
  // Layer fusion (model/fusion.hpp): for each node, the node that runs it inside a fused op, or kNotFused.
  std::vector<std::size_t> fused_into;
};

// Checks that every path from `outputs` back to an Input ends at one of
// `inputs` (naming the layer that needs a missing input) and orders the nodes.
Graph make_graph(const std::string& model_name, std::vector<SymbolicTensor> inputs,
                 std::vector<SymbolicTensor> outputs);

// Runs the graph on one tensor per input; returns one per output. With `fuse`,
// the pairs in graph.fused_into run as one op each.
std::vector<Tensor> run_graph(const Graph& graph, const std::string& model_name, const std::vector<Tensor>& inputs,
                              bool training, bool fuse);

}  // namespace kiln::functional
