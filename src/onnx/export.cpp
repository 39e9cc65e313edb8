// Kiln model -> ONNX graph (kiln/onnx.hpp).
//
// Every Kiln tensor is NHWC; ONNX's Conv, ConvTranspose, pooling and BatchNormalization are
// NCHW. Each value of the graph is therefore kept in up to two layouts: "plain" (Kiln's, which
// the model's inputs and outputs use) and, for 4-D values, "channels first". A layer asks for
// the layout it needs and gets a Transpose only when that layout does not exist yet, so a CNN
// has one Transpose after its input and one before Flatten; elementwise layers work in
// whichever layout their input already has.
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "kiln/error.hpp"
#include "kiln/io/files.hpp"
#include "kiln/layers/bidirectional.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/layers/merging.hpp"
#include "kiln/layers/time_distributed.hpp"
#include "kiln/onnx.hpp"
#include "kiln/sequential.hpp"
#include "kiln/version.hpp"
#include "onnx/proto.hpp"
#include "onnx/same_padding.hpp"

namespace kiln {
namespace {

using json = nlohmann::json;
using namespace onnx_detail;

struct Value {
  Shape shape;  // per sample, Kiln's layout
  DType dtype = DType::Float32;
  std::string plain, channels_first;  // ONNX value names; empty when not made (yet)
};

std::vector<std::int64_t> pair_of(const json& j) { return {j.at(0).get<std::int64_t>(), j.at(1).get<std::int64_t>()}; }

class Exporter {
 public:
  explicit Exporter(const OnnxExportOptions& options) : options_(options) {
    if (options.opset < 13 || options.opset > 17) {
      throw Error("export_onnx: opset must be from 13 to 17, got " + std::to_string(options.opset));
    }
    proto_.set_ir_version(8);
    proto_.set_producer_name("kiln");
    proto_.set_producer_version(version());
    auto* opset = proto_.add_opset_import();
    opset->set_domain("");
    opset->set_version(options.opset);
    graph_ = proto_.mutable_graph();
  }

  std::string run(const Model& model) {
    graph_->set_name(model.name());
    if (const auto* sequential = dynamic_cast<const Sequential*>(&model)) {
      export_sequential(*sequential);
    } else if (model.is_functional()) {
      export_functional(model);
    } else {
      throw Error("export_onnx: model '" + model.name() +
                  "' is a subclass with its own call(); only Sequential and functional models can be exported");
    }
    std::string bytes;
    if (!proto_.SerializeToString(&bytes)) throw Error("export_onnx: model '" + model.name() + "' did not serialize");
    return bytes;
  }

 private:
  void export_sequential(const Sequential& model) {
    if (!model.built()) {
      throw Error("export_onnx: Sequential '" + model.name() +
                  "' is not built; give its first layer an input_shape or call build() first");
    }
    const auto layers = model.layers();
    // Token ids (Embedding and the like) go in as int64, everything else as the first layer's float type.
    DType dtype = DType::Float32;
    if (!layers.empty()) dtype = layers[0]->takes_dtype(layers[0]->dtype()) ? layers[0]->dtype() : DType::Int64;
    Value v = add_input("input", model.input_shape(), dtype);
    for (const auto& layer : layers) v = export_call(*layer, {&v}, layer->name())[0];
    add_output(v);
  }

  void export_functional(const Model& model) {
    const json config = model.get_config();
    std::map<std::string, Value> values;  // "layer:call:index"
    auto key = [](const json& ref) {
      return ref.at(0).get<std::string>() + ":" + std::to_string(ref.at(1).get<int>()) + ":" +
             std::to_string(ref.at(2).get<int>());
    };
    // Layers appear in the order of their first call; a shared layer's later calls are
    // further inbound nodes, so the graph is walked by node, in dependency order.
    struct Call {
      std::string layer;
      int index;
      json inbound;
    };
    std::vector<Call> pending;
    for (const auto& entry : config.at("layers")) {
      const std::string name = entry.at("name");
      const std::string cls = entry.at("class_name");
      if (cls == "InputLayer") {
        const json& c = entry.at("config");
        Shape shape;
        for (std::size_t i = 1; i < c.at("batch_input_shape").size(); ++i) {
          shape.push_back(c.at("batch_input_shape")[i].get<std::int64_t>());
        }
        DType dtype = DType::Float32;
        const std::string d = c.value("dtype", "float32");
        if (d == "int32") dtype = DType::Int32;
        if (d == "int64") dtype = DType::Int64;
        if (d == "float64") dtype = DType::Float64;
        values[name + ":0:0"] = add_input(name, shape, dtype);
        continue;
      }
      if (cls == "Sequential" || cls == "Functional") {
        throw Error("export_onnx: model '" + model.name() + "' nests " + cls + " '" + name +
                    "'; nested models are not exported (rebuild the model with the inner model's layers)");
      }
      int index = 0;
      for (const auto& inbound : entry.at("inbound_nodes")) pending.push_back({name, index++, inbound});
    }
    std::set<std::size_t> done;
    while (done.size() < pending.size()) {
      bool progress = false;
      for (std::size_t i = 0; i < pending.size(); ++i) {
        if (done.count(i)) continue;
        const Call& call = pending[i];
        std::vector<Value*> inputs;  // the stored values, so a Transpose made for one reader serves the next
        bool ready = true;
        for (const auto& ref : call.inbound) {
          auto it = values.find(key(ref));
          if (it == values.end()) {
            ready = false;
            break;
          }
          inputs.push_back(&it->second);
        }
        if (!ready) continue;
        const auto layer = model.get_layer(call.layer);
        const std::string prefix = call.index == 0 ? call.layer : call.layer + "_" + std::to_string(call.index);
        const auto outputs = export_call(*layer, inputs, prefix);
        for (std::size_t o = 0; o < outputs.size(); ++o) {
          values[call.layer + ":" + std::to_string(call.index) + ":" + std::to_string(o)] = outputs[o];
        }
        done.insert(i);
        progress = true;
      }
      if (!progress)
        throw Error("export_onnx: model '" + model.name() + "': its graph has a call whose inputs are missing");
    }
    for (const auto& ref : config.at("output_layers")) add_output(values.at(key(ref)));
  }

  Value add_input(const std::string& name, const Shape& shape, DType dtype) {
    used_.insert(name);
    auto* in = graph_->add_input();
    in->set_name(name);
    auto* t = in->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx_type(dtype));
    auto* s = t->mutable_shape();
    s->add_dim()->set_dim_param("batch");
    for (auto d : shape) s->add_dim()->set_dim_value(d);
    return Value{shape, dtype, name, ""};
  }

  void add_output(Value& v) {
    std::string name = plain(v);
    // A graph output must be a node's output and appear once; an Identity gives it its own name.
    if (outputs_.count(name) || is_graph_input(name)) name = node("Identity", {name}, name + "/output");
    outputs_.insert(name);
    auto* out = graph_->add_output();
    out->set_name(name);
    auto* t = out->mutable_type()->mutable_tensor_type();
    t->set_elem_type(onnx_type(v.dtype));
    auto* s = t->mutable_shape();
    s->add_dim()->set_dim_param("batch");
    for (auto d : v.shape) s->add_dim()->set_dim_value(d);
  }

  bool is_graph_input(const std::string& name) const {
    for (const auto& in : graph_->input()) {
      if (in.name() == name) return true;
    }
    return false;
  }

  // Adds a node with one output called `output` (made unique) and returns that name.
  std::string node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output,
                   onnx::NodeProto** made = nullptr) {
    auto* n = graph_->add_node();
    n->set_op_type(op);
    const std::string name = unique(output);
    n->set_name(name);
    for (const auto& i : inputs) n->add_input(i);
    n->add_output(name);
    if (made) *made = n;
    return name;
  }

  std::string unique(const std::string& name) {
    std::string candidate = name;
    for (int i = 1; used_.count(candidate); ++i) candidate = name + "_" + std::to_string(i);
    used_.insert(candidate);
    return candidate;
  }

  std::string initializer(const std::string& name, const Tensor& value) {
    const std::string unique_name = unique(name);
    fill_tensor(*graph_->add_initializer(), unique_name, value);
    return unique_name;
  }

  std::string ints_constant(const std::string& name, const std::vector<std::int64_t>& values) {
    return initializer(name, Tensor::from_vector(values, {static_cast<std::int64_t>(values.size())}));
  }

  // The value in Kiln's layout (a Transpose from channels first when only that exists).
  std::string plain(Value& v) {
    if (v.plain.empty()) {
      onnx::NodeProto* n;
      const bool image = v.shape.size() == 3;
      v.plain = node("Transpose", {v.channels_first}, v.channels_first + (image ? "/nhwc" : "/nwc"), &n);
      add_ints(*n, "perm", image ? std::vector<std::int64_t>{0, 2, 3, 1} : std::vector<std::int64_t>{0, 2, 1});
    }
    return v.plain;
  }

