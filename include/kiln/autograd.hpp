// Reverse-mode automatic differentiation.
//
// Every op that computes from tensors needing gradients records a Node: the
// op's name, its inputs, and a closure that maps the gradient of the output
// to the gradients of the inputs. backward() walks the nodes in reverse
// topological order. Ops write their forward and this closure side by side.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kiln/tensor.hpp"

namespace kiln {
struct Storage;
}

namespace kiln::autograd {

// Returns one gradient per input, in order; an undefined Tensor means "no gradient".
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string name;
  std::vector<Tensor> inputs;
  BackwardFn backward;
  // What the op may have saved for backward (its inputs' and its output's data)
  // and their versions when it ran: backward throws, naming the op, when one has
  // been written in place since (torch's "modified by an inplace operation").
  // Most ops have few inputs: their versions are kept without an allocation.
  static constexpr std::size_t kInlineVersions = 4;
  std::array<std::uint64_t, kInlineVersions> input_versions{};
  std::vector<std::uint64_t> more_input_versions;  // inputs from kInlineVersions on
  std::weak_ptr<Storage> output_storage;
  std::uint64_t output_version = 0;

  std::uint64_t input_version(std::size_t i) const {
    return i < kInlineVersions ? input_versions[i] : more_input_versions[i - kInlineVersions];
  }
};

// Gradient recording is on by default and off inside a NoGradGuard (torch.no_grad).
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// True when recording is on and any of `inputs` requires a gradient.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);

// Attaches a node to `output`; call only when needs_grad(inputs).
void record(Tensor& output, std::string name, std::vector<Tensor> inputs, BackwardFn backward);

// Accumulates d(root)/d(leaf) into every leaf's grad(). `grad_output` defaults to 1
// for a one-element root. The graph is freed afterwards unless retain_graph.
void backward(const Tensor& root, const Tensor& grad_output = Tensor(), bool retain_graph = false);

// Gradients of `output` with respect to `inputs` (like torch.autograd.grad),
// returned instead of accumulated; leaves' grad() is left untouched. An input
// the output does not depend on gets zeros, or an undefined tensor when
// `zeros_for_unused` is false.
std::vector<Tensor> grad(const Tensor& output, const std::vector<Tensor>& inputs,
                         const Tensor& grad_output = Tensor(), bool retain_graph = false,
                         bool zeros_for_unused = true);

}  // namespace kiln::autograd

namespace kiln {

// For a custom training step: d(loss)/d(param) for each of `params`, as Keras's
// tape.gradient(loss, params). A parameter the loss does not depend on gets an
// undefined Tensor (Keras's None), which Optimizer::apply_gradients reports by
// name. The graph behind `loss` is freed; the parameters' grad() is untouched.
//
//   Tensor loss = loss_fn(y, model(x, /*training=*/true));
//   auto grads = kiln::gradients(loss, model.trainable_weights());
//   optimizer.apply_gradients(grads, model.trainable_weights());
//
// Gradients flow through every op that has inputs requiring them; stop them
// with Tensor::detach() (the generator's images in a discriminator step), and
// skip computing them for a model with model.set_trainable(false).
std::vector<Tensor> gradients(const Tensor& loss, const std::vector<Tensor>& params);

}  // namespace kiln

namespace kiln {
using autograd::NoGradGuard;
}
