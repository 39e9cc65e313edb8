// Functional models: a graph of layer (and model) calls from symbolic inputs
// to outputs, ordered once at construction and run in that order.
#include <algorithm>
#include <map>
#include <ostream>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "kiln/autograd.hpp"
#include "kiln/error.hpp"
#include "kiln/layers/merging.hpp"
#include "kiln/sequential.hpp"
#include "model/fusion.hpp"
#include "model/graph.hpp"
#include "model/summary_format.hpp"

namespace kiln {
namespace functional {
namespace {

std::string batch_shape(const Shape& s) { return "[batch" + (s.empty() ? std::string("]") : ", " + shape_str(s).substr(1)); }

}  // namespace

Graph make_graph(const std::string& model_name, std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs) {
  const std::string who = "model '" + model_name + "'";
  if (outputs.empty()) throw Error(who + ": no outputs given");
  Graph g;
  std::unordered_set<const Node*> allowed;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& x = inputs[i];
    if (!x.defined()) throw Error(who + ": input " + std::to_string(i) + " is undefined");
    if (!x.node()->is_input()) {
      throw Error(who + ": input " + std::to_string(i) + " is " + x.describe() +
                  ", not a kiln::Input; a model's inputs are the Inputs its layers start from");
    }
    if (!allowed.insert(x.node().get()).second) throw Error(who + ": " + x.describe() + " is given twice as an input");
    g.position[x.node().get()] = g.order.size();
    g.order.push_back(x.node());
  }
  // Depth-first from the outputs; a node joins `order` after everything it reads.
  std::unordered_set<const Node*> visited(allowed.begin(), allowed.end());
  std::map<std::string, const void*> owners;  // name -> layer or model, to keep names unique
  auto claim_name = [&](const Node& n) {
    const void* owner = n.layer ? static_cast<const void*>(n.layer.get()) : n.model ? static_cast<const void*>(n.model.get()) : &n;
    auto [it, inserted] = owners.emplace(n.name(), owner);
    if (!inserted && it->second != owner) {
      throw Error(who + ": two different layers (or inputs) are named '" + n.name() +
                  "'; names in a model must be unique (give one another name)");
    }
  };
  for (const auto& in : inputs) claim_name(*in.node());
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    const auto& out = outputs[i];
    if (!out.defined()) throw Error(who + ": output " + std::to_string(i) + " is undefined");
    if (visited.count(out.node().get())) continue;
    if (out.node()->is_input()) {
      throw Error(who + ": output " + std::to_string(i) + " is " + out.describe() + ", which is not among its inputs");
    }
    std::vector<std::pair<std::shared_ptr<Node>, std::size_t>> stack{{out.node(), 0}};
    visited.insert(out.node().get());
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        const auto& child = node->inputs[next++].node();
        if (visited.count(child.get())) continue;
        if (child->is_input()) {
          std::string names;
          for (const auto& in : inputs) names += (names.empty() ? "'" : ", '") + in.node()->input_name + "'";
          throw Error(who + ": " + node->describe() + " needs " + child->describe() + " (shape " +
                      batch_shape(child->output_shapes[0]) + "), which is not among the model's inputs [" + names +
                      "]; pass it in the inputs list");
        }
        visited.insert(child.get());
        stack.emplace_back(child, 0);
      } else {
        claim_name(*node);
        g.position[node.get()] = g.order.size();
        g.order.push_back(node);
        stack.pop_back();
      }
    }
  }
  std::vector<model_detail::FusionStep> steps(g.order.size());
  for (std::size_t k = 0; k < g.order.size(); ++k) {
    steps[k].layer = g.order[k]->layer.get();
    for (const auto& in : g.order[k]->inputs) steps[k].reads.push_back(g.position.at(in.node().get()));
  }
  for (const auto& out : outputs) steps[g.position.at(out.node().get())].is_output = true;
  g.fused_into = model_detail::plan_fusion(steps);
  g.inputs = std::move(inputs);
  g.outputs = std::move(outputs);
  return g;
}