  // Images [H, W, C] as NCHW, sequences [T, C] as NCT (ONNX's Conv, pooling and friends).
  std::string channels_first(Value& v) {
    if (v.channels_first.empty()) {
      if (v.shape.size() != 2 && v.shape.size() != 3) {
        throw Error("export_onnx: internal: no channels-first layout for a value of rank " +
                    std::to_string(v.shape.size() + 1));
      }
      onnx::NodeProto* n;
      const bool image = v.shape.size() == 3;
      v.channels_first = node("Transpose", {v.plain}, v.plain + (image ? "/nchw" : "/nct"), &n);
      add_ints(*n, "perm", image ? std::vector<std::int64_t>{0, 3, 1, 2} : std::vector<std::int64_t>{0, 2, 1});
    }
    return v.channels_first;
  }

  // Where Keras's axis `axis` (the batch is 0; negative from the end) of a value of `rank` axes
  // (with the batch) is in the channels-first layout: the channels move to 1, the others one on.
  static int channels_first_axis(int axis, int rank) {
    if (axis < 0) axis += rank;
    if (axis == 0) return 0;
    return axis == rank - 1 ? 1 : axis + 1;
  }

  static int positive_axis(int axis, int rank) { return axis < 0 ? axis + rank : axis; }

  std::string scalar_constant(const std::string& name, double value, DType dtype) {
    return initializer(name, Tensor::scalar(value, dtype));
  }

  // A value made in one layout; `shape` is per sample in Kiln's layout.
  static Value made(const Shape& shape, DType dtype, const std::string& name, bool is_channels_first) {
    Value v{shape, dtype, "", ""};
    (is_channels_first ? v.channels_first : v.plain) = name;
    return v;
  }

  // Elementwise work happens in the layout the input already has (channels first preferred).
  std::pair<std::string, bool> any_layout(Value& v) {
    if (!v.channels_first.empty()) return {v.channels_first, true};
    return {v.plain, false};
  }

  Value activation(const std::string& name, const Value& in, const std::string& where, const std::string& prefix) {
    if (name.empty() || name == "linear") return in;
    Value v = in;
    auto [x, first] = any_layout(v);
    return made(in.shape, in.dtype, activation_on(name, x, first ? 1 : -1, in.dtype, where, prefix), first);
  }

  // Keras's activation `name` of x (channels on `channel_axis`) in the standard operators of
  // opsets 13 to 17: those without an operator of their own there (gelu, silu, mish, hard_silu)
  // as their formulas.
  std::string activation_on(const std::string& name, const std::string& x, int channel_axis, DType dtype,
                            const std::string& where, const std::string& prefix) {
    onnx::NodeProto* n;
    const std::string at = prefix + "/" + name;
    auto constant = [&](const std::string& what, double value) {
      return scalar_constant(at + "/" + what, value, dtype);
    };
    if (name == "relu") return node("Relu", {x}, at);
    if (name == "sigmoid") return node("Sigmoid", {x}, at);
    if (name == "tanh") return node("Tanh", {x}, at);
    if (name == "exponential") return node("Exp", {x}, at);
    if (name == "softplus") return node("Softplus", {x}, at);
    if (name == "softsign") return node("Softsign", {x}, at);
    if (name == "leaky_relu") {
      const std::string y = node("LeakyRelu", {x}, at, &n);
      add_float(*n, "alpha", 0.3f);  // Kiln's (and Keras 2's) default slope
      return y;
    }
    if (name == "softmax" || name == "log_softmax") {
      const std::string y = node(name == "softmax" ? "Softmax" : "LogSoftmax", {x}, at, &n);
      add_int(*n, "axis", channel_axis);
      return y;
    }
    if (name == "elu") {
      const std::string y = node("Elu", {x}, at, &n);
      add_float(*n, "alpha", 1.0f);
      return y;
    }
    if (name == "selu") {
      // Keras's constants (ONNX's defaults differ from them in the last float digits).
      const std::string y = node("Selu", {x}, at, &n);
      add_float(*n, "alpha", 1.6732632423543772f);
      add_float(*n, "gamma", 1.0507009873554805f);
      return y;
    }
    if (name == "hard_sigmoid" || name == "hard_silu" || name == "hard_swish") {
      // relu6(x + 3) / 6 is max(0, min(1, x / 6 + 0.5)): HardSigmoid with alpha 1/6, beta 1/2.
      const std::string y = node("HardSigmoid", {x}, name == "hard_sigmoid" ? at : at + "/hard_sigmoid", &n);
      add_float(*n, "alpha", 1.0f / 6.0f);
      add_float(*n, "beta", 0.5f);
      return name == "hard_sigmoid" ? y : node("Mul", {x, y}, at);
    }
    if (name == "relu6") return node("Clip", {x, constant("min", 0.0), constant("max", 6.0)}, at);
    if (name == "silu" || name == "swish") return node("Mul", {x, node("Sigmoid", {x}, at + "/sigmoid")}, at);
    if (name == "mish") {
      // x * tanh(softplus(x)); ONNX's Mish operator came with opset 18.
      const std::string t = node("Tanh", {node("Softplus", {x}, at + "/softplus")}, at + "/tanh");
      return node("Mul", {x, t}, at);
    }
    if (name == "gelu") {
      // Keras's default, exact gelu: x / 2 * (1 + erf(x / sqrt(2))); ONNX's Gelu came with opset 20.
      const std::string e =
          node("Erf", {node("Div", {x, constant("sqrt2", std::sqrt(2.0))}, at + "/scaled")}, at + "/erf");
      const std::string one_plus = node("Add", {e, constant("one", 1.0)}, at + "/one_plus");
      return node("Mul", {node("Mul", {x, constant("half", 0.5)}, at + "/half"), one_plus}, at);
    }
    throw Error("export_onnx: " + where + ": activation '" + name + "' has no ONNX form here");
  }

  static Tensor weight(const layers::Layer& layer, const std::string& name) {
    for (const auto& w : layer.weights()) {
      if (w.name == name) return w.value.detach().contiguous();
    }
    return Tensor();
  }

  // Keras's kernel [kh, kw, a, b] -> ONNX's [b, a, kh, kw]: Conv2D's [kh, kw, in, out] becomes
  // Conv's [out, in, kh, kw], and Conv2DTranspose's [kh, kw, filters, in] ConvTranspose's
  // [in, filters, kh, kw].
  static Tensor kernel_to_onnx(const Tensor& k) {
    const auto kh = k.size(0), kw = k.size(1), a = k.size(2), b = k.size(3);
    const auto src = k.to(DType::Float64).to_vector<double>();
    std::vector<double> dst(src.size());
    for (std::int64_t y = 0; y < kh; ++y)
      for (std::int64_t x = 0; x < kw; ++x)
        for (std::int64_t i = 0; i < a; ++i)
          for (std::int64_t o = 0; o < b; ++o) {
            const double value = src[((y * kw + x) * a + i) * b + o];
            const std::int64_t at = ((o * a + i) * kh + y) * kw + x;
            dst[at] = value;
          }
    return Tensor::from_vector(dst, {b, a, kh, kw}).to(k.dtype());
  }

  // ONNX's pads (all begins, then all ends) for Keras's padding over the spatial axes of
  // `input` (per sample, channels last); empty for "valid".
  static std::vector<std::int64_t> pads_for(const std::string& who, const std::string& padding,
                                            const std::vector<std::int64_t>& kernel,
                                            const std::vector<std::int64_t>& strides,
                                            const std::vector<std::int64_t>& dilations, const Shape& input) {
    if (padding == "valid") return {};
    const std::size_t d = kernel.size();
    std::vector<std::int64_t> pads(2 * d, 0);
    for (std::size_t a = 0; a < d; ++a) {
      if (padding == "same") {
        std::tie(pads[a], pads[a + d]) = same_pads(input[a], kernel[a], strides[a], dilations[a]);
      } else if (padding == "causal") {
        pads[a] = dilations[a] * (kernel[a] - 1);  // all of it before the first step
      } else {
        throw Error("export_onnx: " + who + ": padding " + padding);
      }
    }
    return pads;
  }

  void spatial_pads(const layers::Layer& layer, const json& c, const std::vector<std::int64_t>& kernel,
                    const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& dilations,
                    const Shape& input, onnx::NodeProto& n) {
    const auto pads =
        pads_for(layer.type() + " '" + layer.name() + "'", c.at("padding"), kernel, strides, dilations, input);
    if (!pads.empty()) add_ints(n, "pads", pads);
  }

  // A Conv node on the channels-first `x`; `w` is already ONNX's [out, in / group, kernel...].
  std::string conv(const std::string& x, const Tensor& w, const Tensor& bias, const std::vector<std::int64_t>& kernel,
                   const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& dilations,
                   const std::vector<std::int64_t>& pads, std::int64_t group, const std::string& prefix) {
    std::vector<std::string> args{x, initializer(prefix + "/kernel", w)};
    if (bias.defined()) args.push_back(initializer(prefix + "/bias", bias));
    onnx::NodeProto* n;
    const std::string y = node("Conv", args, prefix + "/conv", &n);
    add_ints(*n, "kernel_shape", kernel);
    add_ints(*n, "strides", strides);
    add_ints(*n, "dilations", dilations);
    if (!pads.empty()) add_ints(*n, "pads", pads);
    if (group != 1) add_int(*n, "group", group);
    return y;
  }

