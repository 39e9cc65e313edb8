// The subgraphs of onnx/import_patterns.hpp. Each matcher starts at one node kind and walks to
// the nodes around it; a node joins a match only when no other match holds it, and each value
// the match makes (other than its output) must be read by the match's own nodes alone.
#include "onnx/import_patterns.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

namespace kiln::onnx_detail {
namespace {

class SubgraphFinder {
 public:
  SubgraphFinder(const onnx::GraphProto& graph, const ConstantOf& constant) : graph_(graph), constant_(constant) {
    for (int i = 0; i < graph.node_size(); ++i) {
      for (const auto& out : graph.node(i).output()) {
        if (!out.empty()) producer_.emplace(out, static_cast<std::size_t>(i));
      }
      for (const auto& in : graph.node(i).input()) {
        if (!in.empty()) readers_[in].insert(static_cast<std::size_t>(i));
      }
    }
    for (const auto& out : graph.output()) graph_outputs_.insert(out.name());
  }

  std::vector<FusedLayer> run() {
    // Whole TransformerEncoders first, then attention: their scores hold MatMuls and Muls that
    // other matchers must not take.
    for (std::size_t i = 0; i < size(); ++i) {
      if (op(i) == "Softmax") transformer_encoder(i);
    }
    for (std::size_t i = 0; i < size(); ++i) {
      if (op(i) == "MatMul") attention(i);
    }
    for (std::size_t i = 0; i < size(); ++i) {
      if (op(i) == "Erf") gelu(i);
      if (op(i) == "Where") relu(i);
      if (op(i) == "Reshape") group_normalization(i);
      if (op(i) == "ReduceSum") dot(i);
    }
    for (std::size_t i = 0; i < size(); ++i) {
      if (op(i) == "ReduceMean" && !claimed_.count(i)) layer_normalization(i);
    }
    for (std::size_t i = 0; i < size(); ++i) {
      if ((op(i) == "Sub" || op(i) == "Mul") && !claimed_.count(i)) by_vectors(i);
    }
    std::sort(found_.begin(), found_.end(), [](const FusedLayer& a, const FusedLayer& b) { return a.last < b.last; });
    return found_;
  }

 private:
  std::size_t size() const { return static_cast<std::size_t>(graph_.node_size()); }
  const onnx::NodeProto& node(std::size_t i) const { return graph_.node(static_cast<int>(i)); }
  const std::string& op(std::size_t i) const { return node(i).op_type(); }
  const std::string& in(std::size_t i, int k) const {
    static const std::string none;
    return k < node(i).input_size() ? node(i).input(k) : none;
  }
  const std::string& out(std::size_t i) const {
    static const std::string none;
    return node(i).output_size() > 0 ? node(i).output(0) : none;
  }

  // The unclaimed node of type `op_type` that makes `value`, if any.
  std::optional<std::size_t> made_by(const std::string& value, const char* op_type) const {
    const auto it = producer_.find(value);
    if (it == producer_.end() || claimed_.count(it->second) || op(it->second) != op_type) return std::nullopt;
    if (node(it->second).output_size() != 1 || !node(it->second).domain().empty()) return std::nullopt;
    return it->second;
  }

  // The one unclaimed node that reads `value` (which is no graph output), if there is exactly one.
  std::optional<std::size_t> only_reader(const std::string& value, const char* op_type) const {
    const auto it = readers_.find(value);
    if (it == readers_.end() || it->second.size() != 1 || graph_outputs_.count(value)) return std::nullopt;
    const std::size_t r = *it->second.begin();
    if (claimed_.count(r) || op(r) != op_type || node(r).output_size() != 1 || !node(r).domain().empty())
      return std::nullopt;
    return r;
  }

  // `value` is read only by the nodes in `by` (and is no graph output).
  bool read_only_by(const std::string& value, const std::set<std::size_t>& by) const {
    if (graph_outputs_.count(value)) return false;
    const auto it = readers_.find(value);
    if (it == readers_.end()) return false;
    return std::all_of(it->second.begin(), it->second.end(), [&](std::size_t r) { return by.count(r) > 0; });
  }

  const Tensor* constant(const std::string& name) const { return name.empty() ? nullptr : constant_(name); }

  std::optional<double> scalar(const std::string& name) const {
    const Tensor* t = constant(name);
    if (!t || t->numel() != 1 || !is_floating(t->dtype())) return std::nullopt;
    return t->to(DType::Float64).to_vector<double>()[0];
  }

  static bool close_to(std::optional<double> v, double expected) {
    return v && std::abs(*v - expected) <= 1e-6 * std::max(1.0, std::abs(expected));
  }

  // The input of two-input node i that is not `one`, or "" when neither or both are.
  std::string other_input(std::size_t i, const std::string& one) const {
    if (node(i).input_size() != 2) return "";
    if (in(i, 0) == one && in(i, 1) != one) return in(i, 1);
    if (in(i, 1) == one && in(i, 0) != one) return in(i, 0);
    return "";
  }

  // Of a two-input node: {the computed input, the scalar constant} in either order.
  std::optional<std::pair<std::string, double>> value_and_scalar(std::size_t i) const {
    if (node(i).input_size() != 2) return std::nullopt;
    for (int k : {1, 0}) {
      if (const auto s = scalar(in(i, k)); s && !constant(in(i, 1 - k))) return std::make_pair(in(i, 1 - k), *s);
    }
    return std::nullopt;
  }