std::vector<Tensor> run_graph(const Graph& g, const std::string& model_name, const std::vector<Tensor>& inputs,
                              bool training, bool fuse) {
  const std::string who = "model '" + model_name + "'";
  if (inputs.size() != g.inputs.size()) {
    throw Error(who + " takes " + std::to_string(g.inputs.size()) + " input" + (g.inputs.size() == 1 ? "" : "s") +
                ", got " + std::to_string(inputs.size()));
  }
  std::vector<std::vector<Tensor>> values(g.order.size());
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const Tensor& x = inputs[i];
    const Node& node = *g.inputs[i].node();
    if (!x.defined()) throw Error(who + ": input '" + node.input_name + "' is undefined");
    const Shape& want = node.output_shapes[0];
    const bool fits = x.ndim() == static_cast<int>(want.size()) + 1 &&
                      std::equal(want.begin(), want.end(), x.shape().begin() + 1);
    if (!fits) {
      throw Error(who + ": input '" + node.input_name + "' expects " + batch_shape(want) + ", got " +
                  shape_str(x.shape()));
    }
    // Keras casts what a model is given to its Inputs' dtypes; between float types only, so
    // that integer ids never become floats unnoticed.
    const bool castable = is_floating(x.dtype()) && is_floating(node.dtype) && !x.requires_grad();
    if (x.dtype() != node.dtype && !castable) {
      throw Error(who + ": input '" + node.input_name + "' expects " + dtype_name(node.dtype) + ", got " +
                  dtype_name(x.dtype()));
    }
    values[i] = {x.dtype() == node.dtype ? x : x.to(node.dtype)};
  }
  for (std::size_t k = inputs.size(); k < g.order.size(); ++k) {
    const Node& node = *g.order[k];
    if (fuse && g.fused_into[k] != model_detail::kNotFused) continue;  // its one reader runs it
    const std::size_t first = node.inputs.empty() ? 0 : g.position.at(node.inputs[0].node().get());
    if (fuse && !node.inputs.empty() && g.fused_into[first] == k) {
      // The fused pair, from the convolution's input (the convolution's own value is never made).
      const Node& conv = *g.order[first];
      const auto& from = conv.inputs[0];
      values[k] = {model_detail::run_conv_max_pool(*conv.layer, *node.layer,
                                                   values[g.position.at(from.node().get())][from.index()])};
      continue;
    }
    std::vector<Tensor> args;
    for (const auto& in : node.inputs) args.push_back(values[g.position.at(in.node().get())][in.index()]);
    if (node.model) {
      values[k] = node.model->call_multi(args, training);
      if (values[k].size() != node.output_shapes.size()) {
        throw Error(who + ": " + node.describe() + " returned " + std::to_string(values[k].size()) +
                    " outputs, expected " + std::to_string(node.output_shapes.size()));
      }
    } else if (auto* merge = dynamic_cast<layers::MergeLayer*>(node.layer.get())) {
      values[k] = {(*merge)(args, training)};
    } else {
      values[k] = {(*node.layer)(args[0], training)};
    }
  }
  std::vector<Tensor> out;
  for (const auto& o : g.outputs) out.push_back(values[g.position.at(o.node().get())][o.index()]);
  return out;
}

}  // namespace functional

using functional::Graph;
using functional::Node;

Model::Model() : name_(layers::unique_name("model")) {}

Model::Model(std::string name) : name_(name.empty() ? layers::unique_name("model") : std::move(name)) {}

Model::Model(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs, std::string name)
    : Model(std::move(name)) {
  graph_ = std::make_shared<const Graph>(functional::make_graph(name_, std::move(inputs), std::move(outputs)));
}

Model::Model(const SymbolicTensor& input, const SymbolicTensor& output, std::string name)
    : Model(std::vector<SymbolicTensor>{input}, std::vector<SymbolicTensor>{output}, std::move(name)) {}

const std::vector<SymbolicTensor>& Model::inputs() const {
  if (!graph_) throw Error("model '" + name_ + "' is not a functional model: it has no symbolic inputs");
  return graph_->inputs;
}

const std::vector<SymbolicTensor>& Model::outputs() const {
  if (!graph_) throw Error("model '" + name_ + "' is not a functional model: it has no symbolic outputs");
  return graph_->outputs;
}

std::vector<std::string> Model::output_names() const {
  std::vector<std::string> names;
  for (const SymbolicTensor& t : outputs()) names.push_back(t.node()->name());
  return names;
}

Tensor Model::call(const Tensor& x, bool training) {
  if (!graph_) {
    throw Error("model '" + name_ +
                "' has no forward pass: build it from inputs and outputs (kiln::Model(inputs, outputs)) or "
                "override call() in a subclass");
  }
  if (graph_->inputs.size() != 1 || graph_->outputs.size() != 1) {
    throw Error("model '" + name_ + "' has " + std::to_string(graph_->inputs.size()) + " inputs and " +
                std::to_string(graph_->outputs.size()) + " outputs; call it with a list of tensors");
  }
  return functional::run_graph(*graph_, name_, {x}, training, layer_fusion_)[0];
}

