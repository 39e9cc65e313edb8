// Reverse-mode automatic differentiation.
//
// Every op that computes from tensors needing gradients records a Node: the
// op's name, its inputs, and a closure that maps the gradient of the output
// to the gradients of the inputs. backward() walks the nodes in reverse
// topological order. Ops write their forward and this closure side by side.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kiln/tensor.hpp"

namespace kiln::autograd {

// Returns one gradient per input, in order; an undefined Tensor means "no gradient".
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  std::string name;
  std::vector<Tensor> inputs;
  BackwardFn backward;
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
// returned instead of accumulated; leaves' grad() is left untouched.
std::vector<Tensor> grad(const Tensor& output, const std::vector<Tensor>& inputs,
                         const Tensor& grad_output = Tensor(), bool retain_graph = false);

}  // namespace kiln::autograd

namespace kiln {
using autograd::NoGradGuard;
}
