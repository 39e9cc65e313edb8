// The backward pass: reverse topological walk over recorded nodes.
#include <unordered_map>
#include <unordered_set>

#include "kernels/cpu/elementwise.hpp"
#include "kiln/autograd.hpp"
#include "kiln/autograd_hooks.hpp"
#include "kiln/error.hpp"
#include "tensor/tensor_impl.hpp"

namespace kiln::autograd {
namespace {

// a + b into a fresh tensor: accumulated gradients may alias one another
// (add's backward returns the same tensor twice), so nothing is updated in place.
Tensor sum_of(const Tensor& a, const Tensor& b) {
  Tensor ca = a.contiguous(), cb = b.contiguous();
  Tensor out = Tensor::empty(a.shape(), a.dtype());
  if (a.dtype() == DType::Float32) {
    kernels::cpu::add(ca.data<float>(), cb.data<float>(), out.data<float>(), a.numel());
  } else if (a.dtype() == DType::Float64) {
    kernels::cpu::add(ca.data<double>(), cb.data<double>(), out.data<double>(), a.numel());
  } else {
    throw Error(std::string("backward: cannot accumulate gradients of dtype ") + dtype_name(a.dtype()));
  }
  return out;
}

GradReadyHook& grad_ready_hook() {
  static GradReadyHook hook;
  return hook;
}

void accumulate(Tensor& slot, const Tensor& g) { slot = slot.defined() ? sum_of(slot, g) : g; }

// Shared pointers, not raw ones: freeing the graph afterwards drops each
// node's inputs, which may release nodes later in the list.
std::vector<std::shared_ptr<Node>> topological_order(const std::shared_ptr<Node>& root) {
  // Iterative DFS: recurrent models make graphs far deeper than the C++ stack.
  std::vector<std::shared_ptr<Node>> order;
  std::unordered_set<Node*> visited;
  std::vector<std::pair<std::shared_ptr<Node>, std::size_t>> stack{{root, 0}};
  visited.insert(root.get());
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (next < node->inputs.size()) {
      const Tensor& input = node->inputs[next++];
      if (input.defined() && input.grad_fn()) {
        const auto& child = input.grad_fn();
        if (visited.insert(child.get()).second) stack.emplace_back(child, 0);
      }
    } else {
      order.push_back(node);
      stack.pop_back();
    }
  }
  return {order.rbegin(), order.rend()};  // root first
}

std::string describe_input(const Tensor& t, std::size_t i) {
  std::string s = "input " + std::to_string(i);
  if (!t.name().empty()) s += " '" + t.name() + "'";
  s += std::string(" (") + dtype_name(t.dtype()) + " " + shape_str(t.shape()) + ")";
  if (t.grad_fn()) s += ", the output of '" + t.grad_fn()->name + "'";
  return s;
}

std::string modified_error(const Node& node, const std::string& what, std::uint64_t now, std::uint64_t then) {
  return "backward of '" + node.name + "': its " + what + ", needed for the gradient, was modified in place after " +
         "the forward pass used it (now at version " + std::to_string(now) + ", used at version " +
         std::to_string(then) + "). Write in place (copy_, fill_, an optimizer step) after backward, or into a clone()";
}

// Like torch's saved-variable check, done for every op at once: any input and
// the output may be what the closure kept, so none may have been written since.
void check_versions(const Node& node) {
  for (std::size_t i = 0; i < node.inputs.size(); ++i) {
    const Tensor& input = node.inputs[i];
    if (!input.defined()) continue;
    const std::uint64_t now = input.impl()->storage->version, then = node.input_version(i);
    if (now != then) throw Error(modified_error(node, describe_input(input, i), now, then));
  }
  if (const auto out = node.output_storage.lock(); out && out->version != node.output_version) {
    throw Error(modified_error(node, "output", out->version, node.output_version));
  }
}

Tensor default_grad_output(const Tensor& root, const Tensor& grad_output) {
  if (grad_output.defined()) {
    if (grad_output.shape() != root.shape()) {
      throw Error("backward: grad_output shape " + shape_str(grad_output.shape()) + " differs from output shape " +
                  shape_str(root.shape()));
    }
    return grad_output;
  }
  if (root.numel() != 1) {
    throw Error("backward: output of shape " + shape_str(root.shape()) +
                " is not a scalar; pass grad_output or reduce it first (e.g. with mean)");
  }
  return Tensor::ones(root.shape(), root.dtype());
}

// Runs the backward pass. With `targets`, gradients reaching those tensors are
// collected into `captured` and leaves are left alone; without, they
// accumulate into each leaf's grad().
void run_backward(const Tensor& root, const Tensor& grad_output, bool retain_graph,
                  const std::unordered_map<TensorImpl*, std::size_t>* targets, std::vector<Tensor>* captured) {
  if (!root.defined()) throw Error("backward: undefined tensor");
  if (!root.requires_grad()) {
    throw Error("backward: the tensor does not require grad (no input of its computation requires grad)");
  }
  NoGradGuard no_grad;
  const Tensor seed = default_grad_output(root, grad_output);

  auto deliver = [&](const Tensor& input, const Tensor& g, std::unordered_map<Node*, Tensor>& pending) {
    if (targets) {
      auto it = targets->find(input.impl());
      if (it != targets->end()) accumulate((*captured)[it->second], g);
    }
    if (input.grad_fn()) {
      accumulate(pending[input.grad_fn().get()], g);
    } else if (!targets && input.impl()->requires_grad) {
      accumulate(input.impl()->grad, g);
    }
  };

  std::unordered_map<Node*, Tensor> pending;
  if (!root.grad_fn()) {  // the root is itself a leaf
    deliver(root, seed, pending);
    return;
  }
  if (targets) {
    auto it = targets->find(root.impl());
    if (it != targets->end()) accumulate((*captured)[it->second], seed);
  }
  const auto order = topological_order(root.grad_fn());
  // For the grad-ready hook: how many edges of the pass still lead to each leaf.
  const GradReadyHook& hook = grad_ready_hook();
  std::unordered_map<TensorImpl*, std::size_t> leaf_edges;
  if (hook && !targets) {
    for (const auto& node : order) {
      for (const Tensor& input : node->inputs) {
        if (input.defined() && !input.grad_fn() && input.impl()->requires_grad) ++leaf_edges[input.impl()];
      }
    }
  }
  auto leaf_edges_done = [&](const Node& node) {
    if (leaf_edges.empty()) return;
    for (const Tensor& input : node.inputs) {
      if (!input.defined() || input.grad_fn() || !input.impl()->requires_grad) continue;
      if (--leaf_edges[input.impl()] == 0) hook(input);
    }
  };
  pending[order.front().get()] = seed;
  for (const auto& node : order) {
    auto it = pending.find(node.get());
    if (it == pending.end()) {
      leaf_edges_done(*node);
      continue;
    }
    Tensor g = std::move(it->second);
    pending.erase(it);
    if (!node->backward) {
      throw Error("backward: the graph through '" + node->name +
                  "' was already freed by an earlier backward; pass retain_graph=true to backpropagate twice");
    }
    check_versions(*node);
    const std::vector<Tensor> grads = node->backward(g);
    if (grads.size() != node->inputs.size()) {
      throw Error("backward of '" + node->name + "' returned " + std::to_string(grads.size()) +
                  " gradients for " + std::to_string(node->inputs.size()) + " inputs");
    }
    for (std::size_t i = 0; i < grads.size(); ++i) {
      const Tensor& input = node->inputs[i];
      if (!grads[i].defined() || !input.defined() || !input.requires_grad()) continue;
      if (grads[i].shape() != input.shape()) {
        throw Error("backward of '" + node->name + "': gradient for input " + std::to_string(i) + " has shape " +
                    shape_str(grads[i].shape()) + ", input has shape " + shape_str(input.shape()));
      }
      deliver(input, grads[i], pending);
    }
    leaf_edges_done(*node);
  }
  if (!retain_graph) {
    for (const auto& node : order) {
      node->backward = nullptr;
      node->inputs.clear();
    }
  }
}

}  // namespace

