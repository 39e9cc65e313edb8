// Subgraphs of an ONNX graph that stand for one Keras layer: the formulas exporters write for
// layers that have no operator of their own in opsets 13 to 17 (gelu's Erf form, ReLU with a
// threshold, GroupNormalization, LayerNormalization before opset 17, Dot of vectors, Keras's
// Attention and AdditiveAttention, Normalization and BatchNormalization by vectors over the last axis,
// keras_nlp's TransformerEncoder with or without its causal mask).
// Found by their shape, never by node names: every value inside a subgraph is read only inside
// it, so the importer can make one layer at its last node and skip the others.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "kiln/tensor.hpp"
#include "onnx/proto.hpp"

namespace kiln::onnx_detail {

struct FusedLayer {
  // "gelu", "ReLU", "GroupNormalization", "LayerNormalization", "Dot", "Attention", "AdditiveAttention",
  // "Normalization" ((x - mean) / stddev), "ScaleShift" (x * scale + shift) or "TransformerEncoder".
  std::string type;
  std::vector<std::string> inputs;             // the values it reads, in the layer's order
  std::string output;                          // the value it gives
  std::size_t last = 0;                        // index of the node that gives `output`: where the layer is made
  std::vector<std::size_t> nodes;              // every node of the subgraph, `last` included
  std::map<std::string, double> numbers;       // arguments (threshold, epsilon, groups...)
  std::map<std::string, std::string> strings;  // arguments (layout, score_mode)
  std::map<std::string, Tensor> tensors;       // weights by Keras's name; Reshape targets
};

// The value of constant `name` (an initializer or a Constant node's), nullptr for a computed value.
using ConstantOf = std::function<const Tensor*(const std::string&)>;

// Every such subgraph of `graph`, none sharing a node with another.
std::vector<FusedLayer> find_fused_layers(const onnx::GraphProto& graph, const ConstantOf& constant);

}  // namespace kiln::onnx_detail