  // Keras's depthwise kernel [kh, kw, C, m] as ONNX's [C * m, 1, kh, kw] (output channel c * m + j, as Keras).
  static Tensor depthwise_to_onnx(const Tensor& k) {
    return kernel_to_onnx(k.reshape({k.size(0), k.size(1), 1, k.size(2) * k.size(3)}));
  }

  static std::vector<std::int64_t> ints_of(const json& j) {
    if (j.is_number()) return {j.get<std::int64_t>()};
    std::vector<std::int64_t> out;
    for (const auto& e : j) out.push_back(e.get<std::int64_t>());
    return out;
  }

  std::vector<Value> export_call(const layers::Layer& layer, const std::vector<Value*>& in, const std::string& prefix) {
    const std::string& type = layer.type();
    if ((type == "SimpleRNN" || type == "LSTM" || type == "GRU") && in.size() == 1 && layer.built()) {
      return recurrent(layer, *in[0], layer.get_config(), prefix);
    }
    if (type == "Bidirectional" && in.size() == 1 && layer.built()) return {bidirectional(layer, *in[0], prefix)};
    if (type == "TimeDistributed" && in.size() == 1 && layer.built()) return {time_distributed(layer, *in[0], prefix)};
    return {export_layer(layer, in, prefix)};
  }

  // Keras's kernel [features, G * units] -> ONNX's W [1, G * units, features], gate blocks
  // taken in `order` (ONNX's order of Keras's gates); the same for recurrent kernels.
  static Tensor gates_transposed(const Tensor& k, std::int64_t units, const std::vector<int>& order) {
    const std::int64_t rows = k.size(0), G = static_cast<std::int64_t>(order.size());
    const auto src = k.to(DType::Float64).to_vector<double>();
    std::vector<double> dst(src.size());
    for (std::int64_t g = 0; g < G; ++g)
      for (std::int64_t u = 0; u < units; ++u)
        for (std::int64_t r = 0; r < rows; ++r)
          dst[(g * units + u) * rows + r] = src[r * G * units + order[g] * units + u];
    return Tensor::from_vector(dst, {1, G * units, rows}).to(k.dtype());
  }

  static std::vector<double> gates_reordered(const std::vector<double>& b, std::int64_t units,
                                             const std::vector<int>& order) {
    std::vector<double> out;
    for (int g : order) out.insert(out.end(), b.begin() + g * units, b.begin() + (g + 1) * units);
    return out;
  }

  // SimpleRNN / LSTM / GRU as ONNX's RNN / LSTM / GRU (batch-major Kiln, time-major ONNX).
  // `in_time_order`: a go_backwards sequence in input order (Bidirectional's), not Keras's run order.
  std::vector<Value> recurrent(const layers::Layer& layer, Value& x, const json& c, const std::string& prefix,
                               bool in_time_order = false) {
    const std::string type = layer.type();
    const std::string who = type + " '" + layer.name() + "'";
    const std::int64_t units = c.at("units");
    const std::string activation = c.value("activation", "tanh");
    // ONNX's order of Keras's gates: LSTM i, o, f, c from Keras's i, f, c, o; GRU z, r, h in both.
    const std::vector<int> order = type == "LSTM"  ? std::vector<int>{0, 3, 1, 2}
                                   : type == "GRU" ? std::vector<int>{0, 1, 2}
                                                   : std::vector<int>{0};
    if (type != "SimpleRNN" && activation != "tanh") throw Error("export_onnx: " + who + ": activation must be tanh");
    if (activation != "tanh" && activation != "relu") throw Error("export_onnx: " + who + ": activation " + activation);
    const Tensor kernel = weight(layer, "kernel"), recurrent = weight(layer, "recurrent_kernel"),
                 bias = weight(layer, "bias");
    std::vector<std::string> args;
    onnx::NodeProto* n;
    const std::string xt = node("Transpose", {plain(x)}, prefix + "/time_major", &n);
    add_ints(*n, "perm", {1, 0, 2});
    args.push_back(xt);
    args.push_back(initializer(prefix + "/W", gates_transposed(kernel, units, order)));
    args.push_back(initializer(prefix + "/R", gates_transposed(recurrent, units, order)));
    if (bias.defined()) {
      const auto b = bias.to(DType::Float64).to_vector<double>();
      const std::size_t gu = order.size() * units;
      std::vector<double> wb(b.begin(), b.begin() + gu), rb(gu, 0.0);
      if (type == "GRU") rb.assign(b.begin() + gu, b.end());  // [2, 3 * units]: input bias, recurrent bias
      std::vector<double> all = gates_reordered(wb, units, order);
      const auto r = gates_reordered(rb, units, order);
      all.insert(all.end(), r.begin(), r.end());
      args.push_back(initializer(
          prefix + "/B", Tensor::from_vector(all, {1, static_cast<std::int64_t>(all.size())}).to(kernel.dtype())));
    }
    auto* rnn = graph_->add_node();
    rnn->set_op_type(type == "SimpleRNN" ? "RNN" : type);
    rnn->set_name(unique(prefix + "/" + (type == "SimpleRNN" ? "rnn" : type == "LSTM" ? "lstm" : "gru")));
    for (const auto& a : args) rnn->add_input(a);
    const std::string y = unique(prefix + "/Y"), h = unique(prefix + "/Y_h"), cs = unique(prefix + "/Y_c");
    rnn->add_output(y);
    rnn->add_output(h);
    if (type == "LSTM") rnn->add_output(cs);
    add_int(*rnn, "hidden_size", units);
    if (c.value("go_backwards", false)) add_string(*rnn, "direction", "reverse");
    if (type == "GRU") add_int(*rnn, "linear_before_reset", 1);  // Keras's reset_after = true
    if (type == "SimpleRNN") {
      auto* a = rnn->add_attribute();
      a->set_name("activations");
      a->set_type(onnx::AttributeProto::STRINGS);
      a->add_strings(activation == "relu" ? "Relu" : "Tanh");
    }
    const std::string squeeze_time = ints_constant(prefix + "/axis_1", {1}),
                      squeeze_dir = ints_constant(prefix + "/axis_0", {0});
    auto state = [&](const std::string& name, const std::string& what) {
      return made({units}, x.dtype, node("Squeeze", {name, squeeze_dir}, prefix + "/" + what), false);
    };
    std::vector<Value> out;
    const std::int64_t steps = x.shape[0];
    if (c.value("return_sequences", false)) {
      std::string seq = node("Squeeze", {y, squeeze_time}, prefix + "/sequence");  // [T, N, units]
      if (c.value("go_backwards", false) && !in_time_order) {
        // Keras returns the steps in the order it ran them (last input first); ONNX by input position.
        seq = node("Slice",
                   {seq, ints_constant(prefix + "/starts", {-1}),
                    ints_constant(prefix + "/ends", {std::numeric_limits<std::int64_t>::min()}),
                    ints_constant(prefix + "/axes", {0}), ints_constant(prefix + "/steps", {-1})},
                   prefix + "/reversed");
      }
      const std::string bt = node("Transpose", {seq}, prefix + "/batch_major", &n);
      add_ints(*n, "perm", {1, 0, 2});
      out.push_back(made({steps, units}, x.dtype, bt, false));
    } else {
      out.push_back(state(h, "h"));
    }
    if (c.value("return_state", false)) {
      out.push_back(state(h, "state_h"));
      if (type == "LSTM") out.push_back(state(cs, "state_c"));
    }
    return out;
  }