void record(Tensor& output, std::string name, std::vector<Tensor> inputs, BackwardFn backward) {
  auto node = std::make_shared<Node>();
  node->name = std::move(name);
  node->inputs = std::move(inputs);
  node->backward = std::move(backward);
  for (std::size_t i = 0; i < node->inputs.size(); ++i) {
    const Tensor& t = node->inputs[i];
    const std::uint64_t version = t.defined() ? t.impl()->storage->version : 0;
    if (i < Node::kInlineVersions) {
      node->input_versions[i] = version;
    } else {
      node->more_input_versions.push_back(version);
    }
  }
  node->output_storage = output.impl()->storage;
  node->output_version = output.impl()->storage->version;
  output.impl()->grad_fn = std::move(node);
}

void set_grad_ready_hook(GradReadyHook hook) { grad_ready_hook() = std::move(hook); }

void backward(const Tensor& root, const Tensor& grad_output, bool retain_graph) {
  run_backward(root, grad_output, retain_graph, nullptr, nullptr);
}

std::vector<Tensor> grad(const Tensor& output, const std::vector<Tensor>& inputs, const Tensor& grad_output,
                         bool retain_graph, bool zeros_for_unused) {
  std::unordered_map<TensorImpl*, std::size_t> targets;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined()) throw Error("autograd::grad: input " + std::to_string(i) + " is undefined");
    if (!inputs[i].requires_grad()) {
      throw Error("autograd::grad: input " + std::to_string(i) + " does not require grad");
    }
    targets.emplace(inputs[i].impl(), i);
  }
  std::vector<Tensor> captured(inputs.size());
  run_backward(output, grad_output, retain_graph, &targets, &captured);
  for (std::size_t i = 0; i < inputs.size() && zeros_for_unused; ++i) {
    if (!captured[i].defined()) captured[i] = Tensor::zeros(inputs[i].shape(), inputs[i].dtype());
  }
  return captured;
}

}  // namespace kiln::autograd

namespace kiln {

namespace {
std::string describe_param(const Tensor& p, std::size_t i) {
  std::string s = "parameter " + std::to_string(i);
  if (!p.defined()) return s;
  if (!p.name().empty()) s += " '" + p.name() + "'";
  return s + " (shape " + shape_str(p.shape()) + ")";
}
}  // namespace

std::vector<Tensor> gradients(const Tensor& loss, const std::vector<Tensor>& params) {
  if (!loss.defined()) throw Error("gradients: the loss is undefined");
  if (loss.numel() != 1) {
    throw Error("gradients: the loss must be a scalar, got shape " + shape_str(loss.shape()) +
                "; reduce it first (e.g. with kiln::mean)");
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    if (!params[i].defined()) throw Error("gradients: " + describe_param(params[i], i) + " is undefined");
    if (!params[i].requires_grad()) {
      throw Error("gradients: " + describe_param(params[i], i) +
                  " does not require a gradient (is its layer frozen with trainable = false?)");
    }
  }
  // A loss computed from nothing that needs a gradient depends on no parameter.
  if (!loss.requires_grad()) return std::vector<Tensor>(params.size());
  return autograd::grad(loss, params, Tensor(), /*retain_graph=*/false, /*zeros_for_unused=*/false);
}

}  // namespace kiln