  std::vector<std::int64_t> ints_attribute(std::size_t i, const char* name) const {
    for (const auto& a : node(i).attribute()) {
      if (a.name() == name) return {a.ints().begin(), a.ints().end()};
    }
    return {};
  }
  std::int64_t int_attribute(std::size_t i, const char* name, std::int64_t otherwise) const {
    for (const auto& a : node(i).attribute()) {
      if (a.name() == name) return a.i();
    }
    return otherwise;
  }

  // A reduction's or Unsqueeze's axes: the attribute (older opsets) or the constant input 1.
  std::optional<std::vector<std::int64_t>> axes_of(std::size_t i) const {
    if (!in(i, 1).empty()) {
      const Tensor* t = constant(in(i, 1));
      if (!t || t->dtype() != DType::Int64 || t->ndim() != 1) return std::nullopt;
      return t->to_vector<std::int64_t>();
    }
    return ints_attribute(i, "axes");
  }

  void add(FusedLayer f) {
    for (std::size_t n : f.nodes) claimed_.insert(n);
    f.last = *std::max_element(f.nodes.begin(), f.nodes.end());
    f.output = out(f.last);
    found_.push_back(std::move(f));
  }

  // x / 2 * (1 + erf(x / sqrt(2))), from its Erf: Kiln's (x * 0.5) * (1 + erf) and PyTorch's
  // (x * (1 + erf)) * 0.5, with x / sqrt(2) as Div or as Mul by 1 / sqrt(2).
  void gelu(std::size_t e) {
    if (auto f = gelu_formula(e)) add(std::move(*f));
  }

  std::optional<FusedLayer> gelu_formula(std::size_t e) const {
    const auto scaled = producer_.find(in(e, 0));
    if (claimed_.count(e) || scaled == producer_.end() || claimed_.count(scaled->second) ||
        !only_reader(in(e, 0), "Erf")) {
      return std::nullopt;
    }
    const std::size_t d = scaled->second;
    std::string x;
    if (op(d) == "Div" && close_to(scalar(in(d, 1)), std::sqrt(2.0)) && !constant(in(d, 0))) {
      x = in(d, 0);
    } else if (op(d) == "Mul") {
      const auto vs = value_and_scalar(d);
      if (vs && close_to(vs->second, 1 / std::sqrt(2.0))) x = vs->first;
    }
    if (x.empty()) return std::nullopt;
    const auto plus = only_reader(out(e), "Add");
    if (!plus || !close_to(scalar(other_input(*plus, out(e))), 1.0)) return std::nullopt;
    const auto product = only_reader(out(*plus), "Mul");
    if (!product) return std::nullopt;
    const std::string other = other_input(*product, out(*plus));
    std::vector<std::size_t> nodes{d, e, *plus, *product};
    if (other == x) {
      const auto half = only_reader(out(*product), "Mul");
      if (!half || !close_to(scalar(other_input(*half, out(*product))), 0.5)) return std::nullopt;
      nodes.push_back(*half);
    } else if (close_to(scalar(other), 0.5)) {
      const auto times_x = only_reader(out(*product), "Mul");
      if (!times_x || other_input(*times_x, out(*product)) != x) return std::nullopt;
      nodes.push_back(*times_x);
    } else {
      const auto half = made_by(other, "Mul");
      if (!half || !only_reader(other, "Mul")) return std::nullopt;
      const auto vs = value_and_scalar(*half);
      if (!vs || vs->first != x || !close_to(vs->second, 0.5)) return std::nullopt;
      nodes.push_back(*half);
    }
    FusedLayer f;
    f.type = "gelu";
    f.inputs = {x};
    f.nodes = nodes;
    f.output = out(*std::max_element(nodes.begin(), nodes.end()));
    return f;
  }

  // Keras's ReLU with a threshold as Kiln writes it:
  // Where(x > threshold, min(x, max_value) or x, (x - threshold) * negative_slope).
  void relu(std::size_t w) {
    if (node(w).input_size() != 3) return;
    const auto above = made_by(in(w, 0), "Greater");
    if (!above || !only_reader(in(w, 0), "Where") || constant(in(*above, 0))) return;
    const std::string x = in(*above, 0);
    const auto threshold = scalar(in(*above, 1));
    if (!threshold) return;
    std::vector<std::size_t> nodes{*above, w};
    FusedLayer f;
    f.type = "ReLU";
    f.numbers["threshold"] = *threshold;
    if (in(w, 1) != x) {
      const auto capped = made_by(in(w, 1), "Min");
      if (!capped || !only_reader(in(w, 1), "Where")) return;
      const auto vs = value_and_scalar(*capped);
      if (!vs || vs->first != x) return;
      f.numbers["max_value"] = vs->second;
      nodes.push_back(*capped);
    }
    const auto below = made_by(in(w, 2), "Mul");
    if (!below || !only_reader(in(w, 2), "Where")) return;
    const auto slope = value_and_scalar(*below);
    if (!slope) return;
    const auto shifted = made_by(slope->first, "Sub");
    if (!shifted || !only_reader(slope->first, "Mul") || in(*shifted, 0) != x || scalar(in(*shifted, 1)) != threshold) {
      return;
    }
    f.numbers["negative_slope"] = slope->second;
    nodes.push_back(*below);
    nodes.push_back(*shifted);
    f.inputs = {x};
    f.nodes = nodes;
    add(std::move(f));
  }