  Value export_layer(const layers::Layer& layer, const std::vector<Value*>& in, const std::string& prefix) {
    const std::string type = layer.type();
    const std::string who = type + " '" + layer.name() + "'";
    const json c = layer.get_config();
    const auto* merge = dynamic_cast<const layers::MergeLayer*>(&layer);
    if (!layer.built() && !merge) throw Error("export_onnx: " + who + " is not built");
    if (in.size() != 1 && !merge) {
      throw Error("export_onnx: " + who + " takes " + std::to_string(in.size()) + " inputs here; expected 1");
    }
    Value& x = *in[0];
    std::vector<Shape> in_shapes;
    for (const Value* v : in) in_shapes.push_back(v->shape);
    const Shape out_shape = merge ? merge->compute_output_shape(in_shapes) : layer.output_shape();
    onnx::NodeProto* n;

    if (type == "Dense") {
      const Tensor kernel = weight(layer, "kernel"), bias = weight(layer, "bias");
      const std::string k = initializer(prefix + "/kernel", kernel);
      std::string y;
      if (x.shape.size() == 1) {
        std::vector<std::string> args{plain(x), k};
        if (bias.defined()) args.push_back(initializer(prefix + "/bias", bias));
        y = node("Gemm", args, prefix + "/gemm");
      } else {
        y = node("MatMul", {plain(x), k}, prefix + "/matmul");
        if (bias.defined()) y = node("Add", {y, initializer(prefix + "/bias", bias)}, prefix + "/add");
      }
      return activation(c.at("activation"), made(out_shape, x.dtype, y, false), who, prefix);
    }
    if (type == "Conv2D" || type == "Conv2DTranspose") {
      const bool transpose = type == "Conv2DTranspose";
      const Tensor kernel = weight(layer, "kernel"), bias = weight(layer, "bias");
      const auto ks = pair_of(c.at("kernel_size")), strides = pair_of(c.at("strides"));
      const auto dilations = pair_of(c.at("dilation_rate"));
      std::vector<std::string> args{channels_first(x), initializer(prefix + "/kernel", kernel_to_onnx(kernel))};
      if (bias.defined()) args.push_back(initializer(prefix + "/bias", bias));
      const std::string y =
          node(transpose ? "ConvTranspose" : "Conv", args, prefix + (transpose ? "/conv_transpose" : "/conv"), &n);
      add_ints(*n, "kernel_shape", ks);
      add_ints(*n, "strides", strides);
      add_ints(*n, "dilations", dilations);
      if (!transpose) {
        spatial_pads(layer, c, ks, strides, dilations, x.shape, *n);
        if (const std::int64_t groups = c.value("groups", 1); groups != 1) add_int(*n, "group", groups);
      } else {
        // The adjoint of a convolution from out_shape: its pads, and output_padding for the
        // rows a strided convolution would have dropped.
        std::vector<std::int64_t> pads{0, 0, 0, 0}, extra{0, 0};
        for (int a = 0; a < 2; ++a) {
          std::int64_t before = 0, after = 0;
          if (c.at("padding") == "same")
            std::tie(before, after) = same_pads(out_shape[a], ks[a], strides[a], dilations[a]);
          pads[a] = before, pads[a + 2] = after;
          const std::int64_t full = strides[a] * (x.shape[a] - 1) + (ks[a] - 1) * dilations[a] + 1 - before - after;
          extra[a] = out_shape[a] - full;
        }
        add_ints(*n, "pads", pads);
        if (extra[0] || extra[1]) add_ints(*n, "output_padding", extra);
      }
      return activation(c.at("activation"), made(out_shape, x.dtype, y, true), who, prefix);
    }
    if (type == "MaxPooling2D" || type == "AveragePooling2D") {
      const auto ps = pair_of(c.at("pool_size")), strides = pair_of(c.at("strides"));
      const std::string y = node(type == "MaxPooling2D" ? "MaxPool" : "AveragePool", {channels_first(x)},
                                 prefix + (type == "MaxPooling2D" ? "/max_pool" : "/average_pool"), &n);
      add_ints(*n, "kernel_shape", ps);
      add_ints(*n, "strides", strides);
      // Keras's "same" average leaves the padding out of the count: ONNX's count_include_pad = 0.
      spatial_pads(layer, c, ps, strides, {1, 1}, x.shape, *n);
      return made(out_shape, x.dtype, y, true);
    }
    if (type == "Flatten") {
      const std::string y = node("Flatten", {plain(x)}, prefix + "/flatten", &n);
      add_int(*n, "axis", 1);
      return made(out_shape, x.dtype, y, false);
    }
    if (type == "Reshape") {
      std::vector<std::int64_t> shape{-1};
      shape.insert(shape.end(), out_shape.begin(), out_shape.end());
      const std::string y = node("Reshape", {plain(x), ints_constant(prefix + "/shape", shape)}, prefix + "/reshape");
      return made(out_shape, x.dtype, y, false);
    }
    if (type == "Activation") return activation(c.at("activation"), x, who, prefix);
    if (type == "LeakyReLU") {
      auto [name, first] = any_layout(x);
      const std::string y = node("LeakyRelu", {name}, prefix + "/leaky_relu", &n);
      add_float(*n, "alpha", c.at("alpha").get<float>());
      return made(out_shape, x.dtype, y, first);
    }
    if (type == "Dropout") return x;  // inference: the identity
    if (type == "Rescaling") {
      auto [name, first] = any_layout(x);
      const std::string scaled =
          node("Mul", {name, initializer(prefix + "/scale", Tensor::scalar(c.at("scale").get<double>(), x.dtype))},
               prefix + "/mul");
      const std::string y =
          node("Add", {scaled, initializer(prefix + "/offset", Tensor::scalar(c.at("offset").get<double>(), x.dtype))},
               prefix + "/add");
      return made(out_shape, x.dtype, y, first);
    }
    if (type == "MultiHeadAttention" || type == "TransformerEncoder") {
      if (x.shape.size() != 2) throw Error("export_onnx: " + who + " takes [batch, time, features] here");
      const auto w = [&](const std::string& name) { return weight(layer, name); };
      std::string y;
      if (type == "MultiHeadAttention") {
        y = attention(plain(x), x.shape[0], w, "", c.at("num_heads"), c.at("key_dim"), false, prefix);
      } else {
        y = transformer(plain(x), x.shape, w, c, prefix);
      }
      return made(out_shape, x.dtype, y, false);
    }
    if (type == "PositionEmbedding" || type == "TokenAndPositionEmbedding") {
      const bool tokens = type == "TokenAndPositionEmbedding";
      const Tensor table = weight(layer, tokens ? "position_embedding/embeddings" : "embeddings");
      const std::int64_t steps = x.shape[0];
      // The first `steps` position vectors, [steps, D], broadcast over the batch.
      const Tensor positions = table.slice(0, steps).contiguous();
      const std::string pos = initializer(prefix + "/positions", positions);
      std::string y;
      if (tokens) {
        if (c.value("mask_zero", false))
          throw Error("export_onnx: " + who + ": mask_zero = true; ONNX graphs here carry no masks");
        const std::string gathered =
            node("Gather",
                 {initializer(prefix + "/token_embeddings", weight(layer, "token_embedding/embeddings")), plain(x)},
                 prefix + "/gather", &n);
        add_int(*n, "axis", 0);
        y = node("Add", {gathered, pos}, prefix + "/add");
        return made(out_shape, layer.dtype(), y, false);
      }
      // PositionEmbedding's output is the position vectors alone, in the input's shape: 0 * x + positions.
      const std::string zero =
          node("Mul", {plain(x), initializer(prefix + "/zero", Tensor::scalar(0.0, x.dtype))}, prefix + "/zeros");
      y = node("Add", {zero, pos}, prefix + "/broadcast");
      return made(out_shape, x.dtype, y, false);
    }
    if (type == "BatchNormalization") return batch_normalization(layer, x, c, prefix);
    if (type == "LayerNormalization") return layer_normalization(layer, x, c, prefix);
    if (type == "UpSampling2D") {
      auto [name, first] = any_layout(x);
      const auto size = pair_of(c.at("size"));
      const std::vector<double> scales = first ? std::vector<double>{1, 1, double(size[0]), double(size[1])}
                                               : std::vector<double>{1, double(size[0]), double(size[1]), 1};
      const std::string s = initializer(prefix + "/scales", Tensor::from_vector(scales, {4}).to(DType::Float32));
      const std::string y = node("Resize", {name, "", s}, prefix + "/resize", &n);
      add_string(*n, "mode", "nearest");
      add_string(*n, "coordinate_transformation_mode", "asymmetric");
      add_string(*n, "nearest_mode", "floor");
      return made(out_shape, x.dtype, y, first);
    }
    if (type == "Embedding") {
      if (c.value("mask_zero", false)) {
        throw Error("export_onnx: " + who + ": mask_zero = true; ONNX graphs here carry no masks");
      }
      const std::string table = initializer(prefix + "/embeddings", weight(layer, "embeddings"));
      const std::string y = node("Gather", {table, plain(x)}, prefix + "/gather", &n);
      add_int(*n, "axis", 0);
      return made(out_shape, layer.dtype(), y, false);
    }
    if (type == "Conv1D") {
      const std::int64_t groups = c.value("groups", 1);
      const std::vector<std::int64_t> ks = ints_of(c.at("kernel_size")), strides = ints_of(c.at("strides")),
                                      dilations = ints_of(c.at("dilation_rate"));
      // [k, C / groups, F] as a 2-D kernel of height 1, then ONNX's [F, C / groups, k].
      const Tensor kernel = weight(layer, "kernel");
      const Tensor w = kernel_to_onnx(kernel.reshape({1, kernel.size(0), kernel.size(1), kernel.size(2)}))
                           .reshape({kernel.size(2), kernel.size(1), kernel.size(0)});
      const auto pads = pads_for(who, c.at("padding"), ks, strides, dilations, x.shape);
      const std::string y =
          conv(channels_first(x), w, weight(layer, "bias"), ks, strides, dilations, pads, groups, prefix);
      return activation(c.at("activation"), made(out_shape, x.dtype, y, true), who, prefix);
    }
    if (type == "DepthwiseConv2D" || type == "SeparableConv2D") {
      const bool separable = type == "SeparableConv2D";
      const auto ks = pair_of(c.at("kernel_size")), strides = pair_of(c.at("strides"));
      const auto dilations = pair_of(c.at("dilation_rate"));
      const auto pads = pads_for(who, c.at("padding"), ks, strides, dilations, x.shape);
      const Tensor depthwise = weight(layer, separable ? "depthwise_kernel" : "kernel");
      // One group per input channel, depth_multiplier outputs each.
      std::string y =
          conv(channels_first(x), depthwise_to_onnx(depthwise), separable ? Tensor() : weight(layer, "bias"), ks,
               strides, dilations, pads, depthwise.size(2), prefix + (separable ? "/depthwise" : ""));
      if (separable) {
        y = conv(y, kernel_to_onnx(weight(layer, "pointwise_kernel")), weight(layer, "bias"), {1, 1}, {1, 1}, {1, 1},
                 {}, 1, prefix + "/pointwise");
      }
      return activation(c.at("activation"), made(out_shape, x.dtype, y, true), who, prefix);
    }
    if (type == "MaxPooling1D" || type == "AveragePooling1D") {
      const std::vector<std::int64_t> ps = ints_of(c.at("pool_size")), strides = ints_of(c.at("strides"));
      const bool max = type == "MaxPooling1D";
      const std::string y = node(max ? "MaxPool" : "AveragePool", {channels_first(x)},
                                 prefix + (max ? "/max_pool" : "/average_pool"), &n);
      add_ints(*n, "kernel_shape", ps);
      add_ints(*n, "strides", strides);
      // As in 2-D: Keras's "same" average leaves the padding out (count_include_pad = 0).
      if (const auto pads = pads_for(who, c.at("padding"), ps, strides, {1}, x.shape); !pads.empty()) {
        add_ints(*n, "pads", pads);
      }
      return made(out_shape, x.dtype, y, true);
    }
    if (type == "GlobalAveragePooling1D" || type == "GlobalAveragePooling2D" || type == "GlobalMaxPooling1D" ||
        type == "GlobalMaxPooling2D") {
      const bool average = type.find("Average") != std::string::npos, keepdims = c.value("keepdims", false);
      if (!x.channels_first.empty()) {
        // [N, C, 1(, 1)]: Keras's keepdims form in channels first, or flattened to [N, C].
        const std::string pooled = node(average ? "GlobalAveragePool" : "GlobalMaxPool", {x.channels_first},
                                        prefix + (average ? "/global_average_pool" : "/global_max_pool"));
        if (keepdims) return made(out_shape, x.dtype, pooled, true);
        const std::string y = node("Flatten", {pooled}, prefix + "/flatten", &n);
        add_int(*n, "axis", 1);
        return made(out_shape, x.dtype, y, false);
      }
      std::vector<std::int64_t> axes;
      for (std::size_t a = 1; a < x.shape.size(); ++a) axes.push_back(static_cast<std::int64_t>(a));
      const std::string y =
          node(average ? "ReduceMean" : "ReduceMax", {plain(x)}, prefix + (average ? "/mean" : "/max"), &n);
      add_ints(*n, "axes", axes);
      add_int(*n, "keepdims", keepdims ? 1 : 0);
      return made(out_shape, x.dtype, y, false);
    }
    if (type == "UpSampling1D") {
      auto [name, first] = any_layout(x);
      const double size = c.at("size").get<double>();
      const std::vector<double> scales = first ? std::vector<double>{1, 1, size} : std::vector<double>{1, size, 1};
      const std::string s = initializer(prefix + "/scales", Tensor::from_vector(scales, {3}).to(DType::Float32));
      const std::string y = node("Resize", {name, "", s}, prefix + "/resize", &n);
      add_string(*n, "mode", "nearest");
      add_string(*n, "coordinate_transformation_mode", "asymmetric");
      add_string(*n, "nearest_mode", "floor");
      return made(out_shape, x.dtype, y, first);
    }
    if (type == "ZeroPadding1D" || type == "ZeroPadding2D" || type == "Cropping1D" || type == "Cropping2D") {
      const bool pad = type.rfind("ZeroPadding", 0) == 0;
      // Keras's margins per spatial axis: [before, after] (1-D) or [[top, bottom], [left, right]].
      const json& m = c.at(pad ? "padding" : "cropping");
      std::vector<std::pair<std::int64_t, std::int64_t>> margins;
      if (m.at(0).is_number()) {
        margins.emplace_back(m.at(0).get<std::int64_t>(), m.at(1).get<std::int64_t>());
      } else {
        for (const auto& axis : m) margins.emplace_back(axis.at(0).get<std::int64_t>(), axis.at(1).get<std::int64_t>());
      }
      auto [name, first] = any_layout(x);
      const std::size_t rank = x.shape.size() + 1;
      std::string y;
      if (pad) {
        std::vector<std::int64_t> pads(2 * rank, 0);
        for (std::size_t a = 0; a < margins.size(); ++a) {
          const std::size_t at = a + (first ? 2 : 1);
          pads[at] = margins[a].first;
          pads[at + rank] = margins[a].second;
        }
        y = node("Pad", {name, ints_constant(prefix + "/pads", pads)}, prefix + "/pad");
      } else {
        std::vector<std::int64_t> starts, ends, axes;
        for (std::size_t a = 0; a < margins.size(); ++a) {
          starts.push_back(margins[a].first);
          ends.push_back(x.shape[a] - margins[a].second);
          axes.push_back(static_cast<std::int64_t>(a + (first ? 2 : 1)));
        }
        y = node("Slice",
                 {name, ints_constant(prefix + "/starts", starts), ints_constant(prefix + "/ends", ends),
                  ints_constant(prefix + "/axes", axes)},
                 prefix + "/crop");
      }
      return made(out_shape, x.dtype, y, first);
    }
    if (type == "Permute") {
      std::vector<std::int64_t> perm{0};
      for (const auto& d : c.at("dims")) perm.push_back(d.get<std::int64_t>());
      const std::string y = node("Transpose", {plain(x)}, prefix + "/transpose", &n);
      add_ints(*n, "perm", perm);
      return made(out_shape, x.dtype, y, false);
    }
    if (type == "RepeatVector") {
      // [N, F] -> [N, 1, F] -> [N, n, F].
      const std::string one =
          node("Unsqueeze", {plain(x), ints_constant(prefix + "/axes", {1})}, prefix + "/unsqueeze");
      const std::string y = node(
          "Tile", {one, ints_constant(prefix + "/repeats", {1, c.at("n").get<std::int64_t>(), 1})}, prefix + "/tile");
      return made(out_shape, x.dtype, y, false);
    }
    if (type == "ReLU") {
      const double slope = c.at("negative_slope"), threshold = c.at("threshold");
      const bool capped = !c.at("max_value").is_null();
      auto [name, first] = any_layout(x);
      auto constant = [&](const std::string& what, double value) {
        return scalar_constant(prefix + "/" + what, value, x.dtype);
      };
      std::string y;
      if (threshold == 0 && slope == 0 && !capped) {
        y = node("Relu", {name}, prefix + "/relu");
      } else if (threshold == 0 && !capped) {
        y = node("LeakyRelu", {name}, prefix + "/leaky_relu", &n);
        add_float(*n, "alpha", static_cast<float>(slope));
      } else if (threshold == 0 && slope == 0) {
        y = node("Clip", {name, constant("min", 0), constant("max", c.at("max_value").get<double>())},
                 prefix + "/clip");
      } else {
        // Keras's general form: min(x, max_value) above the threshold, slope * (x - threshold) otherwise.
        const std::string above = node("Greater", {name, constant("threshold", threshold)}, prefix + "/above");
        const std::string kept =
            capped ? node("Min", {name, constant("max_value", c.at("max_value").get<double>())}, prefix + "/min")
                   : name;
        const std::string below =
            node("Mul",
                 {node("Sub", {name, constant("threshold", threshold)}, prefix + "/shifted"), constant("slope", slope)},
                 prefix + "/below");
        y = node("Where", {above, kept, below}, prefix + "/relu");
      }
      return made(out_shape, x.dtype, y, first);
    }
    if (type == "ELU") {
      auto [name, first] = any_layout(x);
      const std::string y = node("Elu", {name}, prefix + "/elu", &n);
      add_float(*n, "alpha", c.at("alpha").get<float>());
      return made(out_shape, x.dtype, y, first);
    }
    if (type == "PReLU") {
      // Keras's relu(x) - alpha * relu(-x) is PRelu with slope alpha, broadcast from [dims...].
      auto [name, first] = any_layout(x);
      Tensor alpha = weight(layer, "alpha");
      if (first) {
        // [spatial..., C] -> [C, spatial...], as the channels-first value.
        const std::int64_t channels = alpha.size(-1);
        Shape shape{channels};
        for (std::int64_t a = 0; a + 1 < alpha.ndim(); ++a) shape.push_back(alpha.size(a));
        alpha = alpha.reshape({alpha.numel() / channels, channels}).transpose(0, 1).contiguous().reshape(shape);
      }
      const std::string y = node("PRelu", {name, initializer(prefix + "/alpha", alpha)}, prefix + "/prelu");
      return made(out_shape, x.dtype, y, first);
    }
    if (type == "Softmax") {
      auto [name, first] = any_layout(x);
      const int rank = static_cast<int>(x.shape.size()) + 1, axis = c.at("axis").get<int>();
      const std::string y = node("Softmax", {name}, prefix + "/softmax", &n);
      add_int(*n, "axis", first ? channels_first_axis(axis, rank) : positive_axis(axis, rank));
      return made(out_shape, x.dtype, y, first);
    }
    if (type == "SpatialDropout1D" || type == "SpatialDropout2D" || type == "GaussianNoise" ||
        type == "GaussianDropout" || type == "RandomFlip") {
      return x;  // inference: the identity
    }
    if (type == "Normalization") {
      // (x - mean) / max(sqrt(variance), 1e-7), or its inverse, with the constants folded.
      const Tensor mean = weight(layer, "mean"), variance = weight(layer, "variance");
      auto v = variance.to(DType::Float64).to_vector<double>();
      for (auto& e : v) e = std::max(std::sqrt(e), 1e-7);
      const Tensor stddev = Tensor::from_vector(v, variance.shape()).to(x.dtype);
      const std::string m = initializer(prefix + "/mean", mean.to(x.dtype)),
                        s = initializer(prefix + "/stddev", stddev);
      const std::string y =
          c.value("invert", false)
              ? node("Add", {node("Mul", {plain(x), s}, prefix + "/scaled"), m}, prefix + "/denormalized")
              : node("Div", {node("Sub", {plain(x), m}, prefix + "/centered"), s}, prefix + "/normalized");
      return made(out_shape, x.dtype, y, false);
    }
    if (type == "GroupNormalization") return group_normalization(layer, x, c, prefix);
    if (type == "UnitNormalization") {
      const int rank = static_cast<int>(x.shape.size()) + 1;
      auto [name, first] = any_layout(x);
      std::vector<std::int64_t> axes;
      for (const auto a : ints_of(c.at("axis"))) {
        const int axis = static_cast<int>(a);
        axes.push_back(first ? channels_first_axis(axis, rank) : positive_axis(axis, rank));
      }
      return made(out_shape, x.dtype, l2_normalized(name, axes, x.dtype, prefix), first);
    }
    if (type == "Attention" || type == "AdditiveAttention") return dense_attention(layer, in, c, out_shape, prefix);
    if (type == "Dot") return dot(layer, in, c, out_shape, prefix);
    if (type == "Add" || type == "Concatenate" || type == "Subtract" || type == "Multiply" || type == "Average" ||
        type == "Maximum" || type == "Minimum") {
      bool all_first = true;
      for (const Value* v : in) all_first = all_first && !v->channels_first.empty();
      std::vector<std::string> names;
      for (Value* v : in) names.push_back(all_first ? v->channels_first : plain(*v));
      std::vector<Shape> shapes;
      for (const Value* v : in) shapes.push_back(v->shape);
      Shape shape = in[0]->shape;
      if (type != "Concatenate") {
        static const std::map<std::string, std::string> ops = {
            {"Add", "Sum"}, {"Average", "Mean"}, {"Maximum", "Max"}, {"Minimum", "Min"}};
        std::string y;
        if (type == "Subtract") {
          y = node("Sub", names, prefix + "/sub");
        } else if (type == "Multiply") {
          // Mul takes two inputs: a chain for more.
          y = names[0];
          for (std::size_t i = 1; i < names.size(); ++i) y = node("Mul", {y, names[i]}, prefix + "/mul");
        } else {
          const std::string& op = ops.at(type);
          y = node(op, names,
                   prefix + "/" +
                       (type == "Add"       ? std::string("sum")
                        : type == "Average" ? "mean"
                        : op == "Max"       ? "max"
                                            : "min"));
        }
        return made(shape, x.dtype, y, all_first);
      }
      const int rank = static_cast<int>(shape.size()) + 1;
      int axis = positive_axis(c.at("axis").get<int>(), rank);
      std::int64_t total = 0;
      for (const auto& s : shapes) total += s.at(axis - 1);
      shape[axis - 1] = total;
      if (all_first) axis = channels_first_axis(axis, rank);
      const std::string y = node("Concat", names, prefix + "/concat", &n);
      add_int(*n, "axis", axis);
      return made(shape, x.dtype, y, all_first);
    }
    throw Error("export_onnx: " + who + ": layer type " + type + " has no ONNX export");
  }

