// Symbolic tensors: the functional model API (Keras's keras.Input and layer calls).
//
//   auto noise = kiln::Input({100}, "noise");
//   auto h = Dense(7 * 7 * 64, DenseOptions{.use_bias = false})(noise);
//   h = LeakyReLU(0.2)(BatchNormalization()(h));
//   auto image = Conv2DTranspose(1, 4, {.strides = 2, .padding = "same", .activation = "tanh"})(...);
//   auto generator = std::make_shared<kiln::Model>(noise, image, "generator");
//
// A SymbolicTensor holds no data. It records which layer (or model) produced
// it from which symbolic inputs, and its shape per sample (the batch axis
// excluded, as in Keras's input shapes). kiln::Model walks these records back
// from its outputs to its inputs to find the layers and the order to run them.
//
// Calling a layer on a symbolic tensor builds it for that shape, so a wrong
// shape is an Error naming the layer at the line that wires it, not at the
// first batch. A temporary layer (Dense(64)(x)) is moved into the graph; a
// layer called more than once shares its weights between the calls and must
// be owned by a std::shared_ptr:
//   auto encoder = std::make_shared<Dense>(32, "relu");
//   auto a = (*encoder)(left), b = (*encoder)(right);     // one set of weights
// A model is called the same way (it too must be a std::shared_ptr), and is
// then one node of the enclosing graph: discriminator(generator(noise)).
#pragma once
#include <memory>
#include <string>

#include "kiln/dtype.hpp"
#include "kiln/shape.hpp"

namespace kiln {

namespace functional {
struct Node;  // one call of a layer or model, or an Input (model/graph.hpp)
}

class SymbolicTensor {
 public:
  SymbolicTensor() = default;
  SymbolicTensor(std::shared_ptr<functional::Node> node, int index);

  bool defined() const { return node_ != nullptr; }
  // Per sample: the batch axis is excluded.
  const Shape& shape() const;
  DType dtype() const;
  // What produced it, for messages: "Input 'noise'", "Dense 'dense_1'"
  // (with "output 1 of ..." for a node's second output).
  std::string describe() const;

  const std::shared_ptr<functional::Node>& node() const { return node_; }
  int index() const { return index_; }  // which output of node()

 private:
  std::shared_ptr<functional::Node> node_;
  int index_ = 0;
};

// A model input taking samples of `shape` (batch axis excluded), as keras.Input(shape).
// Without a name it is called "input", "input_1", ...
SymbolicTensor Input(Shape shape, std::string name = "", DType dtype = DType::Float32);

}  // namespace kiln