std::vector<Tensor> Model::call_multi(const std::vector<Tensor>& inputs, bool training) {
  if (graph_) return functional::run_graph(*graph_, name_, inputs, training, layer_fusion_);
  if (inputs.size() != 1) {
    throw Error("model '" + name_ + "' takes one input, got " + std::to_string(inputs.size()) +
                " (override call_multi() for several)");
  }
  return {call(inputs[0], training)};
}

std::vector<Shape> Model::compute_output_shapes(const std::vector<Shape>& input_shapes) {
  if (graph_) {
    if (input_shapes.size() != graph_->inputs.size()) {
      throw Error("it takes " + std::to_string(graph_->inputs.size()) + " inputs, got " +
                  std::to_string(input_shapes.size()));
    }
    for (std::size_t i = 0; i < input_shapes.size(); ++i) {
      const Node& in = *graph_->inputs[i].node();
      if (input_shapes[i] != in.output_shapes[0]) {
        throw Error("its input '" + in.input_name + "' takes [batch" +
                    (in.output_shapes[0].empty() ? std::string("]") : ", " + shape_str(in.output_shapes[0]).substr(1)) +
                    ", got [batch" +
                    (input_shapes[i].empty() ? std::string("]") : ", " + shape_str(input_shapes[i]).substr(1)));
      }
    }
    std::vector<Shape> out;
    for (const auto& o : graph_->outputs) out.push_back(o.shape());
    return out;
  }
  // A subclass: run one zero sample through it.
  NoGradGuard no_grad;
  std::vector<Tensor> probe;
  for (const auto& s : input_shapes) {
    Shape batch{1};
    batch.insert(batch.end(), s.begin(), s.end());
    probe.push_back(Tensor::zeros(batch));
  }
  std::vector<Shape> out;
  for (const Tensor& t : call_multi(probe, false)) out.emplace_back(t.shape().begin() + 1, t.shape().end());
  return out;
}

std::vector<std::shared_ptr<layers::Layer>> Model::layers() const {
  std::vector<std::shared_ptr<layers::Layer>> out;
  if (!graph_) return out;
  std::unordered_set<const layers::Layer*> seen;
  auto add = [&](const std::shared_ptr<layers::Layer>& l) {
    if (seen.insert(l.get()).second) out.push_back(l);
  };
  for (const auto& node : graph_->order) {
    if (node->layer) add(node->layer);
    if (node->model) {
      for (const auto& l : node->model->layers()) add(l);
    }
  }
  return out;
}

void Model::set_trainable(bool trainable) {
  trainable_ = trainable;
  for (const auto& layer : layers()) layer->set_trainable(trainable);
}

namespace {

using model_detail::keras_shape;
using model_detail::pad;
using model_detail::with_commas;

std::int64_t trainable_count(const std::vector<std::shared_ptr<layers::Layer>>& ls) {
  std::int64_t n = 0;
  for (const auto& l : ls) n += l->count_trainable_params();
  return n;
}

std::int64_t total_count(const std::vector<std::shared_ptr<layers::Layer>>& ls) {
  std::int64_t n = 0;
  for (const auto& l : ls) n += l->count_params();
  return n;
}

}  // namespace