  // Both directions as their own RNN/LSTM/GRU nodes (the backward one reversed, its sequence
  // in input order as Keras's Bidirectional returns it), merged as merge_mode says.
  Value bidirectional(const layers::Layer& layer, Value& x, const std::string& prefix) {
    const auto& bi = dynamic_cast<const layers::Bidirectional&>(layer);
    const std::string who = "Bidirectional '" + layer.name() + "'";
    const std::string& mode = bi.merge_mode();
    if (mode.empty()) {
      throw Error("export_onnx: " + who + ": merge_mode None gives two outputs, which a layer of a graph cannot");
    }
    const auto& f = *bi.forward_layer();
    const auto& b = *bi.backward_layer();
    const Value y = recurrent(f, x, f.get_config(), prefix + "/forward")[0];
    const Value y_rev = recurrent(b, x, b.get_config(), prefix + "/backward", /*in_time_order=*/true)[0];
    std::string out;
    onnx::NodeProto* n;
    if (mode == "concat") {
      out = node("Concat", {y.plain, y_rev.plain}, prefix + "/concat", &n);
      add_int(*n, "axis", -1);
    } else if (mode == "sum") {
      out = node("Add", {y.plain, y_rev.plain}, prefix + "/sum");
    } else if (mode == "mul") {
      out = node("Mul", {y.plain, y_rev.plain}, prefix + "/mul");
    } else {
      out =
          node("Mul",
               {node("Add", {y.plain, y_rev.plain}, prefix + "/sum"), scalar_constant(prefix + "/half", 0.5, x.dtype)},
               prefix + "/ave");
    }
    return made(layer.output_shape(), x.dtype, out, false);
  }

