// Recording calls on symbolic tensors: Input, a layer's call, a merge layer's
// call and a nested model's call each add one node to the graph.
#include <nlohmann/json.hpp>

#include "kiln/autograd.hpp"
#include "kiln/error.hpp"
#include "kiln/layers/merging.hpp"
#include "model/graph.hpp"

namespace kiln {
namespace {

std::string describe_layer(const layers::Layer& layer) { return layer.type() + " '" + layer.name() + "'"; }

// The layer as a shared_ptr the graph can keep. A layer a std::shared_ptr
// owns is used itself (so calling it twice shares its weights). A temporary —
// Dense(64)(x) — is rebuilt from its config, which captures everything but the
// weights, and a built one gets its weights' values too: no one else can see
// a temporary, so the copy is indistinguishable from it.
std::shared_ptr<layers::Layer> graph_owned(layers::Layer& layer, bool temporary) {
  if (auto self = layer.weak_from_this().lock()) return self;
  if (!temporary) {
    throw Error(describe_layer(layer) +
                " is called on a symbolic tensor but is not owned by a std::shared_ptr, so a model could outlive "
                "it; call a temporary (" +
                layer.type() + "(...)(x)) or create it with std::make_shared<" + layer.type() + ">(...)");
  }
  std::shared_ptr<layers::Layer> copy;
  try {
    copy = layers::layer_from_config(layer.type(), layer.get_config());
  } catch (const Error& e) {
    throw Error(describe_layer(layer) + " cannot be moved into a model (" + e.what() +
                "); create it with std::make_shared and call it through the pointer");
  }
  if (layer.built()) {
    copy->build(layer.input_shape());
    for (std::size_t i = 0; i < layer.weights().size(); ++i) {
      Tensor value = copy->weights()[i].value;
      value.copy_(layer.weights()[i].value);
    }
  }
  return copy;
}

void check_symbolic(const SymbolicTensor& x, const std::string& who) {
  if (!x.defined()) throw Error(who + ": called on an undefined symbolic tensor");
}

std::shared_ptr<functional::Node> make_node(std::shared_ptr<layers::Layer> layer, std::shared_ptr<Model> model,
                                            std::vector<SymbolicTensor> inputs, std::vector<Shape> shapes,
                                            DType dtype) {
  auto node = std::make_shared<functional::Node>();
  node->layer = std::move(layer);
  node->model = std::move(model);
  node->inputs = std::move(inputs);
  node->output_shapes = std::move(shapes);
  node->dtype = dtype;
  return node;
}

SymbolicTensor call_layer(std::shared_ptr<layers::Layer> layer, const SymbolicTensor& x) {
  const std::string who = describe_layer(*layer);
  check_symbolic(x, who);
  if (!layer->takes_dtype(x.dtype())) {
    throw Error(who + ": expected " + dtype_name(layer->dtype()) + " input, got " + dtype_name(x.dtype()) + " from " +
                x.describe());
  }
  Shape out;
  try {
    layer->build(x.shape());
    out = layer->compute_output_shape(x.shape());
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (called on " + x.describe() + ", shape [batch, " +
                (x.shape().empty() ? std::string("]") : shape_str(x.shape()).substr(1)) + ")");
  }
  const DType dtype = layer->dtype();
  return {make_node(std::move(layer), nullptr, {x}, {out}, dtype), 0};
}

SymbolicTensor call_merge(std::shared_ptr<layers::Layer> layer, const std::vector<SymbolicTensor>& xs) {
  auto* merge = static_cast<layers::MergeLayer*>(layer.get());
  const std::string who = describe_layer(*layer);
  std::vector<Shape> shapes;
  std::string sources;
  for (const auto& x : xs) {
    check_symbolic(x, who);
    if (!layer->accepts_dtype(x.dtype())) {
      throw Error(who + ": expected " + dtype_name(layer->dtype()) + " inputs, got " + dtype_name(x.dtype()) +
                  " from " + x.describe());
    }
    shapes.push_back(x.shape());
    sources += (sources.empty() ? "" : ", ") + x.describe() + " " + shape_str(x.shape());
  }
  Shape out;
  try {
    out = merge->compute_output_shape(shapes);
    merge->build_inputs(shapes);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (called on " + sources + ")");
  }
  const DType dtype = layer->dtype();
  return {make_node(std::move(layer), nullptr, xs, {out}, dtype), 0};
}

}  // namespace

namespace functional {

std::string Node::name() const {
  if (layer) return layer->name();
  if (model) return model->name();
  return input_name;
}

std::string Node::describe() const {
  if (layer) return describe_layer(*layer);
  if (model) return "model '" + model->name() + "'";
  return "Input '" + input_name + "'";
}

}  // namespace functional

SymbolicTensor::SymbolicTensor(std::shared_ptr<functional::Node> node, int index)
    : node_(std::move(node)), index_(index) {}

const Shape& SymbolicTensor::shape() const {
  if (!node_) throw Error("SymbolicTensor: undefined");
  return node_->output_shapes.at(static_cast<std::size_t>(index_));
}

DType SymbolicTensor::dtype() const {
  if (!node_) throw Error("SymbolicTensor: undefined");
  return node_->dtype;
}

std::string SymbolicTensor::describe() const {
  if (!node_) return "an undefined symbolic tensor";
  const std::string what = node_->describe();
  if (node_->is_input()) return what;
  if (node_->output_shapes.size() > 1) return "output " + std::to_string(index_) + " of " + what;
  return "the output of " + what;
}

SymbolicTensor Input(Shape shape, std::string name, DType dtype) {
  for (auto d : shape) {
    if (d <= 0) throw Error("Input: shape " + shape_str(shape) + " must have positive sizes (the batch axis is left out)");
  }
  if (!is_floating(dtype) && dtype != DType::Int64 && dtype != DType::Int32 && dtype != DType::UInt8) {
    throw Error(std::string("Input: unsupported dtype ") + dtype_name(dtype));
  }
  auto node = std::make_shared<functional::Node>();
  node->input_name = name.empty() ? layers::unique_name("input") : std::move(name);
  node->output_shapes = {std::move(shape)};
  node->dtype = dtype;
  return {std::move(node), 0};
}

namespace layers {

SymbolicTensor Layer::operator()(const SymbolicTensor& x) & { return call_layer(graph_owned(*this, false), x); }
SymbolicTensor Layer::operator()(const SymbolicTensor& x) && { return call_layer(graph_owned(*this, true), x); }

SymbolicTensor MergeLayer::operator()(const std::vector<SymbolicTensor>& xs) & {
  return call_merge(graph_owned(*this, false), xs);
}
SymbolicTensor MergeLayer::operator()(const std::vector<SymbolicTensor>& xs) && {
  return call_merge(graph_owned(*this, true), xs);
}

}  // namespace layers

SymbolicTensor Model::operator()(const SymbolicTensor& x) {
  auto outs = (*this)(std::vector<SymbolicTensor>{x});
  if (outs.size() != 1) {
    throw Error("model '" + name() + "' has " + std::to_string(outs.size()) +
                " outputs; call it with a list to get them all");
  }
  return outs[0];
}

std::vector<SymbolicTensor> Model::operator()(const std::vector<SymbolicTensor>& xs) {
  auto self = weak_from_this().lock();
  if (!self) {
    throw Error("model '" + name() +
                "' is called on a symbolic tensor but is not owned by a std::shared_ptr, so the enclosing model could "
                "outlive it; create it with std::make_shared");
  }
  std::vector<Shape> shapes;
  std::string sources;
  for (const auto& x : xs) {
    check_symbolic(x, "model '" + name() + "'");
    shapes.push_back(x.shape());
    sources += (sources.empty() ? "" : ", ") + x.describe() + " [batch, " +
               (x.shape().empty() ? std::string("]") : shape_str(x.shape()).substr(1));
  }
  std::vector<Shape> outs;
  try {
    outs = compute_output_shapes(shapes);
  } catch (const Error& e) {
    throw Error("model '" + name() + "' cannot take " + sources + ": " + e.what());
  }
  auto node = make_node(nullptr, self, xs, outs, xs.empty() ? DType::Float32 : xs[0].dtype());
  std::vector<SymbolicTensor> result;
  for (std::size_t i = 0; i < outs.size(); ++i) result.emplace_back(node, static_cast<int>(i));
  return result;
}

}  // namespace kiln