  struct Normalized {
    std::vector<std::size_t> nodes;
    std::size_t divided = 0;  // the Div giving the normalized values
    double epsilon = 0;
  };

  // From centered = Sub(v, mean) on: Mul(centered, centered), ReduceMean over `axes`, Add of
  // epsilon, Sqrt, Div(centered, that).
  std::optional<Normalized> normalized(std::size_t centered, const std::vector<std::int64_t>& axes) const {
    const std::string& c = out(centered);
    const auto cit = readers_.find(c);
    if (cit == readers_.end() || cit->second.size() != 2 || graph_outputs_.count(c)) return std::nullopt;
    std::optional<std::size_t> squared, divided;
    for (std::size_t k : cit->second) {
      if (op(k) == "Mul" && in(k, 0) == c && in(k, 1) == c) squared = k;
      if (op(k) == "Div" && in(k, 0) == c) divided = k;
    }
    if (!squared || !divided || claimed_.count(*squared) || claimed_.count(*divided)) return std::nullopt;
    const auto variance = only_reader(out(*squared), "ReduceMean");
    if (!variance || axes_of(*variance) != axes || int_attribute(*variance, "keepdims", 1) != 1) return std::nullopt;
    const auto var_eps = only_reader(out(*variance), "Add");
    if (!var_eps) return std::nullopt;
    const auto epsilon = scalar(other_input(*var_eps, out(*variance)));
    const auto root = only_reader(out(*var_eps), "Sqrt");
    if (!epsilon || !root || !only_reader(out(*root), "Div") || in(*divided, 1) != out(*root)) return std::nullopt;
    return Normalized{{centered, *squared, *variance, *var_eps, *root, *divided}, *divided, *epsilon};
  }

  // LayerNormalization before opset 17: ReduceMean over the last axis, the statistics above,
  // then Mul by gamma and Add of beta ([D] each).
  void layer_normalization(std::size_t mean) {
    if (auto f = layer_norm_formula(mean)) add(std::move(*f));
  }

  std::optional<FusedLayer> layer_norm_formula(std::size_t mean) const {
    const auto axes = axes_of(mean);
    if (claimed_.count(mean) || !axes || *axes != std::vector<std::int64_t>{-1} ||
        int_attribute(mean, "keepdims", 1) != 1) {
      return std::nullopt;
    }
    const std::string& x = in(mean, 0);
    if (constant(x) || !only_reader(out(mean), "Sub")) return std::nullopt;
    const std::size_t centered = *only_reader(out(mean), "Sub");
    if (in(centered, 0) != x || in(centered, 1) != out(mean)) return std::nullopt;
    const auto n = normalized(centered, *axes);
    if (!n) return std::nullopt;
    const auto scaled = only_reader(out(n->divided), "Mul");
    if (!scaled) return std::nullopt;
    const Tensor* gamma = constant(other_input(*scaled, out(n->divided)));
    const auto shifted = only_reader(out(*scaled), "Add");
    if (!gamma || gamma->ndim() != 1 || !shifted) return std::nullopt;
    const Tensor* beta = constant(other_input(*shifted, out(*scaled)));
    if (!beta || beta->shape() != gamma->shape()) return std::nullopt;
    FusedLayer f;
    f.type = "LayerNormalization";
    f.inputs = {x};
    f.nodes = n->nodes;
    f.nodes.insert(f.nodes.end(), {mean, *scaled, *shifted});
    f.output = out(*shifted);
    f.numbers["epsilon"] = n->epsilon;
    f.tensors["gamma"] = *gamma;
    f.tensors["beta"] = *beta;
    return f;
  }

  // A LayerNormalization of `x` over its last axis, as the operator (opset 17) or its formula.
  std::optional<FusedLayer> layer_norm_of(const std::string& x) const {
    const auto it = readers_.find(x);
    if (it == readers_.end()) return std::nullopt;
    for (std::size_t r : it->second) {
      if (claimed_.count(r)) continue;
      if (op(r) == "ReduceMean" && in(r, 0) == x) {
        if (auto f = layer_norm_formula(r)) return f;
      }
      if (op(r) == "LayerNormalization" && in(r, 0) == x && node(r).output_size() == 1) {
        const Tensor *gamma = constant(in(r, 1)), *beta = constant(in(r, 2));
        if (!gamma || !beta || gamma->ndim() != 1 || beta->shape() != gamma->shape()) continue;
        if (int_attribute(r, "axis", -1) != -1) continue;
        FusedLayer f;
        f.nodes = {r};
        f.output = out(r);
        f.numbers["epsilon"] = 1e-5;
        for (const auto& a : node(r).attribute()) {
          if (a.name() == "epsilon") f.numbers["epsilon"] = a.f();
        }
        f.tensors["gamma"] = *gamma;
        f.tensors["beta"] = *beta;
        return f;
      }
    }
    return std::nullopt;
  }

  // x @ kernel + bias, both constants: the MatMul reading x (among x's readers) and its Add.
  struct Projection {
    Tensor kernel, bias;
    std::vector<std::size_t> nodes;
    std::string output;
  };
  std::optional<Projection> projection_of(const std::string& x) const {
    const auto it = readers_.find(x);
    if (it == readers_.end()) return std::nullopt;
    for (std::size_t m : it->second) {
      if (claimed_.count(m) || op(m) != "MatMul" || in(m, 0) != x || node(m).output_size() != 1) continue;
      const Tensor* kernel = constant(in(m, 1));
      const auto add = only_reader(out(m), "Add");
      if (!kernel || kernel->ndim() != 2 || !add) continue;
      const Tensor* bias = constant(other_input(*add, out(m)));
      if (!bias || bias->numel() != kernel->size(1)) continue;
      return Projection{*kernel, bias->reshape({bias->numel()}), {m, *add}, out(*add)};
    }
    return std::nullopt;
  }