  // The wrapped layer on [N * T, ...] between two Reshapes.
  Value time_distributed(const layers::Layer& layer, Value& x, const std::string& prefix) {
    const auto& inner = *dynamic_cast<const layers::TimeDistributed&>(layer).layer();
    const Shape step(x.shape.begin() + 1, x.shape.end());
    std::vector<std::int64_t> flat{-1};
    flat.insert(flat.end(), step.begin(), step.end());
    Value v{step, x.dtype, node("Reshape", {plain(x), ints_constant(prefix + "/steps_shape", flat)}, prefix + "/steps"),
            ""};
    auto outs = export_call(inner, {&v}, prefix + "/" + inner.name());
    if (outs.size() != 1) {
      throw Error("export_onnx: TimeDistributed '" + layer.name() + "': its layer gives " +
                  std::to_string(outs.size()) + " outputs; expected 1");
    }
    const Shape out_shape = layer.output_shape();
    std::vector<std::int64_t> back{-1};
    back.insert(back.end(), out_shape.begin(), out_shape.end());
    const std::string y =
        node("Reshape", {plain(outs[0]), ints_constant(prefix + "/shape", back)}, prefix + "/time_distributed");
    return made(out_shape, x.dtype, y, false);
  }

  // x / sqrt(max(sum(x^2 over axes), 1e-12)), Keras's l2_normalize.
  std::string l2_normalized(const std::string& x, const std::vector<std::int64_t>& axes, DType dtype,
                            const std::string& prefix) {
    onnx::NodeProto* n;
    const std::string squares = node("ReduceSumSquare", {x}, prefix + "/sum_of_squares", &n);
    add_ints(*n, "axes", axes);
    add_int(*n, "keepdims", 1);
    const std::string floor =
        node("Max", {squares, scalar_constant(prefix + "/epsilon", 1e-12, dtype)}, prefix + "/floor");
    return node("Div", {x, node("Sqrt", {floor}, prefix + "/norm")}, prefix + "/l2_normalized");
  }