void Model::summary(std::ostream& out) const {
  const auto all_layers = layers();
  struct Row {
    std::string name, shape, params, connected;
  };
  std::vector<Row> rows;
  if (graph_) {
    // One row per layer or model, in running order; a shared one lists every call.
    std::map<const void*, std::size_t> row_of;
    std::map<const Node*, int> call_index;  // Keras's 'name[call][output]'
    std::map<std::string, int> calls;
    for (const auto& node : graph_->order) {
      call_index[node.get()] = calls[node->name()]++;
      const void* key = node->layer ? static_cast<const void*>(node->layer.get())
                        : node->model ? static_cast<const void*>(node->model.get())
                                      : static_cast<const void*>(node.get());
      std::string shape = node->output_shapes.size() == 1 ? keras_shape(node->output_shapes[0]) : "multiple";
      if (node->is_input()) shape = "[" + shape + "]";
      std::string from;
      for (const auto& in : node->inputs) {
        from += (from.empty() ? "'" : ", '") + in.node()->name() + "[" + std::to_string(call_index.at(in.node().get())) +
                "][" + std::to_string(in.index()) + "]'";
      }
      auto [it, inserted] = row_of.emplace(key, rows.size());
      if (!inserted) {
        Row& row = rows[it->second];
        if (row.shape != shape) row.shape = "multiple";
        row.connected += ", " + from;
        continue;
      }
      std::string type = node->layer ? node->layer->type() : node->model ? node->model->class_name() : "InputLayer";
      std::int64_t params = node->layer ? node->layer->count_params() : node->model ? node->model->count_params() : 0;
      rows.push_back({" " + node->name() + " (" + type + ")", shape, with_commas(params), from});
    }
    for (auto& row : rows) row.connected = "[" + row.connected + "]";
  } else {
    for (const auto& l : all_layers) {
      rows.push_back({" " + l->name() + " (" + l->type() + ")", l->built() ? keras_shape(l->output_shape()) : "(unbuilt)",
                      with_commas(l->count_params()), ""});
    }
  }
  std::size_t name_width = 29, shape_width = 26;
  for (const auto& r : rows) {
    name_width = std::max(name_width, r.name.size() + 2);
    shape_width = std::max(shape_width, r.shape.size() + 2);
  }
  const std::size_t params_width = 12;
  const bool connections = graph_ != nullptr;
  std::size_t total = name_width + shape_width + params_width;
  if (connections) {
    std::size_t widest = 12;
    for (const auto& r : rows) widest = std::max(widest, r.connected.size());
    total += widest;
  }
  const std::string rule(total, '_'), double_rule(total, '=');
  out << "Model: \"" << name_ << "\"\n" << rule << "\n";
  out << pad(" Layer (type)", name_width) << pad("Output Shape", shape_width)
      << (connections ? pad("Param #", params_width) + "Connected to" : "Param #") << "\n"
      << double_rule << "\n";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    out << pad(r.name, name_width) << pad(r.shape, shape_width)
        << (connections ? pad(r.params, params_width) + r.connected : r.params) << "\n";
    if (i + 1 < rows.size()) out << "\n";
  }
  const std::int64_t all = total_count(all_layers), trainable = trainable_count(all_layers);
  out << double_rule << "\n";
  out << "Total params: " << with_commas(all) << "\n";
  out << "Trainable params: " << with_commas(trainable) << "\n";
  out << "Non-trainable params: " << with_commas(all - trainable) << "\n" << rule << "\n";
}

std::string Model::class_name() const { return is_functional() ? "Functional" : "Model"; }

nlohmann::json Model::get_config() const {
  using json = nlohmann::json;
  if (!graph_) {
    throw Error("model '" + name_ +
                "' is a subclass with its own call(); only Sequential and functional models can describe their "
                "architecture with get_config()");
  }
  // Keras's format: each layer once, with one inbound node per call; a
  // tensor is referred to as [layer name, call index, output index].
  std::map<const Node*, int> call_index;
  std::map<std::string, int> calls;
  json layers = json::array();
  std::map<std::string, std::size_t> entry_of;
  for (const auto& node : graph_->order) {
    const std::string name = node->name();
    call_index[node.get()] = calls[name]++;
    json inbound = json::array();
    for (const auto& in : node->inputs) {
      inbound.push_back(json::array({in.node()->name(), call_index.at(in.node().get()), in.index(), json::object()}));
    }
    auto it = entry_of.find(name);
    if (it != entry_of.end()) {
      layers[it->second]["inbound_nodes"].push_back(inbound);
      continue;
    }
    json entry;
    entry["name"] = name;
    if (node->is_input()) {
      json shape = json::array({nullptr});
      for (auto d : node->output_shapes[0]) shape.push_back(d);
      entry["class_name"] = "InputLayer";
      entry["config"] = {{"name", name}, {"batch_input_shape", shape}, {"dtype", dtype_name(node->dtype)}};
      entry["inbound_nodes"] = json::array();
    } else {
      entry["class_name"] = node->layer ? node->layer->type() : node->model->class_name();
      entry["config"] = node->layer ? node->layer->get_config() : node->model->get_config();
      entry["inbound_nodes"] = json::array({inbound});
    }
    entry_of[name] = layers.size();
    layers.push_back(entry);
  }
  auto refs = [&](const std::vector<SymbolicTensor>& ts) {
    json out = json::array();
    for (const auto& t : ts) out.push_back(json::array({t.node()->name(), call_index.at(t.node().get()), t.index()}));
    return out;
  };
  return {{"name", name_}, {"layers", layers}, {"input_layers", refs(graph_->inputs)},
          {"output_layers", refs(graph_->outputs)}};
}

}  // namespace kiln