  // heads = Transpose(Reshape(x @ W + b, [0, 0, heads, dim]), perm): the projection and its shape.
  struct HeadsOf {
    std::string input;
    Projection projection;
    std::int64_t heads = 0, dim = 0;
  };
  std::optional<HeadsOf> heads_of(const std::string& value, const std::vector<std::int64_t>& perm) const {
    const auto t = made_by(value, "Transpose");
    if (!t || !only_reader(value, "MatMul") || ints_attribute(*t, "perm") != perm) return std::nullopt;
    const auto r = made_by(in(*t, 0), "Reshape");
    if (!r || !only_reader(in(*t, 0), "Transpose") || !constant(in(*r, 1))) return std::nullopt;
    const auto shape = constant(in(*r, 1))->to(DType::Int64).to_vector<std::int64_t>();
    if (shape.size() != 4 || shape[0] != 0 || shape[1] != 0 || shape[2] < 1 || shape[3] < 1) return std::nullopt;
    const auto add = made_by(in(*r, 0), "Add");
    if (!add || !only_reader(in(*r, 0), "Reshape")) return std::nullopt;
    for (int k : {0, 1}) {
      const auto m = made_by(in(*add, k), "MatMul");
      if (!m || !only_reader(in(*add, k), "Add")) continue;
      const Tensor *kernel = constant(in(*m, 1)), *bias = constant(in(*add, 1 - k));
      if (!kernel || !bias || kernel->ndim() != 2 || kernel->size(1) % shape[2] != 0 ||
          kernel->size(1) / shape[2] != shape[3] ||  // (not shape[2] * shape[3]: the file's values may overflow)
          bias->numel() != kernel->size(1)) {
        return std::nullopt;
      }
      return HeadsOf{in(*m, 0), Projection{*kernel, bias->reshape({bias->numel()}), {*m, *add, *r, *t}, value},
                     shape[2], shape[3]};
    }
    return std::nullopt;
  }

  // A constant vector over the last axis: [C], or [1, ..., C].
  const Tensor* vector_constant(const std::string& name) const {
    const Tensor* t = constant(name);
    if (!t || t->ndim() < 1 || !is_floating(t->dtype())) return nullptr;
    for (std::int64_t a = 0; a + 1 < t->ndim(); ++a) {
      if (t->size(a) != 1) return nullptr;
    }
    return t;
  }

  // (x - mean) / stddev (Normalization) or x * scale + shift (BatchNormalization with its
  // statistics folded in; Normalization's invert has the same form), by vectors over the
  // last axis (scalars are Rescaling's).
  void by_vectors(std::size_t first) {
    const bool centered = op(first) == "Sub";
    if (node(first).input_size() != 2 || constant(in(first, 0))) return;
    const Tensor* a = vector_constant(in(first, 1));
    const auto next = only_reader(out(first), centered ? "Div" : "Add");
    if (!a || !next || node(*next).input_size() != 2) return;
    if (centered && in(*next, 0) != out(first)) return;
    const Tensor* b = vector_constant(other_input(*next, out(first)));
    if (!b || b->numel() != a->numel()) return;
    FusedLayer f;
    f.type = centered ? "Normalization" : "ScaleShift";
    f.inputs = {in(first, 0)};
    f.nodes = {first, *next};
    f.tensors[centered ? "mean" : "scale"] = a->reshape({a->numel()});
    f.tensors[centered ? "stddev" : "shift"] = b->reshape({b->numel()});
    add(std::move(f));
  }