  // The channels split into groups, each normalized over its channels and all steps or pixels.
  Value group_normalization(const layers::Layer& layer, Value& x, const json& c, const std::string& prefix) {
    const std::int64_t groups = c.at("groups"), channels = x.shape.back();
    const auto [name, first] = any_layout(x);
    // Channels first: [N, G, C / G * spatial] normalized over axis 2; channels last: [N, spatial, G, C / G]
    // over axes 1 and 3.
    const std::vector<std::int64_t> grouping =
        first ? std::vector<std::int64_t>{0, groups, -1} : std::vector<std::int64_t>{0, -1, groups, channels / groups};
    const std::vector<std::int64_t> axes = first ? std::vector<std::int64_t>{2} : std::vector<std::int64_t>{1, 3};
    std::vector<std::int64_t> shape{0};
    if (first) shape.push_back(channels);
    for (std::size_t a = 0; a + 1 < x.shape.size(); ++a) shape.push_back(x.shape[a]);
    if (!first) shape.push_back(channels);
    onnx::NodeProto* n;
    const std::string g = node("Reshape", {name, ints_constant(prefix + "/groups", grouping)}, prefix + "/grouped");
    const std::string mean = node("ReduceMean", {g}, prefix + "/mean", &n);
    add_ints(*n, "axes", axes);
    const std::string centered = node("Sub", {g, mean}, prefix + "/centered");
    const std::string var =
        node("ReduceMean", {node("Mul", {centered, centered}, prefix + "/squared")}, prefix + "/variance", &n);
    add_ints(*n, "axes", axes);
    const std::string eps = scalar_constant(prefix + "/epsilon", c.at("epsilon").get<double>(), x.dtype);
    const std::string stddev = node("Sqrt", {node("Add", {var, eps}, prefix + "/var_eps")}, prefix + "/stddev");
    std::string y = node(
        "Reshape", {node("Div", {centered, stddev}, prefix + "/normalized"), ints_constant(prefix + "/shape", shape)},
        prefix + "/ungrouped");
    // gamma and beta per channel: [C] on the last axis, [C, 1(, 1)] channels first.
    Shape param{channels};
    if (first) param.insert(param.end(), x.shape.size() - 1, 1);
    if (const Tensor gamma = weight(layer, "gamma"); gamma.defined()) {
      y = node("Mul", {y, initializer(prefix + "/gamma", gamma.reshape(param))}, prefix + "/scaled");
    }
    if (const Tensor beta = weight(layer, "beta"); beta.defined()) {
      y = node("Add", {y, initializer(prefix + "/beta", beta.reshape(param))}, prefix + "/group_norm");
    }
    return made(x.shape, x.dtype, y, first);
  }

  // Keras's Attention (dot or concat scores) and AdditiveAttention on [query, value(, key)].
  Value dense_attention(const layers::Layer& layer, const std::vector<Value*>& in, const json& c,
                        const Shape& out_shape, const std::string& prefix) {
    const DType dtype = in[0]->dtype;
    const std::string q = plain(*in[0]), v = plain(*in[1]), k = in.size() == 3 ? plain(*in[2]) : v;
    const Tensor scale = weight(layer, "scale");
    onnx::NodeProto* n;
    std::string scores;
    if (layer.type() == "Attention" && c.at("score_mode") == "dot") {
      const std::string kt = node("Transpose", {k}, prefix + "/keys_transposed", &n);
      add_ints(*n, "perm", {0, 2, 1});
      scores = node("MatMul", {q, kt}, prefix + "/scores");
      if (scale.defined())
        scores = node("Mul", {scores, initializer(prefix + "/scale", scale)}, prefix + "/scaled_scores");
    } else {
      // [N, Tq, 1, D] + [N, 1, Tv, D] -> [N, Tq, Tv, D], reduced over D.
      const std::string sum =
          node("Add",
               {node("Unsqueeze", {q, ints_constant(prefix + "/query_axes", {2})}, prefix + "/query"),
                node("Unsqueeze", {k, ints_constant(prefix + "/key_axes", {1})}, prefix + "/key")},
               prefix + "/query_plus_key");
      const std::string reduce_axes = ints_constant(prefix + "/feature_axis", {-1});
      if (layer.type() == "Attention") {
        const std::string scaled =
            scale.defined() ? node("Mul", {sum, initializer(prefix + "/scale", scale)}, prefix + "/scaled") : sum;
        const std::string t = node("Tanh", {scaled}, prefix + "/tanh");
        const std::string summed = node("ReduceSum", {t, reduce_axes}, prefix + "/summed", &n);
        add_int(*n, "keepdims", 0);
        scores =
            node("Mul", {summed, initializer(prefix + "/concat_score_weight", weight(layer, "concat_score_weight"))},
                 prefix + "/scores");
      } else {
        std::string t = node("Tanh", {sum}, prefix + "/tanh");
        if (scale.defined()) t = node("Mul", {t, initializer(prefix + "/scale", scale)}, prefix + "/scaled");
        scores = node("ReduceSum", {t, reduce_axes}, prefix + "/scores", &n);
        add_int(*n, "keepdims", 0);
      }
    }
    if (c.value("use_causal_mask", false)) {
      // Keras subtracts 1e9 from the scores of the keys after each query.
      const std::int64_t tq = in[0]->shape[0], tv = in[1]->shape[0];
      std::vector<double> mask(tq * tv, 0.0);
      for (std::int64_t i = 0; i < tq; ++i)
        for (std::int64_t j = i + 1; j < tv; ++j) mask[i * tv + j] = 1e9;
      scores =
          node("Sub", {scores, initializer(prefix + "/causal_mask", Tensor::from_vector(mask, {tq, tv}).to(dtype))},
               prefix + "/masked_scores");
    }
    const std::string weights = node("Softmax", {scores}, prefix + "/attention_weights", &n);
    add_int(*n, "axis", -1);
    return made(out_shape, dtype, node("MatMul", {weights, v}, prefix + "/attention"), false);
  }

  // Keras's Dot of two [N, D] (a [N, 1] of sums) or [N, A, B] values (a batched matrix product).
  Value dot(const layers::Layer& layer, const std::vector<Value*>& in, const json& c, const Shape& out_shape,
            const std::string& prefix) {
    const int rank = static_cast<int>(in[0]->shape.size()) + 1;
    const auto axes = ints_of(c.at("axes"));
    const int a = positive_axis(static_cast<int>(axes.at(0)), rank);
    const int b = positive_axis(static_cast<int>(axes.size() == 2 ? axes[1] : axes[0]), rank);
    std::string x = plain(*in[0]), y = plain(*in[1]);
    const DType dtype = in[0]->dtype;
    if (c.value("normalize", false)) {
      x = l2_normalized(x, {a}, dtype, prefix + "/x");
      y = l2_normalized(y, {b}, dtype, prefix + "/y");
    }
    onnx::NodeProto* n;
    if (rank == 2) {
      const std::string product = node("Mul", {x, y}, prefix + "/product");
      const std::string s = node("ReduceSum", {product, ints_constant(prefix + "/axes", {1})}, prefix + "/dot", &n);
      add_int(*n, "keepdims", 1);
      return made(out_shape, dtype, s, false);
    }
    if (rank != 3) throw Error("export_onnx: Dot '" + layer.name() + "': inputs of rank " + std::to_string(rank));
    // x as [N, M, K], y as [N, K, P]: the summed axis inner.
    auto transposed = [&](const std::string& t, const std::string& what) {
      const std::string r = node("Transpose", {t}, prefix + "/" + what + "_transposed", &n);
      add_ints(*n, "perm", {0, 2, 1});
      return r;
    };
    if (a == 1) x = transposed(x, "x");
    if (b == 2) y = transposed(y, "y");
    return made(out_shape, dtype, node("MatMul", {x, y}, prefix + "/dot"), false);
  }

  using Weights = std::function<Tensor(const std::string&)>;

  // x [N, T, in] @ kernel (reshaped to [in, out]) + bias, over the last axis.
  std::string linear(const std::string& x, const Tensor& kernel, const Tensor& bias, std::int64_t out,
                     const std::string& prefix) {
    const Tensor k = kernel.reshape({kernel.numel() / out, out});
    std::string y = node("MatMul", {x, initializer(prefix + "/kernel", k)}, prefix + "/matmul");
    if (bias.defined()) y = node("Add", {y, initializer(prefix + "/bias", bias.reshape({out}))}, prefix + "/add");
    return y;
  }