  // Reshape into groups, mean and variance over each group (ReduceMean, Sub, Mul, ReduceMean,
  // Add epsilon, Sqrt, Div), Reshape back, then Mul by gamma and Add of beta when they exist.
  void group_normalization(std::size_t r) {
    const Tensor* grouping = constant(in(r, 1));
    if (!grouping || grouping->dtype() != DType::Int64 || constant(in(r, 0))) return;
    const std::string& g = out(r);
    const auto rit = readers_.find(g);
    if (rit == readers_.end() || rit->second.size() != 2 || graph_outputs_.count(g)) return;
    std::optional<std::size_t> mean, centered;
    for (std::size_t k : rit->second) {
      if (op(k) == "ReduceMean" && in(k, 0) == g) mean = k;
      if (op(k) == "Sub" && in(k, 0) == g) centered = k;
    }
    if (!mean || !centered || claimed_.count(*mean) || claimed_.count(*centered) || in(*centered, 1) != out(*mean) ||
        !only_reader(out(*mean), "Sub")) {
      return;
    }
    const auto axes = axes_of(*mean);
    if (!axes || int_attribute(*mean, "keepdims", 1) != 1) return;
    const auto n = normalized(*centered, *axes);
    if (!n) return;
    const auto back = only_reader(out(n->divided), "Reshape");
    if (!back || !constant(in(*back, 1)) || constant(in(*back, 1))->dtype() != DType::Int64) return;
    const Tensor shape = *constant(in(*back, 1));
    const auto target = shape.to_vector<std::int64_t>();
    const auto groups = grouping->to_vector<std::int64_t>();
    std::string layout;
    std::int64_t channels = 0;
    if (*axes == std::vector<std::int64_t>{2} && groups.size() == 3 && target.size() >= 3) {
      layout = "channels_first", channels = target[1];  // [N, G, C / G * steps], back to [N, C, steps...]
    } else if (*axes == std::vector<std::int64_t>{1, 3} && groups.size() == 4 && target.size() >= 3) {
      layout = "channels_last", channels = target.back();  // [N, steps, G, C / G], back to [N, steps..., C]
    } else {
      return;
    }
    FusedLayer f;
    f.type = "GroupNormalization";
    f.inputs = {in(r, 0)};
    f.nodes = n->nodes;
    f.nodes.insert(f.nodes.end(), {r, *mean, *back});
    f.numbers["groups"] = static_cast<double>(groups[layout == "channels_first" ? 1 : 2]);
    f.numbers["epsilon"] = n->epsilon;
    f.strings["layout"] = layout;
    f.tensors["grouping"] = *grouping;
    f.tensors["shape"] = shape;
    // gamma and beta per channel: [C] channels last, [C, 1...] channels first.
    Shape param{channels};
    if (layout == "channels_first") param.insert(param.end(), target.size() - 2, 1);
    std::string y = out(*back);
    for (const auto& [what, kind] : {std::pair<const char*, const char*>{"gamma", "Mul"}, {"beta", "Add"}}) {
      const auto next = only_reader(y, kind);
      if (!next) continue;
      const Tensor* weight = constant(other_input(*next, y));
      if (!weight || weight->shape() != param || !is_floating(weight->dtype())) continue;
      f.tensors[what] = weight->reshape({channels});
      f.nodes.push_back(*next);
      y = out(*next);
    }
    add(std::move(f));
  }

  // Keras's Dot of two [N, D] values: ReduceSum over axis 1, keeping it, of their product.
  void dot(std::size_t s) {
    const auto axes = axes_of(s);
    if (!axes || *axes != std::vector<std::int64_t>{1} || int_attribute(s, "keepdims", 1) != 1) return;
    const auto product = made_by(in(s, 0), "Mul");
    if (!product || !only_reader(in(s, 0), "ReduceSum") || node(*product).input_size() != 2) return;
    if (constant(in(*product, 0)) || constant(in(*product, 1))) return;
    FusedLayer f;
    f.type = "Dot";
    f.inputs = {in(*product, 0), in(*product, 1)};
    f.nodes = {*product, s};
    add(std::move(f));
  }

  // [N, Tq, 1, D] + [N, 1, Tv, D] of Unsqueezes of the query and the key: the sum node and both inputs.
  std::optional<std::pair<std::string, std::string>> query_plus_key(std::size_t sum,
                                                                    std::vector<std::size_t>& nodes) const {
    if (node(sum).input_size() != 2) return std::nullopt;
    const auto q = made_by(in(sum, 0), "Unsqueeze"), k = made_by(in(sum, 1), "Unsqueeze");
    if (!q || !k || !only_reader(in(sum, 0), "Add") || !only_reader(in(sum, 1), "Add")) return std::nullopt;
    if (axes_of(*q) != std::vector<std::int64_t>{2} || axes_of(*k) != std::vector<std::int64_t>{1}) return std::nullopt;
    nodes.insert(nodes.end(), {*q, *k, sum});
    return std::make_pair(in(*q, 0), in(*k, 0));
  }

  // keras_nlp's TransformerEncoder as Kiln writes it, from the Softmax of its attention: Q, K, V
  // projections of one value into heads, scores scaled by 1/sqrt(key_dim) (the causal mask
  // added), the output projection, a residual Add, LayerNormalizations after each block
  // (before, with normalize_first), the feed-forward MatMuls with an activation between them
  // (none, one node, or gelu's formula) and the second residual Add.
  void transformer_encoder(std::size_t sm) {
    const std::int64_t axis = int_attribute(sm, "axis", -1);
    if (claimed_.count(sm) || (axis != -1 && axis != 3) || node(sm).output_size() != 1) return;
    std::vector<std::size_t> nodes{sm};
    std::string scores = in(sm, 0);
    bool causal = false;
    std::int64_t mask_steps = 0;
    if (const auto masked = made_by(scores, "Add"); masked && only_reader(scores, "Softmax")) {
      const Tensor* mask = nullptr;
      std::string inner;
      for (int k : {0, 1}) {
        if (constant(in(*masked, k)) && !constant(in(*masked, 1 - k))) {
          mask = constant(in(*masked, k));
          inner = in(*masked, 1 - k);
        }
      }
      if (!mask || mask->ndim() != 2 || mask->size(0) != mask->size(1) || !is_floating(mask->dtype())) return;
      const auto values = mask->to(DType::Float64).to_vector<double>();
      const std::int64_t t = mask->size(0);
      for (std::int64_t i = 0; i < t; ++i)
        for (std::int64_t j = 0; j < t; ++j) {
          if (values[i * t + j] != (j > i ? -1e9 : 0.0)) return;
        }
      causal = true;
      mask_steps = t;
      nodes.push_back(*masked);
      scores = inner;
    }
    const auto scaled = made_by(scores, "Mul");
    if (!scaled || !only_reader(scores, causal ? "Add" : "Softmax")) return;
    const auto vs = value_and_scalar(*scaled);
    if (!vs) return;
    const auto qk = made_by(vs->first, "MatMul");
    if (!qk || !only_reader(vs->first, "Mul")) return;
    const auto q = heads_of(in(*qk, 0), {0, 2, 1, 3}), k = heads_of(in(*qk, 1), {0, 2, 3, 1});
    const auto mixed = only_reader(out(sm), "MatMul");
    if (!q || !k || !mixed || in(*mixed, 0) != out(sm)) return;
    const auto v = heads_of(in(*mixed, 1), {0, 2, 1, 3});
    if (!v || q->input != k->input || q->input != v->input || q->heads != k->heads || q->heads != v->heads ||
        q->dim != k->dim || v->dim != q->dim || !close_to(vs->second, 1 / std::sqrt(static_cast<double>(q->dim)))) {
      return;
    }
    const std::int64_t heads = q->heads, dim = q->dim, hidden = heads * dim;
    nodes.insert(nodes.end(), {*scaled, *qk, *mixed});
    for (const auto* h : {&*q, &*k, &*v})
      nodes.insert(nodes.end(), h->projection.nodes.begin(), h->projection.nodes.end());
    const auto back = only_reader(out(*mixed), "Transpose");
    if (!back || ints_attribute(*back, "perm") != std::vector<std::int64_t>{0, 2, 1, 3}) return;
    const auto joined = only_reader(out(*back), "Reshape");
    if (!joined || !constant(in(*joined, 1)) ||
        constant(in(*joined, 1))->to(DType::Int64).to_vector<std::int64_t>() !=
            std::vector<std::int64_t>{0, 0, hidden}) {
      return;
    }
    const auto attended = projection_of(out(*joined));
    if (!attended || attended->kernel.size(0) != hidden || attended->kernel.size(1) != hidden) return;
    nodes.insert(nodes.end(), {*back, *joined});
    nodes.insert(nodes.end(), attended->nodes.begin(), attended->nodes.end());
    const auto residual = only_reader(attended->output, "Add");
    if (!residual) return;
    const std::string x = other_input(*residual, attended->output);
    if (x.empty() || constant(x)) return;
    nodes.push_back(*residual);
    const bool pre = q->input != x;
    std::optional<FusedLayer> first_norm, second_norm;
    std::string block = out(*residual), ff_in;
    if (pre) {
      first_norm = layer_norm_of(x);
      if (!first_norm || first_norm->output != q->input) return;
      second_norm = layer_norm_of(block);
      if (!second_norm) return;
      ff_in = second_norm->output;
    } else {
      first_norm = layer_norm_of(block);
      if (!first_norm) return;
      block = ff_in = first_norm->output;
    }
    const auto intermediate = projection_of(ff_in);
    if (!intermediate || intermediate->kernel.size(0) != hidden) return;
    nodes.insert(nodes.end(), intermediate->nodes.begin(), intermediate->nodes.end());
    const auto act = activation_of(intermediate->output, nodes);
    if (!act) return;
    const auto& [activation, activated] = *act;
    const auto output = projection_of(activated);
    if (!output || output->kernel.size(0) != intermediate->kernel.size(1) || output->kernel.size(1) != hidden) return;
    nodes.insert(nodes.end(), output->nodes.begin(), output->nodes.end());
    const auto residual2 = only_reader(output->output, "Add");
    if (!residual2 || other_input(*residual2, output->output) != block) return;
    nodes.push_back(*residual2);
    if (!pre) {
      second_norm = layer_norm_of(out(*residual2));
      if (!second_norm) return;
    }
    for (const auto* n : {&*first_norm, &*second_norm}) nodes.insert(nodes.end(), n->nodes.begin(), n->nodes.end());
    FusedLayer f;
    f.type = "TransformerEncoder";
    f.inputs = {x};
    f.nodes = nodes;
    f.numbers["num_heads"] = static_cast<double>(heads);
    f.numbers["intermediate_dim"] = static_cast<double>(intermediate->kernel.size(1));
    f.numbers["layer_norm_epsilon"] = first_norm->numbers.at("epsilon");
    f.numbers["normalize_first"] = pre ? 1 : 0;
    f.numbers["use_causal_mask"] = causal ? 1 : 0;
    f.numbers["mask_steps"] = static_cast<double>(mask_steps);
    f.strings["activation"] = activation;
    const std::string a = "self_attention/";
    for (const auto& [name, h] : {std::pair<const char*, const HeadsOf*>{"query", &*q}, {"key", &*k}, {"value", &*v}}) {
      f.tensors[a + name + "/kernel"] = h->projection.kernel.reshape({hidden, heads, dim});
      f.tensors[a + name + "/bias"] = h->projection.bias.reshape({heads, dim});
    }
    f.tensors[a + "attention_output/kernel"] = attended->kernel.reshape({heads, dim, hidden});
    f.tensors[a + "attention_output/bias"] = attended->bias;
    f.tensors["self_attention_layer_norm/gamma"] = first_norm->tensors.at("gamma");
    f.tensors["self_attention_layer_norm/beta"] = first_norm->tensors.at("beta");
    f.tensors["feedforward_layer_norm/gamma"] = second_norm->tensors.at("gamma");
    f.tensors["feedforward_layer_norm/beta"] = second_norm->tensors.at("beta");
    f.tensors["feedforward_intermediate_dense/kernel"] = intermediate->kernel;
    f.tensors["feedforward_intermediate_dense/bias"] = intermediate->bias;
    f.tensors["feedforward_output_dense/kernel"] = output->kernel;
    f.tensors["feedforward_output_dense/bias"] = output->bias;
    std::sort(f.nodes.begin(), f.nodes.end());
    if (std::adjacent_find(f.nodes.begin(), f.nodes.end()) != f.nodes.end()) return;
    add(std::move(f));
  }