  // Keras's MultiHeadAttention as self-attention on x [N, T, E]; weights under `sub`.
  std::string attention(const std::string& x, std::int64_t steps, const Weights& w, const std::string& sub,
                        std::int64_t heads, std::int64_t key_dim, bool causal, const std::string& prefix) {
    const Tensor wv = w(sub + "value/kernel"), wo = w(sub + "attention_output/kernel");
    const std::int64_t value_dim = wv.size(2), out = wo.size(2);
    onnx::NodeProto* n;
    // [N, T, heads * d] -> [N, heads, T, d] (keys: [N, heads, d, T], ready for the product).
    auto split = [&](const std::string& what, std::int64_t d, const std::vector<std::int64_t>& perm) {
      const std::string projected =
          linear(x, w(sub + what + "/kernel"), w(sub + what + "/bias"), heads * d, prefix + "/" + what);
      const std::string heads_apart =
          node("Reshape", {projected, ints_constant(prefix + "/" + what + "/shape", {0, 0, heads, d})},
               prefix + "/" + what + "/heads");
      const std::string t = node("Transpose", {heads_apart}, prefix + "/" + what + "/transpose", &n);
      add_ints(*n, "perm", perm);
      return t;
    };
    const std::string q = split("query", key_dim, {0, 2, 1, 3}), k = split("key", key_dim, {0, 2, 3, 1});
    const std::string v = split("value", value_dim, {0, 2, 1, 3});
    const DType dtype = wv.dtype();
    std::string scores = node("MatMul", {q, k}, prefix + "/scores");
    scores =
        node("Mul", {scores, initializer(prefix + "/scale", Tensor::scalar(1.0 / std::sqrt(double(key_dim)), dtype))},
             prefix + "/scaled_scores");
    if (causal) {
      // Query i sees keys j <= i: a large negative number elsewhere, which softmax turns into 0.
      std::vector<double> mask(steps * steps, 0.0);
      for (std::int64_t i = 0; i < steps; ++i)
        for (std::int64_t j = i + 1; j < steps; ++j) mask[i * steps + j] = -1e9;
      scores = node("Add",
                    {scores, initializer(prefix + "/causal_mask", Tensor::from_vector(mask, {steps, steps}).to(dtype))},
                    prefix + "/masked_scores");
    }
    const std::string weights = node("Softmax", {scores}, prefix + "/attention_weights", &n);
    add_int(*n, "axis", -1);
    const std::string mixed = node("MatMul", {weights, v}, prefix + "/attention");
    const std::string t = node("Transpose", {mixed}, prefix + "/attention/transpose", &n);
    add_ints(*n, "perm", {0, 2, 1, 3});
    const std::string joined =
        node("Reshape", {t, ints_constant(prefix + "/attention/shape", {0, 0, heads * value_dim})},
             prefix + "/attention/heads");
    return linear(joined, wo, w(sub + "attention_output/bias"), out, prefix + "/attention_output");
  }

  std::string layer_norm_on(const std::string& x, const Tensor& gamma, const Tensor& beta, double epsilon,
                            const std::string& prefix) {
    Value v{{gamma.numel()}, gamma.dtype(), x, ""};
    const json c = {{"epsilon", epsilon}};
    return layer_normalization_of(v, gamma, beta, c, prefix).plain;
  }

  // keras_nlp's TransformerEncoder: attention and feed-forward blocks, each with a residual
  // connection and a LayerNormalization after it (before it with normalize_first).
  std::string transformer(const std::string& x, const Shape& shape, const Weights& w, const json& c,
                          const std::string& prefix) {
    const double eps = c.at("layer_norm_epsilon");
    const bool pre = c.at("normalize_first");
    const std::int64_t hidden = shape[1], heads = c.at("num_heads");
    auto norm = [&](const std::string& in, const std::string& name) {
      return layer_norm_on(in, w(name + "/gamma"), w(name + "/beta"), eps, prefix + "/" + name);
    };
    std::string h = pre ? norm(x, "self_attention_layer_norm") : x;
    h = attention(h, shape[0], w, "self_attention/", heads, hidden / heads, c.at("use_causal_mask"),
                  prefix + "/self_attention");
    h = node("Add", {h, x}, prefix + "/attention_residual");
    if (!pre) h = norm(h, "self_attention_layer_norm");
    std::string f = pre ? norm(h, "feedforward_layer_norm") : h;
    const Tensor wi = w("feedforward_intermediate_dense/kernel");
    f = linear(f, wi, w("feedforward_intermediate_dense/bias"), wi.size(1), prefix + "/feedforward_intermediate_dense");
    Value fv{{wi.size(1)}, wi.dtype(), f, ""};
    f = activation(c.at("activation"), fv, "TransformerEncoder", prefix + "/feedforward_intermediate_dense").plain;
    f = linear(f, w("feedforward_output_dense/kernel"), w("feedforward_output_dense/bias"), hidden,
               prefix + "/feedforward_output_dense");
    f = node("Add", {f, h}, prefix + "/feedforward_residual");
    if (!pre) f = norm(f, "feedforward_layer_norm");
    return f;
  }

  Value batch_normalization(const layers::Layer& layer, Value& x, const json& c, const std::string& prefix) {
    const Tensor mean = weight(layer, "moving_mean"), var = weight(layer, "moving_variance");
    Tensor gamma = weight(layer, "gamma"), beta = weight(layer, "beta");
    if (!gamma.defined()) gamma = Tensor::ones(mean.shape(), mean.dtype());
    if (!beta.defined()) beta = Tensor::zeros(mean.shape(), mean.dtype());
    const double epsilon = c.at("epsilon").get<double>();
    if (x.shape.size() == 3 || x.shape.size() == 1) {
      // ONNX's BatchNormalization normalizes axis 1, which is the channel axis here.
      const bool first = x.shape.size() == 3;
      const std::string in = first ? channels_first(x) : plain(x);
      onnx::NodeProto* n;
      const std::string y =
          node("BatchNormalization",
               {in, initializer(prefix + "/gamma", gamma), initializer(prefix + "/beta", beta),
                initializer(prefix + "/moving_mean", mean), initializer(prefix + "/moving_variance", var)},
               prefix + "/batch_norm", &n);
      add_float(*n, "epsilon", static_cast<float>(epsilon));
      add_float(*n, "momentum", c.at("momentum").get<float>());
      return made(x.shape, x.dtype, y, first);
    }
    // Other ranks normalize the last axis: y = x * scale + shift with the statistics folded in.
    const auto g = gamma.to(DType::Float64).to_vector<double>(), b = beta.to(DType::Float64).to_vector<double>();
    const auto m = mean.to(DType::Float64).to_vector<double>(), v = var.to(DType::Float64).to_vector<double>();
    std::vector<double> scale(g.size()), shift(g.size());
    for (std::size_t i = 0; i < g.size(); ++i) {
      scale[i] = g[i] / std::sqrt(v[i] + epsilon);
      shift[i] = b[i] - m[i] * scale[i];
    }
    const Shape s{static_cast<std::int64_t>(g.size())};
    const std::string scaled = node(
        "Mul", {plain(x), initializer(prefix + "/scale", Tensor::from_vector(scale, s).to(x.dtype))}, prefix + "/mul");
    const std::string y = node(
        "Add", {scaled, initializer(prefix + "/shift", Tensor::from_vector(shift, s).to(x.dtype))}, prefix + "/add");
    return made(x.shape, x.dtype, y, false);
  }

  Value layer_normalization(const layers::Layer& layer, Value& x, const json& c, const std::string& prefix) {
    return layer_normalization_of(x, weight(layer, "gamma"), weight(layer, "beta"), c, prefix);
  }

  Value layer_normalization_of(Value& x, Tensor gamma, Tensor beta, const json& c, const std::string& prefix) {
    const std::int64_t features = x.shape.back();
    if (!gamma.defined()) gamma = Tensor::ones({features}, x.dtype);
    if (!beta.defined()) beta = Tensor::zeros({features}, x.dtype);
    const float epsilon = c.at("epsilon").get<float>();
    const std::string g = initializer(prefix + "/gamma", gamma), b = initializer(prefix + "/beta", beta);
    onnx::NodeProto* n;
    if (options_.opset >= 17) {
      const std::string y = node("LayerNormalization", {plain(x), g, b}, prefix + "/layer_norm", &n);
      add_int(*n, "axis", -1);
      add_float(*n, "epsilon", epsilon);
      return made(x.shape, x.dtype, y, false);
    }
    // Before opset 17: (x - mean) / sqrt(var + epsilon) * gamma + beta over the last axis.
    const std::string in = plain(x);
    const std::string mean = node("ReduceMean", {in}, prefix + "/mean", &n);
    add_ints(*n, "axes", {-1});
    const std::string centered = node("Sub", {in, mean}, prefix + "/centered");
    const std::string squared = node("Mul", {centered, centered}, prefix + "/squared");
    const std::string var = node("ReduceMean", {squared}, prefix + "/variance", &n);
    add_ints(*n, "axes", {-1});
    const std::string eps = initializer(prefix + "/epsilon", Tensor::scalar(epsilon, x.dtype));
    const std::string stddev = node("Sqrt", {node("Add", {var, eps}, prefix + "/var_eps")}, prefix + "/stddev");
    const std::string normed = node("Div", {centered, stddev}, prefix + "/normalized");
    const std::string y = node("Add", {node("Mul", {normed, g}, prefix + "/scaled"), b}, prefix + "/layer_norm");
    return made(x.shape, x.dtype, y, false);
  }

  OnnxExportOptions options_;
  onnx::ModelProto proto_;
  onnx::GraphProto* graph_ = nullptr;
  std::set<std::string> used_, outputs_;
};

}  // namespace

std::string export_onnx_to_bytes(const Model& model, const OnnxExportOptions& options) {
  return Exporter(options).run(model);
}

void export_onnx(const Model& model, const std::filesystem::path& path, const OnnxExportOptions& options) {
  io::write_file_atomically(path, export_onnx_to_bytes(model, options));
}

}  // namespace kiln