  // The activation Kiln's exporter writes after `x` (activation_on): none, one node, or x times
  // a function of x (silu, hard_silu, mish), or gelu's formula. Its name and output value; its
  // nodes join `nodes`.
  std::optional<std::pair<std::string, std::string>> activation_of(const std::string& x,
                                                                   std::vector<std::size_t>& nodes) const {
    const auto it = readers_.find(x);
    if (it == readers_.end() || graph_outputs_.count(x)) return std::nullopt;
    const std::set<std::size_t>& readers = it->second;
    for (std::size_t r : readers) {
      if (claimed_.count(r) || node(r).output_size() != 1) return std::nullopt;
    }
    auto attr = [&](std::size_t n, const char* name, double otherwise) {
      for (const auto& a : node(n).attribute()) {
        if (a.name() == name) return static_cast<double>(a.f());
      }
      return otherwise;
    };
    if (readers.size() == 1) {
      const std::size_t a = *readers.begin();
      static const std::map<std::string, std::string> plain{
          {"Relu", "relu"},         {"Sigmoid", "sigmoid"}, {"Tanh", "tanh"}, {"Softplus", "softplus"},
          {"Softsign", "softsign"}, {"Exp", "exponential"}, {"Selu", "selu"}, {"MatMul", "linear"}};
      std::string name;
      if (plain.count(op(a))) name = plain.at(op(a));
      if (op(a) == "Elu" && close_to(attr(a, "alpha", 1.0), 1.0)) name = "elu";
      if (op(a) == "LeakyRelu" && close_to(attr(a, "alpha", 0.01), 0.3)) name = "leaky_relu";
      if (op(a) == "HardSigmoid" && close_to(attr(a, "alpha", 0.2), 1.0 / 6) && close_to(attr(a, "beta", 0.5), 0.5))
        name = "hard_sigmoid";
      if ((op(a) == "Softmax" || op(a) == "LogSoftmax") &&
          (int_attribute(a, "axis", -1) == -1 || int_attribute(a, "axis", -1) == 2))
        name = op(a) == "Softmax" ? "softmax" : "log_softmax";
      if (op(a) == "Clip" && scalar(in(a, 1)) == 0.0 && scalar(in(a, 2)) == 6.0) name = "relu6";
      if (name.empty()) return std::nullopt;
      if (name == "linear") return std::make_pair(name, x);
      nodes.push_back(a);
      return std::make_pair(name, out(a));
    }
    if (readers.size() != 2) return std::nullopt;
    for (std::size_t r : readers) {
      if (const auto e = op(r) == "Div" ? only_reader(out(r), "Erf") : std::nullopt) {
        const auto g = gelu_formula(*e);
        if (!g || g->inputs[0] != x) return std::nullopt;
        nodes.insert(nodes.end(), g->nodes.begin(), g->nodes.end());
        return std::make_pair(std::string("gelu"), g->output);
      }
    }
    // x * f(x): the Mul reads x and f's last node, which only it reads.
    std::optional<std::size_t> mul, f;
    for (std::size_t r : readers) (op(r) == "Mul" ? mul : f) = r;
    if (!mul || !f || other_input(*mul, x).empty()) return std::nullopt;
    std::vector<std::size_t> chain{*f};
    std::string name;
    if (op(*f) == "Sigmoid") name = "silu";
    if (op(*f) == "HardSigmoid" && close_to(attr(*f, "alpha", 0.2), 1.0 / 6) && close_to(attr(*f, "beta", 0.5), 0.5))
      name = "hard_silu";
    if (op(*f) == "Softplus") {
      const auto t = only_reader(out(*f), "Tanh");
      if (!t) return std::nullopt;
      chain.push_back(*t);
      name = "mish";
    }
    if (name.empty() || other_input(*mul, x) != out(chain.back()) || !only_reader(out(chain.back()), "Mul"))
      return std::nullopt;
    nodes.insert(nodes.end(), chain.begin(), chain.end());
    nodes.push_back(*mul);
    return std::make_pair(name, out(*mul));
  }

  // Keras's Attention and AdditiveAttention, from the MatMul of the weights by the values:
  // Softmax over the keys of scores, the causal mask subtracted (1e9 after each query's step),
  // the scores a MatMul of the query by the transposed key (times scale: Attention "dot"),
  // or the ReduceSum of tanh of query + key (Attention "concat": scaled inside the tanh, times
  // concat_score_weight; AdditiveAttention: scaled after the tanh).
  void attention(std::size_t m) {
    if (node(m).input_size() != 2 || constant(in(m, 1))) return;
    const auto softmax = made_by(in(m, 0), "Softmax");
    if (!softmax || !only_reader(in(m, 0), "MatMul")) return;
    const std::int64_t axis = int_attribute(*softmax, "axis", -1);
    if (axis != -1 && axis != 2) return;
    const std::string v = in(m, 1);
    std::vector<std::size_t> nodes{m, *softmax};
    std::string scores = in(*softmax, 0);
    FusedLayer f;
    bool causal = false;
    if (const auto masked = made_by(scores, "Sub"); masked && only_reader(scores, "Softmax")) {
      const Tensor* mask = constant(in(*masked, 1));
      if (!mask || mask->ndim() != 2 || !is_floating(mask->dtype())) return;
      const auto values = mask->to(DType::Float64).to_vector<double>();
      const std::int64_t tq = mask->size(0), tv = mask->size(1);
      for (std::int64_t i = 0; i < tq; ++i)
        for (std::int64_t j = 0; j < tv; ++j) {
          if (values[i * tv + j] != (j > i ? 1e9 : 0.0)) return;
        }
      causal = true;
      f.numbers["mask_rows"] = static_cast<double>(tq);
      f.numbers["mask_columns"] = static_cast<double>(tv);
      nodes.push_back(*masked);
      scores = in(*masked, 0);
    }
    const char* scores_reader = causal ? "Sub" : "Softmax";
    std::optional<std::pair<std::string, std::string>> qk;
    auto scaled_by = [&](const std::string& value, const char* reader, std::string& inner) -> const Tensor* {
      // value = inner * scale for a constant scale read by `reader` alone.
      const auto mul = made_by(value, "Mul");
      if (!mul || !only_reader(value, reader) || node(*mul).input_size() != 2) return nullptr;
      const Tensor* scale = constant(in(*mul, 1));
      if (!scale || constant(in(*mul, 0))) return nullptr;
      nodes.push_back(*mul);
      inner = in(*mul, 0);
      return scale;
    };
    std::string inner;
    const Tensor* outer_scale = scaled_by(scores, scores_reader, inner);
    const std::string unscaled = outer_scale ? inner : scores;
    const char* unscaled_reader = outer_scale ? "Mul" : scores_reader;
    if (const auto product = made_by(unscaled, "MatMul"); product && only_reader(unscaled, unscaled_reader)) {
      // dot: q @ transpose(k, [0, 2, 1]), times scale.
      const auto kt = made_by(in(*product, 1), "Transpose");
      if (!kt || !only_reader(in(*product, 1), "MatMul") ||
          ints_attribute(*kt, "perm") != std::vector<std::int64_t>{0, 2, 1} || constant(in(*product, 0))) {
        return;
      }
      if (outer_scale && outer_scale->numel() != 1) return;
      nodes.insert(nodes.end(), {*product, *kt});
      f.type = "Attention";
      f.strings["score_mode"] = "dot";
      qk = std::make_pair(in(*product, 0), in(*kt, 0));
      if (outer_scale) f.tensors["scale"] = outer_scale->reshape({});
    } else if (const auto summed = made_by(unscaled, "ReduceSum"); summed && only_reader(unscaled, unscaled_reader)) {
      if (axes_of(*summed) != std::vector<std::int64_t>{-1} || int_attribute(*summed, "keepdims", 1) != 0) return;
      nodes.push_back(*summed);
      std::string t = in(*summed, 0);
      std::string before_scale;
      const Tensor* inner_scale = nullptr;
      if (!outer_scale) inner_scale = scaled_by(t, "ReduceSum", before_scale);  // AdditiveAttention's scale
      const std::string tanh_out = inner_scale ? before_scale : t;
      const auto tanh = made_by(tanh_out, "Tanh");
      if (!tanh || !only_reader(tanh_out, inner_scale ? "Mul" : "ReduceSum")) return;
      nodes.push_back(*tanh);
      std::string sum = in(*tanh, 0);
      const Tensor* concat_scale = nullptr;
      if (outer_scale) concat_scale = scaled_by(sum, "Tanh", before_scale);
      const std::string added = concat_scale ? before_scale : sum;
      const auto plus = made_by(added, "Add");
      if (!plus || !only_reader(added, concat_scale ? "Mul" : "Tanh")) return;
      qk = query_plus_key(*plus, nodes);
      if (!qk) return;
      if (outer_scale) {
        // Attention "concat": scores = concat_score_weight * sum(tanh(scale * (q + k))).
        if (outer_scale->numel() != 1 || (concat_scale && concat_scale->numel() != 1)) return;
        f.type = "Attention";
        f.strings["score_mode"] = "concat";
        f.tensors["concat_score_weight"] = outer_scale->reshape({});
        if (concat_scale) f.tensors["scale"] = concat_scale->reshape({});
      } else {
        f.type = "AdditiveAttention";
        if (inner_scale) f.tensors["scale"] = inner_scale->reshape({inner_scale->numel()});
      }
    } else {
      return;
    }
    f.numbers["use_causal_mask"] = causal ? 1 : 0;
    f.inputs = {qk->first, v};
    if (qk->second != v) f.inputs.push_back(qk->second);
    f.nodes = nodes;
    add(std::move(f));
  }

  const onnx::GraphProto& graph_;
  const ConstantOf& constant_;
  std::map<std::string, std::size_t> producer_;
  std::map<std::string, std::set<std::size_t>> readers_;
  std::set<std::string> graph_outputs_;
  std::set<std::size_t> claimed_;
  std::vector<FusedLayer> found_;
};

}  // namespace

std::vector<FusedLayer> find_fused_layers(const onnx::GraphProto& graph, const ConstantOf& constant) {
  return SubgraphFinder(graph, constant).run();
}

}  // namespace kiln::onnx_detail
