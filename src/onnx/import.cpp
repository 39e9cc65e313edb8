// ONNX graph -> Kiln functional model (kiln/onnx.hpp).
//
// Nodes are read in the file's order (ONNX requires a topological one) and each becomes a
// Kiln layer called on symbolic tensors. ONNX images are NCHW and Kiln's NHWC, so each
// symbolic value remembers whether the ONNX value it stands for is the channels-first view of
// it: a Transpose [0, 3, 1, 2] after an NHWC input (Keras's and Kiln's exporters) only sets
// that mark, and an NCHW input (PyTorch's) becomes an NHWC Input with the mark set. Flatten of
// a channels-first value orders features C, H, W where Kiln's Flatten gives H, W, C; the next
// Dense absorbs the difference by permuting its kernel's rows. MatMul followed by Add of a
// constant becomes one Dense with a bias.
//
// A hostile file gives an Error, never a crash or an unbounded allocation: every size is
// checked against the bytes that hold it before anything is allocated, external data must
// be a file inside the model's folder, and a node whose inputs are not produced before it
// (a cycle, a missing initializer) is named.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <set>

#include "kiln/error.hpp"
#include "kiln/io/files.hpp"
#include "kiln/layers/activation.hpp"
#include "kiln/layers/activation_layers.hpp"
#include "kiln/layers/attention.hpp"
#include "kiln/layers/batch_normalization.hpp"
#include "kiln/layers/bidirectional.hpp"
#include "kiln/layers/conv1d.hpp"
#include "kiln/layers/conv2d.hpp"
#include "kiln/layers/conv2d_transpose.hpp"
#include "kiln/layers/cropping.hpp"
#include "kiln/layers/dense.hpp"
#include "kiln/layers/dense_attention.hpp"
#include "kiln/layers/depthwise_conv2d.hpp"
#include "kiln/layers/embedding.hpp"
#include "kiln/layers/global_pooling.hpp"
#include "kiln/layers/group_normalization.hpp"
#include "kiln/layers/leaky_relu.hpp"
#include "kiln/layers/merging.hpp"
#include "kiln/layers/normalization.hpp"
#include "kiln/layers/permute.hpp"
#include "kiln/layers/pooling.hpp"
#include "kiln/layers/pooling1d.hpp"
#include "kiln/layers/preprocessing/normalization.hpp"
#include "kiln/layers/recurrent.hpp"
#include "kiln/layers/repeat_vector.hpp"
#include "kiln/layers/rescaling.hpp"
#include "kiln/layers/reshaping.hpp"
#include "kiln/layers/time_distributed.hpp"
#include "kiln/layers/transformer.hpp"
#include "kiln/layers/unit_normalization.hpp"
#include "kiln/layers/upsampling1d.hpp"
#include "kiln/layers/upsampling2d.hpp"
#include "kiln/layers/zero_padding.hpp"
#include "kiln/onnx.hpp"
#include "onnx/import_patterns.hpp"
#include "onnx/proto.hpp"
#include "onnx/same_padding.hpp"
#include "util/number_text.hpp"

namespace kiln {
namespace {

using namespace onnx_detail;
namespace fs = std::filesystem;

// Largest tensor (elements) and largest per-sample dimension a file may declare.
constexpr std::int64_t kMaxElements = std::int64_t{1} << 31;
// Largest sample a graph input may take: 16 M values (64 MB of float32).
constexpr std::int64_t kMaxSample = std::int64_t{1} << 24;
// The batch size where a Shape's value is tracked: known only when the model runs.
constexpr std::int64_t kBatch = std::numeric_limits<std::int64_t>::min();

const char* kSupported =
    "Conv (1-D, grouped and depthwise too), ConvTranspose, MaxPool, AveragePool (1-D too), GlobalAveragePool, "
    "GlobalMaxPool, Gemm, "
    "MatMul, Add, Sum, Mul, Sub (by scalars or of two values), Div (by scalars), Concat, Flatten, "
    "Reshape, "
    "Max, Min, Mean, ReduceSumSquare + Max + Sqrt + Div (UnitNormalization), Unsqueeze + Tile (RepeatVector), "
    "Transpose (layouts, or Permute), Pad (zeros around steps or "
    "pixels), Slice (cropping them), RNN, "
    "LSTM, GRU (with "
    "Squeeze, Slice, Shape, ConstantOfShape for "
    "their states), "
    "Relu, LeakyRelu, PRelu, Sigmoid, Tanh, Softmax, LogSoftmax, Elu, Selu, Softplus, Softsign, Exp, HardSigmoid, "
    "HardSwish, Gelu, Erf (gelu's formula), Greater + Where (ReLU with a threshold), ReduceMean, ReduceMax (global "
    "pooling, Group- and LayerNormalization's formulas), ReduceSum (Dot, Attention), "
    "Clip, BatchNormalization, LayerNormalization, "
    "Gather, "
    "Resize, Dropout, Identity, Constant";

struct Pending {  // a MatMul by a constant, waiting to see whether an Add gives it a bias
  std::string input;
  Tensor kernel;  // [in, units], rows already in Kiln's order
  Tensor bias;    // [units], once an Add gave one
};

// A projection of x split into attention heads: Reshape [0, 0, heads, dim] of x @ kernel + bias,
// transposed by `perm` (queries and values [0, 2, 1, 3], keys [0, 2, 3, 1]).
struct Heads {
  std::string input;
  Tensor kernel, bias;
  std::int64_t heads = 0, dim = 0;
  std::vector<std::int64_t> perm{0, 1, 2, 3};
};

// Keras's (and Kiln's export of) MultiHeadAttention, recognised step by step:
// 0 Q K^T, 1 scaled, 2 softmax, 3 times V, 4 heads back in place, 5 joined, 6 projected, 7 + bias.
struct AttentionParts {
  Heads q, k, v;
  int stage = 0;
  Tensor out_kernel, out_bias;
};

// An ONNX RNN, LSTM or GRU node, made into a Kiln layer when its output is read: Y (every
// step, return_sequences) or Y_h (the last state); reading both makes two layers.
struct PendingRnn {
  std::string type;  // "SimpleRNN", "LSTM", "GRU"
  SymbolicTensor input;
  std::vector<Tensor> weights;  // Keras's kernel, recurrent_kernel, bias
  std::int64_t units = 0;
  bool go_backwards = false;
  std::string activation = "tanh";
  int output = 0;  // 0: Y [T, 1, N, H]; 1: Y_h [1, N, H]; 2: LSTM's Y_c; 3: Y of both directions as [T, N, 2, H]
  // direction = "bidirectional" (PyTorch's bidirectional=True): the reverse direction's weights,
  // and which direction a Gather of Y_h took (0 forward, 1 backward; -1 both).
  std::vector<Tensor> backward_weights;
  int direction = -1;
  const onnx::NodeProto* node = nullptr;
};

// A layer the importer made, with what it was called on (TimeDistributed's contents).
struct MadeLayer {
  std::shared_ptr<layers::Layer> layer;
  SymbolicTensor input, output;
};

bool same_value(const SymbolicTensor& a, const SymbolicTensor& b) {
  return a.node() == b.node() && a.index() == b.index();
}

// The nodes to import in order: a node of the file, or the last node of a subgraph that is one layer.
struct ImportStep {
  const onnx::NodeProto* node = nullptr;
  const FusedLayer* fused = nullptr;
};

// Keras's l2 normalization, recognised step by step: 0 ReduceSumSquare of `input` over
// `axes`, 1 Max with 1e-12, 2 Sqrt; then Div of the input by it is UnitNormalization.
struct L2Parts {
  std::string input;
  std::vector<int> axes;  // Keras's numbering (the batch is 0), in Kiln's layout
  int stage = 0;
};

struct Sym {
  SymbolicTensor tensor;
  bool channels_first = false;  // the ONNX value is the NCHW view of this NHWC tensor
  bool time_major = false;      // the ONNX value is the [T, N, F] view of this [N, T, F] tensor
  bool steps_reversed = false;  // ... with its steps in reverse order (go_backwards's sequences)
  Shape flat_chw;               // set when the ONNX value is a C,H,W-ordered flattening of it
  std::optional<Pending> pending;
  std::optional<PendingRnn> rnn;
  std::optional<Heads> heads;
  std::optional<AttentionParts> attention;
  std::optional<SymbolicTensor> unsqueezed;
  std::optional<L2Parts> l2;  // [N, 1, F] of this [N, F] tensor, waiting for a Tile
};

std::int64_t checked_count(const Shape& dims, const std::string& where) {
  std::int64_t n = 1;
  for (auto d : dims) {
    if (d < 0) throw Error(where + ": negative dimension " + std::to_string(d));
    if (d != 0 && n > kMaxElements / d) throw Error(where + ": " + shape_str(dims) + " is too large");
    n *= d;
  }
  return n;
}

class Importer {
 public:
  Importer(fs::path base_dir, std::string source) : base_dir_(std::move(base_dir)), source_(std::move(source)) {}

  std::shared_ptr<Model> run(std::string_view bytes) {
    onnx::ModelProto model;
    if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
        !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      throw Error(source_ + ": not an ONNX model (the bytes are not a ModelProto)");
    }
    if (!model.has_graph()) throw Error(source_ + ": the ONNX model has no graph");
    for (const auto& opset : model.opset_import()) {
      if (opset.domain().empty() || opset.domain() == "ai.onnx") opset_ = opset.version();
    }
    if (opset_ < 7 || opset_ > 21) {
      throw Error(source_ + ": opset " + std::to_string(opset_) +
                  " of the default domain is not supported; expected 7 to 21");
    }
    from_kiln_ = model.producer_name() == "kiln";
    const auto& graph = model.graph();
    for (const auto& init : graph.initializer())
      consts_[init.name()] = read_tensor(init, "initializer '" + init.name() + "'");
    std::vector<SymbolicTensor> inputs;
    for (const auto& in : graph.input()) {
      if (consts_.count(in.name())) continue;  // older exporters list initializers as inputs too
      inputs.push_back(add_input(in, graph));
    }
    if (inputs.empty()) throw Error(source_ + ": the graph has no inputs");
    find_subgraphs(graph);
    while (next_ < steps_.size()) import_step(steps_[next_++]);
    std::vector<SymbolicTensor> outputs;
    for (const auto& out : graph.output()) {
      Sym s = sym(out.name(), "graph output");
      // A sequence the file gives as [N, C, T] (Permute((2, 1)) of Kiln's) is given so by the model too.
      if (s.channels_first && s.tensor.shape().size() == 2) s = swapped_sequence(s);
      if (!s.flat_chw.empty()) {
        throw Error(source_ + ": graph output '" + out.name() +
                    "' is a channels-first flattening, which a Kiln model cannot output in ONNX's order");
      }
      outputs.push_back(s.tensor);
    }
    if (outputs.empty()) throw Error(source_ + ": the graph has no outputs");
    return std::make_shared<Model>(inputs, outputs);
  }

 private:
  // --- tensors -------------------------------------------------------------------------------

  Tensor read_tensor(const onnx::TensorProto& t, const std::string& where_) {
    const std::string where = source_ + ": " + where_;
    const DType dtype = kiln_type(t.data_type(), where);
    Shape dims(t.dims().begin(), t.dims().end());
    const std::int64_t n = checked_count(dims, where);
    const std::size_t bytes = static_cast<std::size_t>(n) * dtype_size(dtype);
    auto check = [&](std::int64_t have) {
      if (have != n) {
        throw Error(where + ": holds " + std::to_string(have) + " values; shape " + shape_str(dims) + " needs " +
                    std::to_string(n));
      }
    };
    // Each size is checked against what holds the values before anything is allocated.
    Tensor out;
    if (t.data_location() == onnx::TensorProto::EXTERNAL) {
      out = read_external(t, where, dims, dtype, bytes);
    } else if (t.has_raw_data()) {
      if (t.raw_data().size() != bytes) {
        throw Error(where + ": raw_data is " + std::to_string(t.raw_data().size()) + " bytes; shape " +
                    shape_str(dims) + " of " + dtype_name(dtype) + " needs " + std::to_string(bytes));
      }
      out = Tensor::empty(dims, dtype);
      if (bytes) std::memcpy(out.raw_data(), t.raw_data().data(), bytes);
    } else if (dtype == DType::Float32) {
      check(t.float_data_size());
      out = Tensor::empty(dims, dtype);
      std::copy(t.float_data().begin(), t.float_data().end(), out.data<float>());
    } else if (dtype == DType::Float64) {
      check(t.double_data_size());
      out = Tensor::empty(dims, dtype);
      std::copy(t.double_data().begin(), t.double_data().end(), out.data<double>());
    } else if (dtype == DType::Int64) {
      check(t.int64_data_size());
      out = Tensor::empty(dims, dtype);
      std::copy(t.int64_data().begin(), t.int64_data().end(), out.data<std::int64_t>());
    } else if (dtype == DType::Int32) {
      check(t.int32_data_size());
      out = Tensor::empty(dims, dtype);
      std::copy(t.int32_data().begin(), t.int32_data().end(), out.data<std::int32_t>());
    } else {
      check(t.int32_data_size());
      out = Tensor::empty(dims, dtype);
      auto* p = out.data<std::uint8_t>();
      for (auto v : t.int32_data()) *p++ = static_cast<std::uint8_t>(v);
    }
    return out;
  }

  Tensor read_external(const onnx::TensorProto& t, const std::string& where, const Shape& dims, DType dtype,
                       std::size_t bytes) {
    std::string location;
    std::uint64_t offset = 0;
    std::optional<std::uint64_t> length;
    for (const auto& kv : t.external_data()) {
      try {
        if (kv.key() == "location") location = kv.value();
        if (kv.key() == "offset") offset = std::stoull(kv.value());
        if (kv.key() == "length") length = std::stoull(kv.value());
      } catch (const std::exception&) {
        throw Error(where + ": external data " + kv.key() + " '" + kv.value() + "' is not a number");
      }
    }
    if (base_dir_.empty()) throw Error(where + ": stored as external data, which ONNX bytes in memory cannot reach");
    const fs::path rel(location);
    bool escapes = location.empty() || rel.is_absolute() || rel.has_root_name();
    for (const auto& part : rel) escapes = escapes || part == "..";
    if (escapes) {
      throw Error(where + ": external data location '" + location + "' must be a relative path inside " +
                  base_dir_.string());
    }
    const fs::path file = base_dir_ / rel;
    std::error_code ec;
    const auto canonical_dir = fs::weakly_canonical(base_dir_, ec);
    const auto canonical_file = fs::weakly_canonical(file, ec);
    const auto rel_check = canonical_file.lexically_relative(canonical_dir);
    if (ec || rel_check.empty() || *rel_check.begin() == "..") {
      throw Error(where + ": external data '" + location + "' resolves outside " + base_dir_.string());
    }
    if (length && *length != bytes) {
      throw Error(where + ": external data length " + std::to_string(*length) + " does not match its shape's " +
                  std::to_string(bytes) + " bytes");
    }
    const auto size = fs::file_size(file, ec);
    if (ec || offset > size || size - offset < bytes) {
      throw Error(where + ": external data file " + file.string() + " has no " + std::to_string(bytes) +
                  " bytes at offset " + std::to_string(offset));
    }
    Tensor out = Tensor::empty(dims, dtype);
    std::ifstream in(file, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    if (!in.read(static_cast<char*>(out.raw_data()), static_cast<std::streamsize>(bytes))) {
      throw Error(where + ": cannot read " + file.string());
    }
    return out;
  }

  // --- values ----------------------------------------------------------------------------------

  SymbolicTensor add_input(const onnx::ValueInfoProto& in, const onnx::GraphProto& graph) {
    const std::string where = source_ + ": input '" + in.name() + "'";
    if (!in.type().has_tensor_type()) throw Error(where + " is not a tensor");
    const auto& tt = in.type().tensor_type();
    const DType dtype = kiln_type(tt.elem_type(), where);
    Shape shape;
    for (int i = 1; i < tt.shape().dim_size(); ++i) {
      const auto& d = tt.shape().dim(i);
      if (!d.has_dim_value() || d.dim_value() <= 0 || d.dim_value() > kMaxSample) {
        throw Error(where + ": dimension " + std::to_string(i) +
                    " must be a fixed positive size (only the batch axis, the first, may vary)");
      }
      shape.push_back(d.dim_value());
    }
    if (tt.shape().dim_size() < 2) throw Error(where + ": expected a batch axis and at least one more");
    if (checked_count(shape, where) > kMaxSample) {
      throw Error(where + ": samples of shape " + shape_str(shape) + " exceed " + std::to_string(kMaxSample) +
                  " values");
    }
    // A 4-D input is NHWC when all that reads it is a Transpose to NCHW (Keras's and Kiln's
    // exporters), and NCHW otherwise (PyTorch's): Kiln's Input is NHWC either way. Kiln's own
    // files are NHWC whatever reads the input (a Rescaling or Normalization before a Conv2D).
    if (shape.size() == 3 && from_kiln_) {
      Sym s;
      s.tensor = Input(shape, in.name(), dtype);
      syms_[in.name()] = s;
      return s.tensor;
    }
    bool nhwc = shape.size() == 3;
    int readers = 0;
    for (const auto& node : graph.node()) {
      for (const auto& i : node.input()) {
        if (i != in.name()) continue;
        ++readers;
        nhwc = nhwc && node.op_type() == "Transpose" && ints(node, "perm") == std::vector<std::int64_t>{0, 3, 1, 2};
      }
    }
    nhwc = nhwc && readers > 0;
    const bool channels_first = shape.size() == 3 && !nhwc;
    if (channels_first) shape = {shape[1], shape[2], shape[0]};
    Sym s;
    s.tensor = Input(shape, in.name(), dtype);
    s.channels_first = channels_first;
    syms_[in.name()] = s;
    return s.tensor;
  }

  // The symbolic value `name`, with a pending MatMul made into its Dense.
  Sym& sym(const std::string& name, const std::string& who) {
    auto it = syms_.find(name);
    if (it == syms_.end()) {
      if (consts_.count(name))
        throw Error(source_ + ": " + who + " uses constant '" + name + "' where a computed value is needed");
      throw Error(source_ + ": " + who + " reads '" + name + "', which no earlier node, input or initializer produces");
    }
    if (it->second.rnn) {
      throw Error(source_ + ": " + who + " reads '" + name + "', an output of " + it->second.rnn->type +
                  " that Kiln imports only through a Squeeze (or Gather) of its direction axis");
    }
    if (it->second.steps_reversed) {
      throw Error(source_ + ": " + who + " reads '" + name +
                  "', the steps of a reverse recurrent layer in input order; Kiln's go_backwards gives them reversed");
    }
    if (it->second.l2) {
      throw Error(source_ + ": " + who + " reads '" + name +
                  "', a step of an l2 normalization, which Kiln imports only as a whole UnitNormalization");
    }
    if (it->second.unsqueezed) {
      throw Error(source_ + ": " + who + " reads '" + name +
                  "', an Unsqueeze of a value, which Kiln imports only before a Tile (RepeatVector)");
    }
    if (it->second.heads || (it->second.attention && it->second.attention->stage < 6)) {
      throw Error(source_ + ": " + who + " reads '" + name +
                  "', a step inside an attention subgraph, which Kiln imports only as a whole MultiHeadAttention");
    }
    if (it->second.attention) {
      it->second.tensor = multi_head_attention(*it->second.attention, who);
      it->second.attention.reset();
    }
    if (it->second.pending) {
      Pending p = *it->second.pending;
      it->second.pending.reset();
      it->second.tensor = dense(syms_.at(p.input).tensor, p.kernel, p.bias);
    }
    return it->second;
  }

  const Tensor& constant(const onnx::NodeProto& node, int index) {
    if (index >= node.input_size() || node.input(index).empty()) {
      throw Error(describe(node) + ": input " + std::to_string(index) + " is missing");
    }
    auto it = consts_.find(node.input(index));
    if (it == consts_.end()) {
      throw Error(describe(node) + ": input '" + node.input(index) +
                  "' must be a constant (an initializer or a Constant node) for Kiln to import it");
    }
    return it->second;
  }

  bool is_const(const std::string& name) const { return consts_.count(name) > 0; }

  std::string describe(const onnx::NodeProto& node) const {
    return source_ + ": " + node.op_type() + " node '" +
           (node.name().empty() ? node.output_size() ? node.output(0) : "?" : node.name()) + "'";
  }

  static const onnx::AttributeProto* attr(const onnx::NodeProto& node, const std::string& name) {
    for (const auto& a : node.attribute()) {
      if (a.name() == name) return &a;
    }
    return nullptr;
  }
  static std::vector<std::int64_t> ints(const onnx::NodeProto& node, const std::string& name,
                                        std::vector<std::int64_t> otherwise = {}) {
    const auto* a = attr(node, name);
    return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : otherwise;
  }
  static std::int64_t int_attr(const onnx::NodeProto& node, const std::string& name, std::int64_t otherwise) {
    const auto* a = attr(node, name);
    return a ? a->i() : otherwise;
  }
  static float float_attr(const onnx::NodeProto& node, const std::string& name, float otherwise) {
    const auto* a = attr(node, name);
    return a ? a->f() : otherwise;
  }
  static std::string string_attr(const onnx::NodeProto& node, const std::string& name, std::string otherwise) {
    const auto* a = attr(node, name);
    return a ? a->s() : otherwise;
  }

  void set(const onnx::NodeProto& node, Sym s) {
    if (node.output_size() < 1 || node.output(0).empty()) throw Error(describe(node) + ": has no output");
    syms_[node.output(0)] = std::move(s);
  }

  template <typename L>
  SymbolicTensor call(std::shared_ptr<L> layer, const SymbolicTensor& x, const std::vector<Tensor>& weights) {
    SymbolicTensor y = (*layer)(x);
    if (!weights.empty()) layer->set_weights(weights);
    if (recording_) recording_->push_back({layer, x, y});
    return y;
  }

  SymbolicTensor dense(const SymbolicTensor& x, const Tensor& kernel, const Tensor& bias) {
    auto layer = std::make_shared<layers::Dense>(kernel.size(1), layers::DenseOptions{.use_bias = bias.defined()});
    std::vector<Tensor> w{kernel};
    if (bias.defined()) w.push_back(bias);
    return call(layer, x, w);
  }

  // Rows of a [C*H*W, units] kernel reordered for H, W, C features.
  static Tensor chw_rows_to_hwc(const Tensor& kernel, const Shape& chw) {
    const std::int64_t C = chw[0], H = chw[1], W = chw[2], units = kernel.size(1);
    const auto src = kernel.to(DType::Float64).to_vector<double>();
    std::vector<double> dst(src.size());
    for (std::int64_t c = 0; c < C; ++c)
      for (std::int64_t h = 0; h < H; ++h)
        for (std::int64_t w = 0; w < W; ++w) {
          const std::int64_t from = (c * H + h) * W + w, to = (h * W + w) * C + c;
          std::copy_n(src.begin() + from * units, units, dst.begin() + to * units);
        }
    return Tensor::from_vector(dst, kernel.shape()).to(kernel.dtype());
  }

  // An [N, C, T] view made a value of its own: Permute((2, 1)) of the [N, T, C] tensor.
  Sym swapped_sequence(const Sym& x) {
    Sym y;
    y.tensor = call(std::make_shared<layers::Permute>(std::vector<int>{2, 1}), x.tensor, {});
    return y;
  }

  // --- nodes -----------------------------------------------------------------------------------

  void import_node(const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    if (!node.domain().empty() && node.domain() != "ai.onnx") {
      throw Error(describe(node) + ": domain '" + node.domain() + "' is not supported (only the default domain)");
    }
    if (node.output_size() < 1 || node.output(0).empty()) throw Error(describe(node) + ": has no output");
    if (syms_.count(node.output(0)) || consts_.count(node.output(0)) || shapes_.count(node.output(0))) {
      throw Error(describe(node) + ": its output '" + node.output(0) + "' is already produced by an earlier node");
    }
    if (op == "Constant") {
      const auto* value = attr(node, "value");
      if (!value || !value->has_t()) throw Error(describe(node) + ": only Constant with a 'value' tensor is supported");
      consts_[node.output(0)] = read_tensor(value->t(), "Constant '" + node.output(0) + "'");
      return;
    }
    if (op == "Identity" || op == "Dropout") {
      if (node.input_size() < 1) throw Error(describe(node) + ": has no input");
      if (is_const(node.input(0))) {
        consts_[node.output(0)] = consts_.at(node.input(0));
      } else {
        set(node, sym(node.input(0), describe(node)));
      }
      return;
    }
    if (node.input_size() < 1) throw Error(describe(node) + ": has no input");
    if (op == "Pad") return pad(node);
    if (op == "Shape") return shape_of(node);
    if (op == "Unsqueeze" && shapes_.count(node.input(0))) {
      shapes_[node.output(0)] = shapes_.at(node.input(0));
      return;
    }
    if (op == "Unsqueeze") return unsqueeze(node);
    if (op == "Tile") return tile(node);
    if (op == "ConstantOfShape") return constant_of_shape(node);
    if (op == "RNN" || op == "LSTM" || op == "GRU") return recurrent(node);
    if (op == "Squeeze") return squeeze(node);
    if (op == "Slice") return slice(node);
    if (op == "Transpose") return transpose(node);
    if (op == "Conv") return conv(node);
    if (op == "ConvTranspose") return conv_transpose(node);
    if (op == "MaxPool" || op == "AveragePool") return pool(node);
    if (op == "GlobalAveragePool" || op == "GlobalMaxPool") {
      // [N, C, 1, 1]: Keras's keepdims form of an NHWC image, still channels first.
      Sym x = image(node);
      const layers::GlobalPoolingOptions keep{.keepdims = true};
      const bool average = op == "GlobalAveragePool", sequence = x.tensor.shape().size() == 2;
      std::shared_ptr<layers::Layer> layer;
      if (sequence) {
        layer = average ? std::shared_ptr<layers::Layer>(std::make_shared<layers::GlobalAveragePooling1D>(keep))
                        : std::make_shared<layers::GlobalMaxPooling1D>(keep);
      } else {
        layer = average ? std::shared_ptr<layers::Layer>(std::make_shared<layers::GlobalAveragePooling2D>(keep))
                        : std::make_shared<layers::GlobalMaxPooling2D>(keep);
      }
      x.tensor = call(layer, x.tensor, {});
      return set(node, x);
    }
    if ((op == "Concat" || op == "Add" || op == "Mul") && node.input_size() == 2 && bidirectional_merge(node)) return;
    if (op == "Mul" && node.input_size() == 2 && ave_sums_.count(node.input(0))) {
      return set(node, syms_.at(node.input(0)));  // the 1/2 of Bidirectional's "ave", already in it
    }
    if (op == "Gelu") {
      if (string_attr(node, "approximate", "none") != "none") {
        throw Error(describe(node) + ": only the exact Gelu (approximate \"none\", Keras's gelu) is supported");
      }
      Sym x = sym(node.input(0), describe(node));
      x.tensor = call(std::make_shared<layers::Activation>("gelu"), x.tensor, {});
      return set(node, x);
    }
    if (op == "Gemm") return gemm(node);
    if (op == "MatMul") return matmul(node);
    if (op == "Add" || op == "Sum") return add(node);
    if (op == "ReduceSumSquare" || op == "Sqrt" || (op == "Max" && l2_at(node.input(0), 0))) return l2_step(node);
    if (op == "Div" && node.input_size() == 2 && l2_at(node.input(1), 2)) return l2_step(node);
    if (op == "Mul" || op == "Sub" || op == "Div") return scalar_arithmetic(node);
    if (op == "Max" || op == "Min" || op == "Mean") return merge(node);
    if (op == "Concat") return concat(node);
    if (op == "Flatten") return flatten(node);
    if (op == "Reshape") return reshape(node);
    if (op == "Relu" || op == "Sigmoid" || op == "Tanh") {
      Sym x = sym(node.input(0), describe(node));
      std::string name = op == "Relu" ? "relu" : op == "Sigmoid" ? "sigmoid" : "tanh";
      x.tensor = call(std::make_shared<layers::Activation>(name), x.tensor, {});
      return set(node, x);
    }
    if (op == "LeakyRelu") {
      Sym x = sym(node.input(0), describe(node));
      x.tensor = call(std::make_shared<layers::LeakyReLU>(float_attr(node, "alpha", 0.01f)), x.tensor, {});
      return set(node, x);
    }
    if (op == "Softmax" || op == "LogSoftmax") return softmax(node);
    if (op == "PRelu") return prelu(node);
    if (op == "Elu" || op == "Selu" || op == "Softplus" || op == "Softsign" || op == "Exp" || op == "HardSigmoid" ||
        op == "HardSwish" || op == "Clip") {
      return activation_node(node);
    }
    if (op == "BatchNormalization") return batch_norm(node);
    if (op == "ReduceMean" || op == "ReduceMax") return reduce_pooling(node);
    if (op == "LayerNormalization") return layer_norm(node);
    if (op == "Gather") return gather(node);
    if (op == "Resize") return resize(node);
    throw Error(describe(node) + ": operator '" + op + "' is not supported; Kiln imports " + kSupported);
  }

  // PyTorch writes a Pad of nothing before AveragePool; any real padding is an Error.
  void pad(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    std::vector<std::int64_t> pads = ints(node, "pads");
    if (node.input_size() > 1 && !node.input(1).empty())
      pads = constant(node, 1).to(DType::Int64).to_vector<std::int64_t>();
    if (std::all_of(pads.begin(), pads.end(), [](auto p) { return p == 0; })) return set(node, sym(node.input(0), who));
    // Zeros around the steps or pixels only: ZeroPadding1D/2D.
    Sym x = sym(node.input(0), who);
    double value = float_attr(node, "value", 0.0f);
    if (node.input_size() > 2 && !node.input(2).empty()) value = constant(node, 2).to(DType::Float64).item();
    if (string_attr(node, "mode", "constant") != "constant" || value != 0.0) {
      throw Error(who + ": only a Pad with zeros (mode constant, value 0) is supported");
    }
    const std::size_t rank = x.tensor.shape().size() + 1;
    const auto spatial = spatial_axes(x, rank, who);
    if (pads.size() != 2 * rank) {
      throw Error(who + ": " + std::to_string(pads.size()) + " pads for a value of rank " + std::to_string(rank));
    }
    for (std::size_t a = 0; a < rank; ++a) {
      const bool is_spatial = std::find(spatial.begin(), spatial.end(), a) != spatial.end();
      if (pads[a] < 0 || pads[a + rank] < 0 || (!is_spatial && (pads[a] != 0 || pads[a + rank] != 0))) {
        throw Error(who +
                    ": only padding of the steps or pixels (not the batch or channels, not negative) is supported");
      }
    }
    const std::size_t a0 = spatial[0];
    if (spatial.size() == 1) {
      x.tensor =
          call(std::make_shared<layers::ZeroPadding1D>(layers::Margins1(pads[a0], pads[a0 + rank])), x.tensor, {});
    } else {
      const std::size_t a1 = spatial[1];
      x.tensor = call(std::make_shared<layers::ZeroPadding2D>(
                          layers::Margins2(pads[a0], pads[a0 + rank], pads[a1], pads[a1 + rank])),
                      x.tensor, {});
    }
    set(node, x);
  }

  // The ONNX axes of a sequence's steps or an image's rows and columns, in their order.
  static std::vector<std::size_t> spatial_axes(const Sym& x, std::size_t rank, const std::string& who) {
    if (x.time_major || !x.flat_chw.empty() || (rank != 3 && rank != 4)) {
      throw Error(who + ": expected a sequence [N, T, C] or an image, got a value of rank " + std::to_string(rank));
    }
    if (x.channels_first) return rank == 3 ? std::vector<std::size_t>{2} : std::vector<std::size_t>{2, 3};
    return rank == 3 ? std::vector<std::size_t>{1} : std::vector<std::size_t>{1, 2};
  }

  // A Slice of steps or pixels with step 1: Cropping1D/2D.
  void crop(const onnx::NodeProto& node, Sym x) {
    const std::string who = describe(node);
    const Shape& shape = x.tensor.shape();
    const std::size_t rank = shape.size() + 1;
    const auto spatial = spatial_axes(x, rank, who);
    const auto starts = constant(node, 1).to(DType::Int64).to_vector<std::int64_t>();
    const auto ends = constant(node, 2).to(DType::Int64).to_vector<std::int64_t>();
    std::vector<std::int64_t> axes(starts.size());
    std::iota(axes.begin(), axes.end(), 0);
    if (node.input_size() > 3 && !node.input(3).empty())
      axes = constant(node, 3).to(DType::Int64).to_vector<std::int64_t>();
    if (node.input_size() > 4 && !node.input(4).empty()) {
      for (auto step : constant(node, 4).to(DType::Int64).to_vector<std::int64_t>()) {
        if (step != 1) throw Error(who + ": only a Slice with steps of 1 is supported (or a time reversal)");
      }
    }
    if (ends.size() != starts.size() || axes.size() != starts.size())
      throw Error(who + ": starts, ends and axes differ in length");
    std::vector<std::pair<std::int64_t, std::int64_t>> margins(spatial.size(), {0, 0});
    for (std::size_t i = 0; i < axes.size(); ++i) {
      const std::int64_t axis = axes[i] < 0 ? axes[i] + static_cast<std::int64_t>(rank) : axes[i];
      const auto at = std::find(spatial.begin(), spatial.end(), static_cast<std::size_t>(axis));
      if (at == spatial.end()) throw Error(who + ": only a Slice of the steps or pixels is supported");
      const std::size_t k = static_cast<std::size_t>(at - spatial.begin());
      // The Kiln axis of ONNX's axis: channels first, the spatial axes follow the channels.
      const std::int64_t dim = shape[k];
      std::int64_t start = starts[i] < 0 ? starts[i] + dim : starts[i], end = ends[i] < 0 ? ends[i] + dim : ends[i];
      start = std::clamp<std::int64_t>(start, 0, dim);
      end = std::clamp<std::int64_t>(end, 0, dim);
      if (end <= start) throw Error(who + ": a Slice that leaves no steps or pixels");
      margins[k] = {start, dim - end};
    }
    if (spatial.size() == 1) {
      x.tensor = call(std::make_shared<layers::Cropping1D>(layers::Margins1(margins[0].first, margins[0].second)),
                      x.tensor, {});
    } else {
      x.tensor = call(std::make_shared<layers::Cropping2D>(
                          layers::Margins2(margins[0].first, margins[0].second, margins[1].first, margins[1].second)),
                      x.tensor, {});
    }
    set(node, x);
  }

  void transpose(const onnx::NodeProto& node) {
    if (const auto it = syms_.find(node.input(0)); it != syms_.end()) {
      const auto perm = ints(node, "perm");
      if (it->second.rnn && it->second.rnn->output == 0 && !it->second.rnn->backward_weights.empty() &&
          perm == std::vector<std::int64_t>{0, 2, 1, 3}) {
        Sym y = it->second;
        y.rnn->output = 3;  // [T, N, 2, H], waiting for the Reshape that joins the directions
        return set(node, y);
      }
      if (it->second.steps_reversed && perm == std::vector<std::int64_t>{1, 0, 2}) {
        Sym y = it->second;  // a backward sequence in input order: half of a Bidirectional
        y.time_major = !y.time_major;
        return set(node, y);
      }
    }
    if (const auto it = syms_.find(node.input(0)); it != syms_.end() && (it->second.heads || it->second.attention)) {
      Sym y = it->second;
      const auto perm = ints(node, "perm");
      if (y.heads && y.heads->perm == std::vector<std::int64_t>{0, 1, 2, 3} && perm.size() == 4) {
        y.heads->perm = perm;
      } else if (y.attention && y.attention->stage == 3 && perm == std::vector<std::int64_t>{0, 2, 1, 3}) {
        y.attention->stage = 4;
      } else {
        throw Error(describe(node) + ": a transpose inside attention that Kiln's MultiHeadAttention does not make");
      }
      return set(node, y);
    }
    Sym x = sym(node.input(0), describe(node));
    const auto perm = ints(node, "perm");
    const std::size_t rank = x.tensor.shape().size() + 1;
    if (rank == 4 && x.flat_chw.empty() && !x.channels_first && perm == std::vector<std::int64_t>{0, 3, 1, 2}) {
      x.channels_first = true;
    } else if (rank == 4 && x.channels_first && perm == std::vector<std::int64_t>{0, 2, 3, 1}) {
      x.channels_first = false;
    } else if (rank == 3 && x.flat_chw.empty() && perm == std::vector<std::int64_t>{1, 0, 2}) {
      x.time_major = !x.time_major;
    } else if (rank == 3 && x.flat_chw.empty() && !x.time_major && perm == std::vector<std::int64_t>{0, 2, 1}) {
      x.channels_first = !x.channels_first;  // [N, T, C] <-> [N, C, T]: Conv1D's and pooling's layout
    } else if (x.flat_chw.empty() && !x.time_major && !x.channels_first && perm.size() == rank && !perm.empty() &&
               perm[0] == 0) {
      // Any other order of the axes after the batch: Keras's Permute.
      std::vector<int> dims;
      for (std::size_t a = 1; a < perm.size(); ++a) dims.push_back(static_cast<int>(perm[a]));
      x.tensor = call(std::make_shared<layers::Permute>(dims), x.tensor, {});
    } else {
      throw Error(describe(node) +
                  ": only the NHWC <-> NCHW transposes of 4-D images and [N, T, F] <-> [T, N, F] or "
                  "[N, C, T] transposes of sequences are supported");
    }
    set(node, x);
  }

  Sym image(const onnx::NodeProto& node) {
    Sym x = sym(node.input(0), describe(node));
    if (!x.channels_first) {
      throw Error(describe(node) +
                  ": its input must be an NCHW image (a 4-D input, or a Transpose [0, 3, 1, 2] of an "
                  "NHWC one) or an [N, C, T] sequence (a Transpose [0, 2, 1] of an [N, T, C] one), got a value "
                  "of per-sample shape " +
                  shape_str(x.tensor.shape()));
    }
    return x;
  }

  static std::int64_t one(const std::vector<std::int64_t>& v, const std::string& who, const char* what) {
    if (v.size() != 1) throw Error(who + ": expected 1 " + what + " for a sequence, got " + std::to_string(v.size()));
    if (v[0] < 1 || v[0] > 65536)
      throw Error(who + ": " + what + " must be from 1 to 65536, got " + std::to_string(v[0]));
    return v[0];
  }

  // Kiln's padding name for ONNX's pads on a sequence of `steps`: "valid", "same" or (for
  // Conv1D) "causal", everything before the first step.
  std::string padding_1d(const onnx::NodeProto& node, std::int64_t steps, std::int64_t k, std::int64_t s,
                         std::int64_t d, bool causal_allowed) {
    const std::string auto_pad = string_attr(node, "auto_pad", "NOTSET");
    if (auto_pad == "VALID") return "valid";
    if (auto_pad == "SAME_UPPER") return "same";
    if (auto_pad != "NOTSET") throw Error(describe(node) + ": auto_pad " + auto_pad + " is not supported");
    const auto pads = ints(node, "pads", {0, 0});
    if (pads.size() != 2) throw Error(describe(node) + ": expected 2 pads, got " + std::to_string(pads.size()));
    if (pads[0] == 0 && pads[1] == 0) return "valid";
    const auto [before, after] = same_pads(steps, k, s, d);
    if (pads[0] == before && pads[1] == after) return "same";
    if (causal_allowed && pads[0] == d * (k - 1) && pads[1] == 0) return "causal";
    throw Error(describe(node) + ": pads [" + std::to_string(pads[0]) + ", " + std::to_string(pads[1]) +
                "] are neither Keras's \"valid\" (none), its \"same\" for this input ([" + std::to_string(before) +
                ", " + std::to_string(after) + "])" +
                (causal_allowed ? " nor \"causal\" ([" + std::to_string(d * (k - 1)) + ", 0])" : std::string()));
  }

  // Conv on [N, C, T]: Conv1D, weights [F, C / group, k].
  void conv1d(const onnx::NodeProto& node, Sym x) {
    const std::string who = describe(node);
    const Tensor& w = constant(node, 1);
    const Shape& in = x.tensor.shape();  // T, C
    const std::int64_t groups = int_attr(node, "group", 1);
    if (groups < 1 || in[1] % groups != 0 || w.ndim() != 3 || w.size(1) != in[1] / groups || w.size(0) % groups != 0) {
      throw Error(who + ": weights " + shape_str(w.shape()) + " in " + std::to_string(groups) +
                  " group(s) do not fit a sequence of " + std::to_string(in[1]) + " channels");
    }
    const std::int64_t filters = w.size(0), k = w.size(2);
    if (ints(node, "kernel_shape", {k}) != std::vector<std::int64_t>{k}) {
      throw Error(who + ": kernel_shape differs from the weights' " + shape_str(w.shape()));
    }
    const std::int64_t s = one(ints(node, "strides", {1}), who, "strides");
    const std::int64_t d = one(ints(node, "dilations", {1}), who, "dilations");
    const std::string pad = padding_1d(node, in[0], k, s, d, true);
    Tensor bias;
    if (node.input_size() > 2 && !node.input(2).empty()) bias = constant(node, 2);
    auto layer = std::make_shared<layers::Conv1D>(
        filters, k,
        layers::Conv1DOptions{
            .strides = s, .padding = pad, .dilation_rate = d, .groups = groups, .use_bias = bias.defined()});
    // [F, C / groups, k] as a 2-D kernel of height 1, to Keras's [k, C / groups, F].
    std::vector<Tensor> weights{
        kernel_from_onnx(w.reshape({filters, w.size(1), 1, k})).reshape({k, w.size(1), filters})};
    if (bias.defined()) weights.push_back(bias);
    x.tensor = call(layer, x.tensor, weights);
    set(node, x);
  }

  void pool1d(const onnx::NodeProto& node, Sym x) {
    const std::string who = describe(node);
    const std::int64_t k = one(ints(node, "kernel_shape"), who, "kernel sizes");
    const std::int64_t s = one(ints(node, "strides", {1}), who, "strides");
    if (int_attr(node, "ceil_mode", 0) != 0) throw Error(who + ": ceil_mode = 1 is not supported");
    if (ints(node, "dilations", {1}) != std::vector<std::int64_t>{1})
      throw Error(who + ": dilations are not supported");
    if (node.output_size() > 1 && !node.output(1).empty()) throw Error(who + ": the Indices output is not supported");
    const std::string pad = padding_1d(node, x.tensor.shape()[0], k, s, 1, false);
    if (node.op_type() == "AveragePool" && pad == "same" && int_attr(node, "count_include_pad", 0) != 0) {
      throw Error(who + ": count_include_pad = 1 with padding is not supported (Keras leaves padding out of the mean)");
    }
    const layers::Pooling1DOptions options{.strides = s, .padding = pad};
    if (node.op_type() == "MaxPool") {
      x.tensor = call(std::make_shared<layers::MaxPooling1D>(k, options), x.tensor, {});
    } else {
      x.tensor = call(std::make_shared<layers::AveragePooling1D>(k, options), x.tensor, {});
    }
    set(node, x);
  }

  // Kiln's padding name for ONNX's pads on input `hw` (NHWC's H and W), or an Error.
  std::string padding(const onnx::NodeProto& node, const Shape& hw, const std::vector<std::int64_t>& kernel,
                      const std::vector<std::int64_t>& strides, const std::vector<std::int64_t>& dilations) {
    const std::string auto_pad = string_attr(node, "auto_pad", "NOTSET");
    if (auto_pad == "VALID") return "valid";
    if (auto_pad == "SAME_UPPER") return "same";
    if (auto_pad != "NOTSET") throw Error(describe(node) + ": auto_pad " + auto_pad + " is not supported");
    const auto pads = ints(node, "pads", {0, 0, 0, 0});
    if (pads.size() != 4) throw Error(describe(node) + ": expected 4 pads, got " + std::to_string(pads.size()));
    if (std::all_of(pads.begin(), pads.end(), [](auto p) { return p == 0; })) return "valid";
    const auto [top, bottom] = same_pads(hw[0], kernel[0], strides[0], dilations[0]);
    const auto [left, right] = same_pads(hw[1], kernel[1], strides[1], dilations[1]);
    if (pads == std::vector<std::int64_t>{top, left, bottom, right}) return "same";
    throw Error(describe(node) + ": pads [" + std::to_string(pads[0]) + ", " + std::to_string(pads[1]) + ", " +
                std::to_string(pads[2]) + ", " + std::to_string(pads[3]) +
                "] are neither Keras's \"valid\" (none) nor its \"same\" for this input ([" + std::to_string(top) +
                ", " + std::to_string(left) + ", " + std::to_string(bottom) + ", " + std::to_string(right) + "])");
  }

  static std::vector<std::int64_t> two(const std::vector<std::int64_t>& v, const std::string& who, const char* what) {
    if (v.size() != 2) throw Error(who + ": expected 2 " + what + ", got " + std::to_string(v.size()));
    for (auto x : v) {
      if (x < 1 || x > 65536) throw Error(who + ": " + what + " must be from 1 to 65536, got " + std::to_string(x));
    }
    return v;
  }

  // ONNX's weights [a, b, kh, kw] -> Keras's [kh, kw, b, a]: Conv's [out, in, ...] becomes
  // Conv2D's [kh, kw, in, out], ConvTranspose's [in, filters, ...] Conv2DTranspose's [kh, kw, filters, in].
  static Tensor kernel_from_onnx(const Tensor& k) {
    const auto a = k.size(0), b = k.size(1), kh = k.size(2), kw = k.size(3);
    const auto src = k.to(DType::Float64).to_vector<double>();
    std::vector<double> dst(src.size());
    for (std::int64_t i = 0; i < a; ++i)
      for (std::int64_t o = 0; o < b; ++o)
        for (std::int64_t y = 0; y < kh; ++y)
          for (std::int64_t x = 0; x < kw; ++x) {
            const double v = src[((i * b + o) * kh + y) * kw + x];
            dst[((y * kw + x) * b + o) * a + i] = v;
          }
    return Tensor::from_vector(dst, {kh, kw, b, a}).to(DType::Float32);
  }

  // kernel_shape, which must be the weights' own (a layer is built from it).
  std::vector<std::int64_t> kernel_of(const onnx::NodeProto& node, const Tensor& w) {
    const auto kernel = two(ints(node, "kernel_shape", {w.size(2), w.size(3)}), describe(node), "kernel sizes");
    if (kernel[0] != w.size(2) || kernel[1] != w.size(3)) {
      throw Error(describe(node) + ": kernel_shape [" + std::to_string(kernel[0]) + ", " + std::to_string(kernel[1]) +
                  "] differs from the weights' " + shape_str(w.shape()));
    }
    return kernel;
  }

  void conv(const onnx::NodeProto& node) {
    Sym x = image(node);
    if (x.tensor.shape().size() == 2) return conv1d(node, x);
    const std::string who = describe(node);
    const Tensor& w = constant(node, 1);
    const Shape& in = x.tensor.shape();  // H, W, C
    const std::int64_t groups = int_attr(node, "group", 1);
    if (groups < 1 || in[2] % groups != 0 || w.ndim() != 4 || w.size(1) != in[2] / groups || w.size(0) % groups != 0) {
      throw Error(who + ": weights " + shape_str(w.shape()) + " in " + std::to_string(groups) +
                  " group(s) do not fit " + std::to_string(in[2]) + " input channels (expected [out, " +
                  std::to_string(groups > 0 && in[2] % groups == 0 ? in[2] / groups : in[2]) + ", kh, kw])");
    }
    const auto kernel = kernel_of(node, w);
    const auto strides = two(ints(node, "strides", {1, 1}), who, "strides");
    const auto dilations = two(ints(node, "dilations", {1, 1}), who, "dilations");
    const std::string pad = padding(node, in, kernel, strides, dilations);
    Tensor bias;
    if (node.input_size() > 2 && !node.input(2).empty()) bias = constant(node, 2);
    if (groups > 1 && groups == in[2]) {
      // One group per channel: DepthwiseConv2D, output channel c * m + j in both.
      const std::int64_t m = w.size(0) / groups;
      auto layer = std::make_shared<layers::DepthwiseConv2D>(
          layers::Size2(kernel[0], kernel[1]),
          layers::DepthwiseConv2DOptions{.strides = layers::Size2(strides[0], strides[1]),
                                         .padding = pad,
                                         .depth_multiplier = m,
                                         .dilation_rate = layers::Size2(dilations[0], dilations[1]),
                                         .use_bias = bias.defined()});
      // [C * m, 1, kh, kw] -> Keras's [kh, kw, C, m].
      std::vector<Tensor> weights{kernel_from_onnx(w).reshape({kernel[0], kernel[1], groups, m})};
      if (bias.defined()) weights.push_back(bias);
      x.tensor = call(layer, x.tensor, weights);
      return set(node, x);
    }
    auto layer = std::make_shared<layers::Conv2D>(
        w.size(0), layers::Size2(kernel[0], kernel[1]),
        layers::Conv2DOptions{.strides = layers::Size2(strides[0], strides[1]),
                              .padding = pad,
                              .dilation_rate = layers::Size2(dilations[0], dilations[1]),
                              .groups = groups,
                              .use_bias = bias.defined()});
    std::vector<Tensor> weights{kernel_from_onnx(w)};
    if (bias.defined()) weights.push_back(bias);
    x.tensor = call(layer, x.tensor, weights);
    set(node, x);
  }

  void conv_transpose(const onnx::NodeProto& node) {
    Sym x = image(node);
    const std::string who = describe(node);
    const Tensor& w = constant(node, 1);
    const Shape& in = x.tensor.shape();
    if (w.ndim() != 4 || w.size(0) != in[2]) {
      throw Error(who + ": weights " + shape_str(w.shape()) + " do not fit " + std::to_string(in[2]) +
                  " input channels");
    }
    if (int_attr(node, "group", 1) != 1) throw Error(who + ": grouped convolutions (group != 1) are not supported");
    const auto kernel = kernel_of(node, w);
    const auto strides = two(ints(node, "strides", {1, 1}), who, "strides");
    const auto dilations = two(ints(node, "dilations", {1, 1}), who, "dilations");
    const auto pads = ints(node, "pads", {0, 0, 0, 0});
    const auto extra = ints(node, "output_padding", {0, 0});
    if (pads.size() != 4 || extra.size() != 2 || string_attr(node, "auto_pad", "NOTSET") != "NOTSET" ||
        attr(node, "output_shape")) {
      throw Error(who + ": only explicit pads and output_padding are supported");
    }
    for (const auto v : {pads[0], pads[1], pads[2], pads[3], extra[0], extra[1]}) {
      if (v < 0 || v > 65536) throw Error(who + ": pads and output_padding must be from 0 to 65536, got " + std::to_string(v));
    }
    // Which of Kiln's paddings gives ONNX's output size with ONNX's pads.
    std::string pad;
    for (const std::string candidate : {"valid", "same"}) {
      bool fits = true;
      for (int a = 0; a < 2; ++a) {
        const std::int64_t k = (kernel[a] - 1) * dilations[a] + 1;
        const std::int64_t onnx_out = strides[a] * (in[a] - 1) + extra[a] + k - pads[a] - pads[a + 2];
        const std::int64_t kiln_out =
            candidate == "valid" ? in[a] * strides[a] + std::max<std::int64_t>(k - strides[a], 0) : in[a] * strides[a];
        std::int64_t before = 0, after = 0;
        if (candidate == "same") std::tie(before, after) = same_pads(kiln_out, kernel[a], strides[a], dilations[a]);
        fits = fits && onnx_out == kiln_out && pads[a] == before && pads[a + 2] == after;
      }
      if (fits) pad = candidate;
    }
    if (pad.empty()) throw Error(who + ": its pads and output_padding match neither Keras's \"valid\" nor \"same\"");
    Tensor bias;
    if (node.input_size() > 2 && !node.input(2).empty()) bias = constant(node, 2);
    auto layer = std::make_shared<layers::Conv2DTranspose>(
        w.size(1), layers::Size2(kernel[0], kernel[1]),
        layers::Conv2DOptions{.strides = layers::Size2(strides[0], strides[1]),
                              .padding = pad,
                              .dilation_rate = layers::Size2(dilations[0], dilations[1]),
                              .use_bias = bias.defined()});
    std::vector<Tensor> weights{kernel_from_onnx(w)};
    if (bias.defined()) weights.push_back(bias);
    x.tensor = call(layer, x.tensor, weights);
    set(node, x);
  }

  void pool(const onnx::NodeProto& node) {
    Sym x = image(node);
    if (x.tensor.shape().size() == 2) return pool1d(node, x);
    const std::string who = describe(node);
    const auto kernel = two(ints(node, "kernel_shape"), who, "kernel sizes");
    const auto strides = two(ints(node, "strides", {1, 1}), who, "strides");
    if (int_attr(node, "ceil_mode", 0) != 0) throw Error(who + ": ceil_mode = 1 is not supported");
    if (ints(node, "dilations", {1, 1}) != std::vector<std::int64_t>{1, 1})
      throw Error(who + ": dilations are not supported");
    if (node.output_size() > 1 && !node.output(1).empty()) throw Error(who + ": the Indices output is not supported");
    const std::string pad = padding(node, x.tensor.shape(), kernel, strides, {1, 1});
    if (node.op_type() == "AveragePool" && pad == "same" && int_attr(node, "count_include_pad", 0) != 0) {
      throw Error(who + ": count_include_pad = 1 with padding is not supported (Keras leaves padding out of the mean)");
    }
    const layers::Pooling2DOptions options{.strides = layers::Size2(strides[0], strides[1]), .padding = pad};
    const layers::Size2 size(kernel[0], kernel[1]);
    if (node.op_type() == "MaxPool") {
      x.tensor = call(std::make_shared<layers::MaxPooling2D>(size, options), x.tensor, {});
    } else {
      x.tensor = call(std::make_shared<layers::AveragePooling2D>(size, options), x.tensor, {});
    }
    set(node, x);
  }

  // Input 0 as a plain value for a layer over the last axis; a C,H,W flattening only for Dense.
  Sym plain(const onnx::NodeProto& node, bool for_dense = false) {
    Sym x = sym(node.input(0), describe(node));
    if (x.channels_first && x.tensor.shape().size() == 2) {
      // The same ONNX value as a tensor of its own, for this reader and the later ones (a
      // MatMul's Dense is made from the name when its bias is known).
      x = swapped_sequence(x);
      syms_[node.input(0)] = x;
    }
    if (x.channels_first) {
      throw Error(describe(node) + ": its input is an NCHW image; Kiln imports " + node.op_type() +
                  " on it only after a Transpose back to NHWC or a Flatten");
    }
    if (x.time_major) {
      throw Error(describe(node) + ": its input is time-major ([T, N, F]); Kiln imports " + node.op_type() +
                  " on it only after a Transpose back to [N, T, F]");
    }
    if (!for_dense && !x.flat_chw.empty()) {
      throw Error(describe(node) + ": its input is a channels-first flattening; only Gemm or MatMul may read it");
    }
    return x;
  }

  void gemm(const onnx::NodeProto& node) {
    Sym x = plain(node, true);
    const std::string who = describe(node);
    if (x.tensor.shape().size() != 1)
      throw Error(who + ": input A must be 2-D, got per-sample shape " + shape_str(x.tensor.shape()));
    if (int_attr(node, "transA", 0) != 0) throw Error(who + ": transA = 1 is not supported");
    Tensor b = constant(node, 1);
    if (b.ndim() != 2) throw Error(who + ": B must be 2-D, got " + shape_str(b.shape()));
    if (int_attr(node, "transB", 0) != 0) b = b.transpose(0, 1).contiguous();
    if (b.size(0) != x.tensor.shape()[0]) {
      throw Error(who + ": B " + shape_str(b.shape()) + " does not fit " + std::to_string(x.tensor.shape()[0]) +
                  " input features");
    }
    const double alpha = float_attr(node, "alpha", 1.0f), beta = float_attr(node, "beta", 1.0f);
    b = b.to(DType::Float32);
    if (alpha != 1.0) b = Tensor::from_vector(scaled(b, alpha), b.shape());
    if (!x.flat_chw.empty()) b = chw_rows_to_hwc(b, x.flat_chw);
    Tensor c;
    if (node.input_size() > 2 && !node.input(2).empty()) {
      c = constant(node, 2).to(DType::Float32);
      if (c.numel() != b.size(1))
        throw Error(who + ": C " + shape_str(c.shape()) + " must hold one value per output (" +
                    std::to_string(b.size(1)) + ")");
      c = Tensor::from_vector(scaled(c, beta), {b.size(1)});
    }
    Sym y;
    y.tensor = dense(x.tensor, b, c);
    set(node, y);
  }

  static std::vector<float> scaled(const Tensor& t, double factor) {
    auto v = t.to_vector<float>();
    for (auto& x : v) x = static_cast<float>(x * factor);
    return v;
  }

  void matmul(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    if (node.input_size() == 2 && attention_matmul(node)) return;
    if (node.input_size() == 2 && !is_const(node.input(1)) && syms_.count(node.input(1))) return batch_dot(node);
    Sym x = plain(node, true);
    Tensor b = constant(node, 1);
    if (b.ndim() != 2 || b.size(0) != x.tensor.shape().back()) {
      throw Error(who + ": B " + shape_str(b.shape()) + " must be [" + std::to_string(x.tensor.shape().back()) +
                  ", units]");
    }
    b = b.to(DType::Float32);
    if (!x.flat_chw.empty()) b = chw_rows_to_hwc(b, x.flat_chw);
    Sym y;
    y.pending = Pending{node.input(0), b};
    set(node, y);
  }

  // The MatMuls inside attention: Q K^T, weights V, and the output projection. False: not one.
  bool attention_matmul(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    const auto a = syms_.find(node.input(0));
    if (a == syms_.end()) return false;
    const auto b = syms_.find(node.input(1));
    const std::vector<std::int64_t> heads_first{0, 2, 1, 3}, keys{0, 2, 3, 1};
    Sym y;
    if (a->second.heads && b != syms_.end() && b->second.heads) {
      const Heads& q = *a->second.heads;
      const Heads& k = *b->second.heads;
      if (q.perm != heads_first || k.perm != keys || q.input != k.input || q.heads != k.heads || q.dim != k.dim) {
        throw Error(who + ": a product of attention heads that is not Q K^T of one input");
      }
      y.attention = AttentionParts{q, k, Heads{}, 0, Tensor(), Tensor()};
    } else if (a->second.attention && a->second.attention->stage == 2 && b != syms_.end() && b->second.heads) {
      const Heads& v = *b->second.heads;
      if (v.perm != heads_first || v.input != a->second.attention->q.input || v.heads != a->second.attention->q.heads) {
        throw Error(who + ": attention weights times something other than the input's value heads");
      }
      y.attention = *a->second.attention;
      y.attention->v = v;
      y.attention->stage = 3;
    } else if (a->second.attention && a->second.attention->stage == 5 && is_const(node.input(1))) {
      const AttentionParts& parts = *a->second.attention;
      const Tensor& w = constant(node, 1);
      if (w.ndim() != 2 || w.size(0) != parts.v.heads * parts.v.dim) {
        throw Error(who + ": the attention output's kernel " + shape_str(w.shape()) + " does not fit " +
                    std::to_string(parts.v.heads * parts.v.dim) + " joined features");
      }
      y.attention = parts;
      y.attention->out_kernel = w.to(DType::Float32);
      y.attention->stage = 6;
    } else {
      return false;
    }
    set(node, y);
    return true;
  }

  SymbolicTensor multi_head_attention(const AttentionParts& a, const std::string& who) {
    const bool bias = a.q.bias.defined();
    if (bias != a.k.bias.defined() || bias != a.v.bias.defined() || (a.stage == 7) != bias) {
      throw Error(who + ": an attention whose projections have biases only in part");
    }
    const std::int64_t h = a.q.heads, kd = a.q.dim, vd = a.v.dim, out = a.out_kernel.size(1);
    const std::int64_t E = a.q.kernel.size(0);
    auto layer = std::make_shared<layers::MultiHeadAttention>(
        h, kd, layers::MultiHeadAttentionOptions{.value_dim = vd, .use_bias = bias, .output_shape = out});
    std::vector<Tensor> w;
    for (const Heads* p : {&a.q, &a.k, &a.v}) {
      w.push_back(p->kernel.reshape({E, h, p->dim}));
      if (bias) w.push_back(p->bias.reshape({h, p->dim}));
    }
    w.push_back(a.out_kernel.reshape({h, vd, out}));
    if (bias) w.push_back(a.out_bias);
    return call(layer, syms_.at(a.q.input).tensor, w);
  }

  void add(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    if (node.op_type() == "Add" && node.input_size() == 2 && (is_const(node.input(0)) || is_const(node.input(1)))) {
      const int ci = is_const(node.input(0)) ? 0 : 1;
      const std::string& other = node.input(1 - ci);
      auto it = syms_.find(other);
      const Tensor c = constant(node, ci).to(DType::Float32);
      if (it != syms_.end() && it->second.pending && !it->second.pending->bias.defined()) {
        Pending p = *it->second.pending;
        if (c.numel() != p.kernel.size(1)) {
          throw Error(who + ": a bias of " + std::to_string(c.numel()) + " values for " +
                      std::to_string(p.kernel.size(1)) + " units");
        }
        // Still pending: a Reshape into attention heads may read it.
        p.bias = c.reshape({p.kernel.size(1)});
        Sym y;
        y.pending = p;
        return set(node, y);
      }
      if (it != syms_.end() && it->second.attention) {
        AttentionParts a = *it->second.attention;
        if (a.stage == 1) throw Error(who + ": masked attention (a causal mask) is not imported");
        if (a.stage != 6 || a.out_bias.defined() || c.numel() != a.out_kernel.size(1)) {
          throw Error(who + ": an Add that is not the attention output's bias");
        }
        a.out_bias = c.reshape({a.out_kernel.size(1)});
        a.stage = 7;
        Sym y;
        y.attention = a;
        return set(node, y);
      }
      if (c.numel() == 1) {
        Sym x = sym(other, who);
        x.tensor = call(std::make_shared<layers::Rescaling>(1.0, c.item()), x.tensor, {});
        return set(node, x);
      }
      if (Sym x = sym(other, who);
          x.tensor.shape().size() == 2 && !x.time_major && c.numel() == x.tensor.shape()[0] * x.tensor.shape()[1]) {
        // A vector per position added to a sequence: Add of PositionEmbedding (keras_nlp's pairing).
        const Shape& shape = x.tensor.shape();
        auto positions = std::make_shared<layers::PositionEmbedding>(shape[0]);
        const SymbolicTensor p = call(positions, x.tensor, {c.reshape(shape)});
        x.tensor = (*std::make_shared<layers::Add>())(std::vector<SymbolicTensor>{x.tensor, p});
        return set(node, x);
      }
      throw Error(who + ": adding a constant is supported as a bias after MatMul or as a scalar");
    }
    std::vector<SymbolicTensor> in;
    Sym first = sym(node.input(0), who);
    for (const auto& name : node.input()) {
      const Sym& s = sym(name, who);
      if (s.channels_first != first.channels_first || !s.flat_chw.empty() || s.tensor.shape() != first.tensor.shape()) {
        throw Error(who + ": inputs must have one shape and layout");
      }
      in.push_back(s.tensor);
    }
    if (in.size() == 1) return set(node, first);
    first.tensor = (*std::make_shared<layers::Add>())(in);
    set(node, first);
  }

  // Mul, Sub and Div with a scalar constant (preprocessing: (x - mean) / std) as Rescaling.
  bool attention_value(const std::string& name) const {
    const auto it = syms_.find(name);
    return it != syms_.end() && (it->second.attention || it->second.heads);
  }

  // Element-wise Sub, Mul, Max, Min and Mean of values of one shape and layout: Keras's merge layers.
  void merge(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    const std::string& op = node.op_type();
    std::vector<SymbolicTensor> in;
    Sym first = sym(node.input(0), who);
    for (const auto& name : node.input()) {
      const Sym& s = sym(name, who);
      if (s.channels_first != first.channels_first || !s.flat_chw.empty() || s.tensor.shape() != first.tensor.shape()) {
        throw Error(who + ": inputs must have one shape and layout (Keras's merge layers do not broadcast)");
      }
      in.push_back(s.tensor);
    }
    if (in.size() == 1) return set(node, first);
    std::shared_ptr<layers::MergeLayer> layer;
    if (op == "Sub") layer = std::make_shared<layers::Subtract>();
    if (op == "Mul") layer = std::make_shared<layers::Multiply>();
    if (op == "Max") layer = std::make_shared<layers::Maximum>();
    if (op == "Min") layer = std::make_shared<layers::Minimum>();
    if (op == "Mean") layer = std::make_shared<layers::Average>();
    first.tensor = (*layer)(in);
    set(node, first);
  }

  void scalar_arithmetic(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    const std::string& op = node.op_type();
    const bool const_first = node.input_size() == 2 && is_const(node.input(0));
    if (node.input_size() == 2 && op != "Div" && !is_const(node.input(0)) && !is_const(node.input(1)) &&
        !attention_value(node.input(0)) && !attention_value(node.input(1))) {
      return merge(node);  // two values: Subtract, Multiply
    }
    // x * c, c * x, x - c, x / c: c - x and c / x are not a Rescaling.
    if (node.input_size() != 2 || !(is_const(node.input(1)) || (op == "Mul" && const_first))) {
      throw Error(who + ": only " + op + " of a value by a scalar constant is supported");
    }
    const int ci = const_first ? 0 : 1;
    const Tensor& c = constant(node, ci);
    if (c.numel() != 1) throw Error(who + ": only " + op + " of a value by a scalar constant is supported");
    const double v = c.to(DType::Float64).to_vector<double>()[0];
    if (op == "Div" && v == 0) throw Error(who + ": division by zero");
    if (const auto it = syms_.find(node.input(1 - ci)); it != syms_.end() && it->second.attention) {
      // Scores scaled by 1 / sqrt(key_dim), as Keras's MultiHeadAttention does.
      const double expected = 1.0 / std::sqrt(static_cast<double>(it->second.attention->q.dim));
      const double scale = op == "Mul" ? v : op == "Div" ? 1.0 / v : 0.0;
      if (it->second.attention->stage != 0 || std::abs(scale - expected) > 1e-6 * expected) {
        throw Error(who + ": attention scores must be scaled by 1 / sqrt(key_dim) = " + std::to_string(expected));
      }
      Sym y = it->second;
      y.attention->stage = 1;
      return set(node, y);
    }
    Sym x = sym(node.input(1 - ci), who);
    const double scale = op == "Mul" ? v : op == "Div" ? 1.0 / v : 1.0;
    const double offset = op == "Sub" ? -v : 0.0;
    x.tensor = call(std::make_shared<layers::Rescaling>(scale, offset), x.tensor, {});
    set(node, x);
  }

  void concat(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    if (std::any_of(node.input().begin(), node.input().end(),
                    [&](const std::string& n) { return shapes_.count(n) > 0; })) {
      // Arithmetic on a Shape (PyTorch's initial states): dimensions, the batch still symbolic.
      std::vector<std::int64_t> dims;
      for (int i = 0; i < node.input_size(); ++i) {
        const auto it = shapes_.find(node.input(i));
        const auto part =
            it != shapes_.end() ? it->second : constant(node, i).to(DType::Int64).to_vector<std::int64_t>();
        dims.insert(dims.end(), part.begin(), part.end());
      }
      shapes_[node.output(0)] = dims;
      return;
    }
    std::vector<SymbolicTensor> in;
    Sym first = sym(node.input(0), who);
    for (const auto& name : node.input()) {
      const Sym& s = sym(name, who);
      if (s.channels_first != first.channels_first || !s.flat_chw.empty())
        throw Error(who + ": inputs must have one layout");
      in.push_back(s.tensor);
    }
    const std::int64_t rank = static_cast<std::int64_t>(first.tensor.shape().size()) + 1;
    std::int64_t axis = int_attr(node, "axis", 1);
    if (axis < 0) axis += rank;
    if (axis < 1 || axis >= rank) throw Error(who + ": axis " + std::to_string(axis) + " must be a per-sample axis");
    if (first.channels_first) axis = axis == 1 ? 3 : axis - 1;
    if (in.size() == 1) return set(node, first);
    first.tensor = (*std::make_shared<layers::Concatenate>(static_cast<int>(axis)))(in);
    set(node, first);
  }

  void flatten(const onnx::NodeProto& node) {
    Sym x = sym(node.input(0), describe(node));
    if (int_attr(node, "axis", 1) != 1) throw Error(describe(node) + ": only axis = 1 is supported");
    flatten_sym(node, x);
  }

  void flatten_sym(const onnx::NodeProto& node, Sym x) {
    const Shape s = x.tensor.shape();
    if (!x.flat_chw.empty()) throw Error(describe(node) + ": flattening a flattening");
    Sym y;
    if (s.size() > 1)
      y.tensor = call(std::make_shared<layers::Flatten>(), x.tensor, {});
    else
      y.tensor = x.tensor;
    // H, W, C features in Kiln; C, H, W in ONNX. They agree when C or H*W is 1.
    if (x.channels_first && s.size() == 3 && s[2] != 1 && s[0] * s[1] != 1) y.flat_chw = {s[2], s[0], s[1]};
    // A channels-first sequence [C, T] flattens as an image of height 1.
    if (x.channels_first && s.size() == 2 && s[0] != 1 && s[1] != 1) y.flat_chw = {s[1], 1, s[0]};
    set(node, y);
  }

  void reshape(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    if (const auto it = syms_.find(node.input(0)); it != syms_.end() && it->second.rnn && it->second.rnn->output == 3) {
      // PyTorch's bidirectional Y [T, N, 2, H] as [T, N, 2 * H]: both directions' sequences side by side.
      const PendingRnn r = *it->second.rnn;
      const auto target = node.input_size() > 1 && is_const(node.input(1))
                              ? constant(node, 1).to(DType::Int64).to_vector<std::int64_t>()
                              : std::vector<std::int64_t>{};
      if (target != std::vector<std::int64_t>{0, 0, -1} && target != std::vector<std::int64_t>{0, 0, 2 * r.units}) {
        throw Error(who + ": a bidirectional " + r.type + "'s output is imported only reshaped to [0, 0, -1] ([T, N, " +
                    std::to_string(2 * r.units) + "]), got " + shape_str(target));
      }
      std::vector<Tensor> weights = r.weights;
      weights.insert(weights.end(), r.backward_weights.begin(), r.backward_weights.end());
      Sym y;
      y.tensor = call(std::make_shared<layers::Bidirectional>(*recurrent_layer(r, true), "concat"), r.input, weights);
      y.time_major = true;
      return set(node, y);
    }
    if (const auto it = syms_.find(node.input(0)); it != syms_.end() && (it->second.pending || it->second.attention) &&
                                                   node.input_size() > 1 && is_const(node.input(1))) {
      const auto target = constant(node, 1).to(DType::Int64).to_vector<std::int64_t>();
      Sym y;
      if (it->second.pending && target.size() == 4 && target[0] == 0 && target[1] == 0 && target[2] > 0 &&
          target[3] > 0 && it->second.pending->kernel.size(1) % target[2] == 0 &&
          it->second.pending->kernel.size(1) / target[2] == target[3] &&
          syms_.at(it->second.pending->input).tensor.shape().size() == 2) {
        // x @ W + b into [batch, time, heads, dim]: a projection of MultiHeadAttention.
        const Pending& p = *it->second.pending;
        y.heads = Heads{p.input, p.kernel, p.bias, target[2], target[3]};
        return set(node, y);
      }
      if (it->second.attention && it->second.attention->stage == 4 && target.size() == 3 && target[0] == 0 &&
          target[1] == 0 && target[2] == it->second.attention->v.heads * it->second.attention->v.dim) {
        y.attention = *it->second.attention;
        y.attention->stage = 5;
        return set(node, y);
      }
    }
    Sym x = sym(node.input(0), who);
    std::vector<std::int64_t> target;
    if (node.input_size() > 1 && shapes_.count(node.input(1))) {
      // x.view(x.size(0), -1): a shape computed from the input's, its batch carried over.
      target = shapes_.at(node.input(1));
      if (!target.empty() && target[0] == kBatch) target[0] = 0;
      if (std::find(target.begin(), target.end(), kBatch) != target.end()) {
        throw Error(who + ": the batch size may only be the shape's first entry");
      }
    } else {
      const Tensor target_t = constant(node, 1);
      if (target_t.dtype() != DType::Int64 || target_t.ndim() != 1) {
        throw Error(who + ": the shape must be a 1-D int64 tensor");
      }
      target = target_t.to_vector<std::int64_t>();
    }
    if (target.size() < 2 || (target[0] != 0 && target[0] != -1)) {
      throw Error(who + ": the shape must keep the batch axis first (0 or -1), got " + shape_str(target));
    }
    if (const Shape& s = x.tensor.shape();
        target[0] == -1 && s.size() >= 2 && !x.channels_first && !x.time_major && x.flat_chw.empty() &&
        std::equal(target.begin() + 1, target.end(), s.begin() + 1, s.end()) && time_distributed_ends(s[0])) {
      return time_distributed(node, x);  // [N, T, ...] -> [N * T, ...]
    }
    Shape in = x.tensor.shape();  // ONNX's per-sample order
    if (x.channels_first) in = {in[2], in[0], in[1]};
    Shape out;
    std::int64_t known = 1, infer = -1;
    for (std::size_t i = 1; i < target.size(); ++i) {
      std::int64_t d = target[i];
      if (d == 0) {
        if (i - 1 >= in.size()) throw Error(who + ": shape entry 0 copies an axis the input lacks");
        d = in[i - 1];
      }
      if (d == -1) {
        if (infer >= 0 || target[0] == -1) throw Error(who + ": more than one -1 in the shape");
        infer = static_cast<std::int64_t>(out.size());
        out.push_back(1);
        continue;
      }
      if (d < 1) throw Error(who + ": shape entry " + std::to_string(d) + " is not a size");
      out.push_back(d);
      known = checked_count(out, who);  // (the -1 entry counts as 1 here; checked before it can overflow)
    }
    const std::int64_t total = checked_count(in, who);
    if (infer >= 0) {
      if (total % known) throw Error(who + ": cannot reshape " + shape_str(in) + " into " + shape_str(target));
      out[infer] = total / known;
    } else if (checked_count(out, who) != total) {
      throw Error(who + ": cannot reshape " + shape_str(in) + " (" + std::to_string(total) + " values) into " +
                  shape_str(out));
    }
    if (x.channels_first || !x.flat_chw.empty()) {
      if (out.size() == 1 && x.channels_first) return flatten_sym(node, x);
      throw Error(who + ": reshaping an NCHW image into " + shape_str(out) + " is supported only as a flattening");
    }
    Sym y;
    y.tensor = out == x.tensor.shape() ? x.tensor
               : out.size() == 1       ? call(std::make_shared<layers::Flatten>(), x.tensor, {})
                                       : call(std::make_shared<layers::Reshape>(out), x.tensor, {});
    set(node, y);
  }

  bool l2_at(const std::string& name, int stage) const {
    const auto it = syms_.find(name);
    return it != syms_.end() && it->second.l2 && it->second.l2->stage == stage;
  }

  // x / sqrt(max(sum(x^2 over axes), 1e-12)), a step at a time: UnitNormalization at the Div.
  void l2_step(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    const std::string& op = node.op_type();
    if (op == "ReduceSumSquare") {
      const Sym& x = sym(node.input(0), who);
      const std::int64_t rank = static_cast<std::int64_t>(x.tensor.shape().size()) + 1;
      std::vector<std::int64_t> axes = ints(node, "axes");
      if (node.input_size() > 1 && !node.input(1).empty())
        axes = constant(node, 1).to(DType::Int64).to_vector<std::int64_t>();
      if (int_attr(node, "keepdims", 1) != 1 || axes.empty() || !x.flat_chw.empty() || x.time_major) {
        throw Error(who +
                    ": only a ReduceSumSquare over given axes, keeping them, of an l2 normalization is supported");
      }
      L2Parts p{node.input(0), {}, 0};
      for (std::int64_t a : axes) {
        if (a < 0) a += rank;
        if (a < 1 || a >= rank) throw Error(who + ": axis " + std::to_string(a) + " is the batch or outside the value");
        // Channels first, ONNX's axis 1 is Kiln's last and the others move one back.
        p.axes.push_back(static_cast<int>(x.channels_first ? (a == 1 ? rank - 1 : a - 1) : a));
      }
      Sym y;
      y.l2 = p;
      return set(node, y);
    }
    Sym y = syms_.at(node.input(op == "Div" ? 1 : 0));
    if (op == "Max") {
      const double floor = node.input_size() == 2 && is_const(node.input(1))
                               ? constant(node, 1).to(DType::Float64).to_vector<double>().at(0)
                               : -1.0;
      if (std::abs(floor - 1e-12) > 1e-15) throw Error(who + ": an l2 normalization's floor must be 1e-12 (Keras's)");
      y.l2->stage = 1;
      return set(node, y);
    }
    if (op == "Sqrt") {
      if (!l2_at(node.input(0), 1)) throw Error(who + ": only the Sqrt of an l2 normalization is supported");
      y.l2->stage = 2;
      return set(node, y);
    }
    // Div: the normalized input.
    if (node.input(0) != y.l2->input) throw Error(who + ": an l2 norm dividing another value than its own");
    Sym x = sym(node.input(0), who);
    x.tensor = call(std::make_shared<layers::UnitNormalization>(y.l2->axes), x.tensor, {});
    set(node, x);
  }

  // Unsqueeze of [N, F] at axis 1 then Tile by [1, n, 1]: Keras's RepeatVector(n).
  void unsqueeze(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    Sym x = sym(node.input(0), who);
    std::vector<std::int64_t> axes = ints(node, "axes");
    if (node.input_size() > 1 && !node.input(1).empty()) {
      axes = constant(node, 1).to(DType::Int64).to_vector<std::int64_t>();
    }
    if (x.tensor.shape().size() != 1 || !x.flat_chw.empty() || axes != std::vector<std::int64_t>{1}) {
      throw Error(who + ": only an Unsqueeze of [N, F] at axis 1 (before a Tile: RepeatVector) is supported");
    }
    Sym y;
    y.unsqueezed = x.tensor;
    set(node, y);
  }

  void tile(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    const auto it = syms_.find(node.input(0));
    if (it == syms_.end() || !it->second.unsqueezed || node.input_size() < 2) {
      throw Error(who + ": only a Tile of an Unsqueeze [N, 1, F] (Keras's RepeatVector) is supported");
    }
    const auto repeats = constant(node, 1).to(DType::Int64).to_vector<std::int64_t>();
    if (repeats.size() != 3 || repeats[0] != 1 || repeats[2] != 1 || repeats[1] < 1 || repeats[1] > kMaxSample) {
      throw Error(who + ": repeats must be [1, n, 1] (RepeatVector(n))");
    }
    Sym y;
    y.tensor = call(std::make_shared<layers::RepeatVector>(repeats[1]), *it->second.unsqueezed, {});
    set(node, y);
  }

  // PRelu with a constant slope: PReLU, the axes the slope broadcasts over shared.
  void prelu(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    Sym x = sym(node.input(0), who);
    if (!x.flat_chw.empty() || x.time_major) throw Error(who + ": PRelu of a flattening or time-major value");
    Tensor slope = constant(node, 1).to(DType::Float32);
    const Shape& shape = x.tensor.shape();  // Kiln's layout
    const std::size_t r = shape.size();
    if (slope.ndim() > static_cast<std::int64_t>(r)) {
      throw Error(who + ": a slope of rank " + std::to_string(slope.ndim()) + " for samples of rank " +
                  std::to_string(r));
    }
    Shape s(r - static_cast<std::size_t>(slope.ndim()), 1);  // right-aligned, as ONNX broadcasts
    for (auto d : slope.shape()) s.push_back(d);
    slope = slope.contiguous().reshape(s);
    if (x.channels_first) {
      // [C, spatial...] -> [spatial..., C], Kiln's order.
      Shape kiln(s.begin() + 1, s.end());
      kiln.push_back(s[0]);
      slope = slope.reshape({s[0], slope.numel() / s[0]}).transpose(0, 1).contiguous().reshape(kiln);
      s = kiln;
    }
    layers::PReLUOptions options;
    for (std::size_t k = 0; k < r; ++k) {
      if (s[k] == shape[k]) continue;
      if (s[k] != 1) {
        throw Error(who + ": a slope of shape " + shape_str(slope.shape()) + " does not broadcast to " +
                    shape_str(shape));
      }
      options.shared_axes.push_back(static_cast<int>(k) + 1);
    }
    x.tensor = call(std::make_shared<layers::PReLU>(options), x.tensor, {slope});
    set(node, x);
  }

  // Single-node activations Keras has by name (or as a layer: ELU's alpha, ReLU's max_value).
  void activation_node(const onnx::NodeProto& node) {
    const std::string& op = node.op_type();
    const std::string who = describe(node);
    Sym x = sym(node.input(0), who);
    std::shared_ptr<layers::Layer> layer;
    auto near = [](double a, double b) { return std::abs(a - b) <= 1e-6 * std::max(1.0, std::abs(b)); };
    if (op == "Elu") {
      layer = std::make_shared<layers::ELU>(float_attr(node, "alpha", 1.0f));
    } else if (op == "Selu") {
      const double alpha = float_attr(node, "alpha", 1.67326319f), gamma = float_attr(node, "gamma", 1.05070102f);
      if (!near(alpha, 1.6732632423543772) || !near(gamma, 1.0507009873554805)) {
        throw Error(who + ": Selu with alpha " + std::to_string(alpha) + " and gamma " + std::to_string(gamma) +
                    " is not supported (Keras's selu has alpha 1.6732632 and gamma 1.0507010)");
      }
      layer = std::make_shared<layers::Activation>("selu");
    } else if (op == "HardSigmoid") {
      const double alpha = float_attr(node, "alpha", 0.2f), beta = float_attr(node, "beta", 0.5f);
      if (!near(alpha, 1.0 / 6.0) || !near(beta, 0.5)) {
        throw Error(who + ": HardSigmoid with alpha " + std::to_string(alpha) + " and beta " + std::to_string(beta) +
                    " is not supported (Keras 3's hard_sigmoid has alpha 1/6 and beta 0.5)");
      }
      layer = std::make_shared<layers::Activation>("hard_sigmoid");
    } else if (op == "Clip") {
      // Bounds are inputs from opset 11 on, attributes before; only a lower bound of 0 is a relu.
      auto bound = [&](int input, const char* name) -> std::optional<double> {
        if (opset_ < 11) {
          if (const auto* a = attr(node, name)) return a->f();
          return std::nullopt;
        }
        if (node.input_size() <= input || node.input(input).empty()) return std::nullopt;
        if (!is_const(node.input(input))) throw Error(who + ": a Clip bound that is not a constant");
        const Tensor t = consts_.at(node.input(input));
        if (t.numel() != 1) throw Error(who + ": a Clip bound of " + std::to_string(t.numel()) + " values");
        return t.to(DType::Float64).to_vector<double>()[0];
      };
      const auto low = bound(1, "min"), high = bound(2, "max");
      if (!low || *low != 0.0) {
        throw Error(who + ": Clip with a lower bound of " + (low ? std::to_string(*low) : std::string("none")) +
                    " is not supported (only 0: relu with a max_value)");
      }
      if (high && *high == 6.0) {
        layer = std::make_shared<layers::Activation>("relu6");
      } else {
        layer = std::make_shared<layers::ReLU>(high);
      }
    } else {
      layer = std::make_shared<layers::Activation>(op == "Softplus"   ? "softplus"
                                                   : op == "Softsign" ? "softsign"
                                                   : op == "Exp"      ? "exponential"
                                                                      : "hard_silu");
    }
    x.tensor = call(layer, x.tensor, {});
    set(node, x);
  }

  void softmax(const onnx::NodeProto& node) {
    const bool log = node.op_type() == "LogSoftmax";
    if (const auto it = syms_.find(node.input(0)); !log && it != syms_.end() && it->second.attention) {
      const std::int64_t axis = int_attr(node, "axis", -1);
      if (it->second.attention->stage != 1 || (axis != -1 && axis != 3)) {
        throw Error(describe(node) + ": a softmax inside attention other than over the scaled scores' keys");
      }
      Sym y = it->second;
      y.attention->stage = 2;
      return set(node, y);
    }
    Sym x = sym(node.input(0), describe(node));
    const std::int64_t rank = static_cast<std::int64_t>(x.tensor.shape().size()) + 1;
    std::int64_t axis = int_attr(node, "axis", opset_ >= 13 ? -1 : 1);
    if (axis < 0) axis += rank;
    // Before opset 13 Softmax flattened from `axis` on: the last axis alone only when it is the last.
    const std::int64_t last = x.channels_first ? 1 : rank - 1;
    if (!log && opset_ >= 13 && axis != last && axis >= 1 && axis < rank && x.flat_chw.empty() && !x.time_major) {
      // Another axis: Keras's Softmax layer (Kiln's axis: the channels last, the others one back).
      const std::int64_t kiln_axis = !x.channels_first ? axis : axis == 1 ? rank - 1 : axis - 1;
      x.tensor = call(std::make_shared<layers::Softmax>(static_cast<int>(kiln_axis)), x.tensor, {});
      return set(node, x);
    }
    if (axis != last || (opset_ < 13 && axis != rank - 1) || !x.flat_chw.empty()) {
      throw Error(describe(node) + ": softmax over axis " + std::to_string(axis) +
                  " is not supported (only the features axis)");
    }
    x.tensor = call(std::make_shared<layers::Activation>(log ? "log_softmax" : "softmax"), x.tensor, {});
    set(node, x);
  }

  void batch_norm(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    Sym x = sym(node.input(0), who);
    const std::size_t rank = x.tensor.shape().size() + 1;
    if (!x.flat_chw.empty() || !((rank == 4 && x.channels_first) || rank == 2)) {
      throw Error(who + ": only [N, C] inputs and NCHW images are supported");
    }
    if (int_attr(node, "training_mode", 0) != 0 || node.output_size() > 1)
      throw Error(who + ": training mode is not supported");
    const std::int64_t channels = x.tensor.shape().back();
    std::vector<Tensor> w;
    for (int i = 1; i <= 4; ++i) {
      Tensor t = constant(node, i).to(DType::Float32);
      if (t.numel() != channels)
        throw Error(who + ": input " + std::to_string(i) + " must hold " + std::to_string(channels) + " values");
      w.push_back(t.reshape({channels}));
    }
    auto layer = std::make_shared<layers::BatchNormalization>(layers::BatchNormalizationOptions{
        .momentum = float_attr(node, "momentum", 0.9f), .epsilon = float_attr(node, "epsilon", 1e-5f)});
    x.tensor = call(layer, x.tensor, w);
    set(node, x);
  }

  void layer_norm(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    Sym x = plain(node);
    if (int_attr(node, "axis", -1) != -1 &&
        int_attr(node, "axis", -1) != static_cast<std::int64_t>(x.tensor.shape().size())) {
      throw Error(who + ": only axis = -1 is supported");
    }
    if (node.output_size() > 1) throw Error(who + ": the Mean and InvStdDev outputs are not supported");
    const std::int64_t features = x.tensor.shape().back();
    Tensor gamma = constant(node, 1).to(DType::Float32);
    Tensor beta = node.input_size() > 2 && !node.input(2).empty() ? constant(node, 2).to(DType::Float32)
                                                                  : Tensor::zeros({features});
    if (gamma.numel() != features || beta.numel() != features)
      throw Error(who + ": scale and bias must hold " + std::to_string(features) + " values");
    auto layer = std::make_shared<layers::LayerNormalization>(
        layers::LayerNormalizationOptions{.epsilon = float_attr(node, "epsilon", 1e-5f)});
    x.tensor = call(layer, x.tensor, {gamma.reshape({features}), beta.reshape({features})});
    set(node, x);
  }

  void gather(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    if (node.input_size() == 2 && shapes_.count(node.input(0)) && is_const(node.input(1))) {
      // A dimension of a Shape: the batch stays symbolic (kBatch).
      const auto& dims = shapes_.at(node.input(0));
      std::int64_t i = constant(node, 1).to(DType::Int64).to_vector<std::int64_t>().at(0);
      if (i < 0) i += static_cast<std::int64_t>(dims.size());
      if (i < 0 || i >= static_cast<std::int64_t>(dims.size())) throw Error(who + ": index outside the shape");
      shapes_[node.output(0)] = {dims[i]};
      return;
    }
    if (auto it = syms_.find(node.input(0)); it != syms_.end() && it->second.rnn && it->second.rnn->output == 1) {
      // PyTorch's h[-1]: the one direction's last state.
      const auto idx = constant(node, 1).to(DType::Int64).to_vector<std::int64_t>();
      if (!it->second.rnn->backward_weights.empty() && it->second.rnn->direction < 0 && idx.size() == 1 &&
          idx[0] >= -2 && idx[0] <= 1 && int_attr(node, "axis", 0) == 0) {
        // h[-2], h[-1] of a bidirectional layer: its forward and backward last states, which a
        // Concat or Add makes a Bidirectional.
        Sym y = it->second;
        y.rnn->direction = idx[0] == 0 || idx[0] == -2 ? 0 : 1;
        return set(node, y);
      }
      if (idx.size() != 1 || (idx[0] != 0 && idx[0] != -1) || int_attr(node, "axis", 0) != 0) {
        throw Error(who + ": only the first direction of a recurrent state can be taken");
      }
      return set(node, materialize(it->second, who));
    }
    const Tensor& table = constant(node, 0);
    if (table.ndim() != 2 || int_attr(node, "axis", 0) != 0)
      throw Error(who + ": only a lookup in a 2-D table (axis 0) is supported");
    if (node.input_size() < 2) throw Error(who + ": has no indices");
    Sym ids = sym(node.input(1), who);
    Sym y;
    auto layer = std::make_shared<layers::Embedding>(table.size(0), table.size(1));
    y.tensor = call(layer, ids.tensor, {table.to(DType::Float32)});
    set(node, y);
  }

  // --- recurrent layers -----------------------------------------------------------------------

  void shape_of(const onnx::NodeProto& node) {
    if (attr(node, "start") || attr(node, "end")) throw Error(describe(node) + ": start and end are not supported");
    const Sym& x = sym(node.input(0), describe(node));
    Shape s = x.tensor.shape();  // Kiln's per-sample order
    if (x.channels_first) s = {s[2], s[0], s[1]};
    std::vector<std::int64_t> dims{kBatch};
    dims.insert(dims.end(), s.begin(), s.end());
    if (x.time_major) std::swap(dims[0], dims[1]);
    shapes_[node.output(0)] = dims;
  }

  // Zeros of a shape computed from the input's (PyTorch's initial states): nothing in Kiln.
  void constant_of_shape(const onnx::NodeProto& node) {
    const auto* value = attr(node, "value");
    if (value && value->has_t()) {
      const Tensor v = read_tensor(value->t(), "ConstantOfShape value");
      for (double x : v.to(DType::Float64).to_vector<double>()) {
        if (x != 0) throw Error(describe(node) + ": only zeros are supported");
      }
    }
    zeros_.insert(node.output(0));
  }

  // ONNX's W [1, G * H, rows] (its gate order) -> Keras's [rows, G * H] (Keras's gate order).
  static Tensor keras_kernel(const Tensor& w, std::int64_t units, const std::vector<int>& order) {
    const std::int64_t G = static_cast<std::int64_t>(order.size()), rows = w.size(2);
    const auto src = w.to(DType::Float64).to_vector<double>();
    std::vector<double> dst(src.size());
    for (std::int64_t g = 0; g < G; ++g)
      for (std::int64_t u = 0; u < units; ++u)
        for (std::int64_t r = 0; r < rows; ++r)
          dst[r * G * units + order[g] * units + u] = src[(g * units + u) * rows + r];
    return Tensor::from_vector(dst, {rows, G * units}).to(DType::Float32);
  }

  void recurrent(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    const std::string& op = node.op_type();
    Sym x = sym(node.input(0), who);
    if (!x.time_major) throw Error(who + ": X must be time-major: a Transpose [1, 0, 2] of [batch, time, features]");
    if (int_attr(node, "layout", 0) != 0) throw Error(who + ": layout = 1 is not supported");
    const std::string direction = string_attr(node, "direction", "forward");
    const bool both = direction == "bidirectional";
    if (direction != "forward" && direction != "reverse" && !both)
      throw Error(who + ": direction " + direction + " is not supported");
    if (attr(node, "clip") || int_attr(node, "input_forget", 0) != 0)
      throw Error(who + ": clip and input_forget are not supported");
    for (int i = 4; i < node.input_size(); ++i) {
      if (node.input(i).empty()) continue;
      if (i == 4 || i == 7 || !zeros_.count(node.input(i))) {
        throw Error(who + ": input " + std::to_string(i) + " ('" + node.input(i) +
                    "') is not supported: sequence lengths, peepholes and initial states other than zeros");
      }
    }
    PendingRnn r;
    r.type = op == "RNN" ? "SimpleRNN" : op;
    r.input = x.tensor;
    r.go_backwards = direction == "reverse";
    const int G = op == "LSTM" ? 4 : op == "GRU" ? 3 : 1;
    const std::vector<int> order = op == "LSTM"  ? std::vector<int>{0, 3, 1, 2}
                                   : op == "GRU" ? std::vector<int>{0, 1, 2}
                                                 : std::vector<int>{0};
    const auto* acts = attr(node, "activations");
    if (op == "RNN" && acts && acts->strings_size() == 1 && acts->strings(0) == "Relu")
      r.activation = "relu";
    else if (acts && !(op == "RNN" && acts->strings_size() == 1 && acts->strings(0) == "Tanh") &&
             !(op == "GRU" && acts->strings_size() == 2 && acts->strings(0) == "Sigmoid" &&
               acts->strings(1) == "Tanh") &&
             !(op == "LSTM" && acts->strings_size() == 3 && acts->strings(0) == "Sigmoid" &&
               acts->strings(1) == "Tanh" && acts->strings(2) == "Tanh")) {
      throw Error(who + ": only the default activations are supported (SimpleRNN: Tanh or Relu)");
    }
    if (op == "GRU" && int_attr(node, "linear_before_reset", 0) != 1) {
      throw Error(who + ": linear_before_reset = 0 is not supported (Kiln's GRU is Keras's reset_after = true)");
    }
    const Tensor& w = constant(node, 1);
    const Tensor& rk = constant(node, 2);
    const std::int64_t features = x.tensor.shape().at(1);
    const std::int64_t units = int_attr(node, "hidden_size", w.ndim() == 3 ? w.size(1) / G : 0);
    const std::int64_t D = both ? 2 : 1;  // directions
    if (w.shape() != Shape{D, G * units, features} || rk.shape() != Shape{D, G * units, units}) {
      throw Error(who + ": W " + shape_str(w.shape()) + " and R " + shape_str(rk.shape()) + " must be [" +
                  std::to_string(D) + ", " + std::to_string(G * units) + ", " + std::to_string(features) + "] and [" +
                  std::to_string(D) + ", " + std::to_string(G * units) + ", " + std::to_string(units) + "]");
    }
    r.units = units;
    std::vector<double> b(D * 2 * G * units, 0.0);
    if (node.input_size() > 3 && !node.input(3).empty()) {
      const Tensor& bt = constant(node, 3);
      if (bt.numel() != D * 2 * G * units)
        throw Error(who + ": B must hold " + std::to_string(D * 2 * G * units) + " values");
      b = bt.to(DType::Float64).to_vector<double>();
    }
    // Keras's kernel, recurrent kernel and bias of direction d.
    auto keras_weights = [&](std::int64_t d) {
      std::vector<Tensor> weights{keras_kernel(w.slice(d, d + 1).contiguous(), units, order),
                                  keras_kernel(rk.slice(d, d + 1).contiguous(), units, order)};
      auto reorder = [&](std::size_t from) {
        std::vector<double> out(G * units);
        for (int g = 0; g < G; ++g)
          for (std::int64_t u = 0; u < units; ++u) out[order[g] * units + u] = b[from + g * units + u];
        return out;
      };
      const std::size_t at = static_cast<std::size_t>(d * 2 * G * units);
      const auto wb = reorder(at), rb = reorder(at + G * units);
      if (op == "GRU") {
        std::vector<double> two = wb;
        two.insert(two.end(), rb.begin(), rb.end());
        weights.push_back(Tensor::from_vector(two, {2, G * units}).to(DType::Float32));
      } else {
        std::vector<double> sum(wb.size());
        for (std::size_t i = 0; i < sum.size(); ++i) sum[i] = wb[i] + rb[i];  // one bias in Keras
        weights.push_back(Tensor::from_vector(sum, {G * units}).to(DType::Float32));
      }
      return weights;
    };
    r.weights = keras_weights(0);
    if (both) r.backward_weights = keras_weights(1);
    r.node = &node;
    for (int o = 0; o < node.output_size(); ++o) {
      if (node.output(o).empty()) continue;
      Sym out;
      out.rnn = r;
      out.rnn->output = o;
      syms_[node.output(o)] = out;
    }
  }

  Sym materialize(const Sym& s, const std::string& who) {
    const PendingRnn& r = *s.rnn;
    if (!r.backward_weights.empty()) {
      throw Error(who + ": a bidirectional " + r.type +
                  " is imported only through its Y, transposed [0, 2, 1, 3] and reshaped to [T, N, 2 * hidden] "
                  "(both directions' sequences side by side), or through both directions of Y_h (Gathers of 0 and "
                  "1) merged by Concat, Add or Mul");
    }
    if (r.output == 2) throw Error(who + ": LSTM's cell state Y_c cannot be a Kiln model's value");
    const layers::RNNOptions options{
        .activation = r.activation, .return_sequences = r.output == 0, .go_backwards = r.go_backwards};
    std::shared_ptr<layers::Layer> layer;
    if (r.type == "LSTM")
      layer = std::make_shared<layers::LSTM>(r.units, options);
    else if (r.type == "GRU")
      layer = std::make_shared<layers::GRU>(r.units, options);
    else
      layer = std::make_shared<layers::SimpleRNN>(r.units, options);
    Sym y;
    y.tensor = call(layer, r.input, r.weights);
    rnn_made_[{y.tensor.node().get(), y.tensor.index()}] = r;
    // Y's steps come out of a go_backwards layer last input first; ONNX lists them by input position.
    if (r.output == 0) y.time_major = true, y.steps_reversed = r.go_backwards;
    return y;
  }

  void squeeze(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    std::vector<std::int64_t> axes = ints(node, "axes");
    if (node.input_size() > 1 && !node.input(1).empty())
      axes = constant(node, 1).to(DType::Int64).to_vector<std::int64_t>();
    auto it = syms_.find(node.input(0));
    if (it == syms_.end() || !it->second.rnn) throw Error(who + ": Squeeze is supported on recurrent outputs only");
    const int o = it->second.rnn->output;
    if ((o == 0 && axes != std::vector<std::int64_t>{1}) || (o != 0 && axes != std::vector<std::int64_t>{0})) {
      throw Error(who + ": expected the direction axis (" + std::string(o == 0 ? "1" : "0") +
                  ") of a one-direction output");
    }
    set(node, materialize(it->second, who));
  }

  // A Slice that reverses the time axis (Kiln's export of go_backwards sequences) undoes the reversal.
  void slice(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    auto it = syms_.find(node.input(0));
    if (node.input_size() >= 3 && it != syms_.end() && !it->second.time_major && !it->second.rnn) {
      return crop(node, sym(node.input(0), who));
    }
    if (node.input_size() < 5 || it == syms_.end() || !it->second.time_major) {
      throw Error(who + ": only the reversal of a time-major sequence is supported");
    }
    const auto starts = constant(node, 1).to(DType::Int64).to_vector<std::int64_t>();
    const auto ends = constant(node, 2).to(DType::Int64).to_vector<std::int64_t>();
    const auto axes = constant(node, 3).to(DType::Int64).to_vector<std::int64_t>();
    const auto steps = constant(node, 4).to(DType::Int64).to_vector<std::int64_t>();
    const std::int64_t T = it->second.tensor.shape()[0];
    if (axes != std::vector<std::int64_t>{0} || steps != std::vector<std::int64_t>{-1} || starts.size() != 1 ||
        (starts[0] != -1 && starts[0] < T - 1) || ends.size() != 1 || ends[0] > -T - 1) {
      throw Error(who + ": only the reversal of a time-major sequence is supported");
    }
    Sym y = it->second;
    y.steps_reversed = !y.steps_reversed;
    set(node, y);
  }

  void resize(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    Sym x = sym(node.input(0), who);
    const bool sequence = x.tensor.shape().size() == 2;
    if ((x.tensor.shape().size() != 3 && !sequence) || string_attr(node, "mode", "nearest") != "nearest") {
      throw Error(who + ": only nearest-neighbour resizing of images and sequences is supported");
    }
    if (node.input_size() < 3 || node.input(2).empty())
      throw Error(who + ": only resizing by constant scales is supported");
    const auto s = constant(node, 2).to(DType::Float64).to_vector<double>();
    if (sequence) {
      // [N, T, C] or [N, C, T]: UpSampling1D by a whole number of steps.
      if (s.size() != 3) throw Error(who + ": expected 3 scales");
      if (x.channels_first && s[1] != 1 && s[2] == 1) {
        // The steps of a Permute((2, 1)) of a sequence (an [N, C, T] view read as [N, T, C]).
        x = swapped_sequence(x);
        syms_[node.input(0)] = x;
      }
      const double steps = x.channels_first ? s[2] : s[1], channels = x.channels_first ? s[1] : s[2];
      if (s[0] != 1 || channels != 1 || steps < 1 || steps > 64 || steps != std::floor(steps)) {
        throw Error(who + ": scales must be a whole number on the steps only");
      }
      x.tensor = call(std::make_shared<layers::UpSampling1D>(static_cast<std::int64_t>(steps)), x.tensor, {});
      return set(node, x);
    }
    if (s.size() != 4) throw Error(who + ": expected 4 scales");
    const std::vector<double> hw = x.channels_first ? std::vector<double>{s[2], s[3]} : std::vector<double>{s[1], s[2]};
    const double batch = s[0], channels = x.channels_first ? s[1] : s[3];
    auto whole = [](double v) { return v >= 1 && v <= 64 && v == std::floor(v); };
    if (batch != 1 || channels != 1 || !whole(hw[0]) || !whole(hw[1]))
      throw Error(who + ": scales must be whole numbers on H and W only");
    x.tensor = call(std::make_shared<layers::UpSampling2D>(layers::Size2(std::int64_t(hw[0]), std::int64_t(hw[1]))),
                    x.tensor, {});
    set(node, x);
  }

  // --- layers written as subgraphs ------------------------------------------------------------

  // The steps to import: the file's nodes, each subgraph that is one layer (import_patterns.hpp)
  // standing at its last node.
  void find_subgraphs(const onnx::GraphProto& graph) {
    std::map<std::string, int> constant_nodes;
    for (int i = 0; i < graph.node_size(); ++i) {
      const auto& n = graph.node(i);
      if (n.op_type() == "Constant" && n.output_size() > 0) constant_nodes.emplace(n.output(0), i);
      for (const auto& in : n.input()) readers_[in].push_back(&n);
    }
    // Constant nodes are read here ahead of their turn (and again at it), for the matchers' constants.
    fused_ = find_fused_layers(graph, [&](const std::string& name) -> const Tensor* {
      if (const auto it = consts_.find(name); it != consts_.end()) return &it->second;
      if (const auto it = early_consts_.find(name); it != early_consts_.end()) return &it->second;
      const auto c = constant_nodes.find(name);
      if (c == constant_nodes.end()) return nullptr;
      const auto* value = attr(graph.node(c->second), "value");
      if (!value || !value->has_t()) return nullptr;
      return &early_consts_.emplace(name, read_tensor(value->t(), "Constant '" + name + "'")).first->second;
    });
    std::map<std::size_t, const FusedLayer*> made_at;
    std::set<std::size_t> inside;
    for (const auto& f : fused_) {
      made_at[f.last] = &f;
      inside.insert(f.nodes.begin(), f.nodes.end());
    }
    for (int i = 0; i < graph.node_size(); ++i) {
      const std::size_t at = static_cast<std::size_t>(i);
      if (made_at.count(at)) {
        steps_.push_back({&graph.node(i), made_at.at(at)});
      } else if (!inside.count(at)) {
        steps_.push_back({&graph.node(i), nullptr});
      }
    }
  }

  void import_step(const ImportStep& step) {
    if (step.fused) return import_fused(*step.fused, *step.node);
    import_node(*step.node);
  }

  void import_fused(const FusedLayer& f, const onnx::NodeProto& last) {
    const std::string who = describe(last) + " (the last node of a " + f.type + ")";
    if (syms_.count(f.output) || consts_.count(f.output)) {
      throw Error(who + ": its output '" + f.output + "' is already produced by an earlier node");
    }
    if (f.type == "gelu" || f.type == "ReLU") {
      Sym x = sym(f.inputs[0], who);
      std::shared_ptr<layers::Layer> layer;
      if (f.type == "gelu") {
        layer = std::make_shared<layers::Activation>("gelu");
      } else {
        const auto cap = f.numbers.find("max_value");
        layer =
            std::make_shared<layers::ReLU>(cap == f.numbers.end() ? std::nullopt : std::optional<double>(cap->second),
                                           f.numbers.at("negative_slope"), f.numbers.at("threshold"));
      }
      x.tensor = call(layer, x.tensor, {});
      syms_[f.output] = x;
      return;
    }
    if (f.type == "GroupNormalization") return group_normalization(f, who);
    if (f.type == "Normalization" || f.type == "ScaleShift") return by_vectors(f, who);
    if (f.type == "TransformerEncoder") return transformer_encoder(f, who);
    if (f.type == "LayerNormalization") {
      Sym x = plain_value(f.inputs[0], who);
      const std::int64_t features = x.tensor.shape().back();
      const Tensor &gamma = f.tensors.at("gamma"), &beta = f.tensors.at("beta");
      if (gamma.numel() != features) {
        throw Error(who + ": gamma and beta of " + std::to_string(gamma.numel()) + " values for " +
                    std::to_string(features) + " features");
      }
      auto layer = std::make_shared<layers::LayerNormalization>(
          layers::LayerNormalizationOptions{.epsilon = f.numbers.at("epsilon")});
      x.tensor = call(layer, x.tensor, {gamma.to(DType::Float32), beta.to(DType::Float32)});
      syms_[f.output] = x;
      return;
    }
    // Dot and the dense attentions: merges of values in Kiln's layout.
    std::vector<SymbolicTensor> in;
    for (const auto& name : f.inputs) {
      Sym s = plain_value(name, who);
      in.push_back(s.tensor);
    }
    Sym y;
    if (f.type == "Dot") {
      if (in[0].shape().size() != 1 || in[0].shape() != in[1].shape()) {
        throw Error(who + ": a Dot of vectors needs two [N, D] values of one width, got " + shape_str(in[0].shape()) +
                    " and " + shape_str(in[1].shape()) + " per sample");
      }
      y.tensor = (*std::make_shared<layers::Dot>(layers::DotAxes(1)))(in);
      syms_[f.output] = y;
      return;
    }
    for (const auto& t : in) {
      if (t.shape().size() != 2) {
        throw Error(who + ": attention takes [N, T, D] values, got per-sample shape " + shape_str(t.shape()));
      }
    }
    const bool causal = f.numbers.at("use_causal_mask") != 0;
    if (causal && (f.numbers.at("mask_rows") != in[0].shape()[0] || f.numbers.at("mask_columns") != in[1].shape()[0])) {
      throw Error(who + ": a causal mask of " + detail::number_text(f.numbers.at("mask_rows")) + " x " +
                  detail::number_text(f.numbers.at("mask_columns")) + " for " + std::to_string(in[0].shape()[0]) +
                  " queries and " + std::to_string(in[1].shape()[0]) + " keys");
    }
    const layers::DenseAttentionOptions options{
        .use_scale = f.tensors.count("scale") > 0,
        .score_mode = f.strings.count("score_mode") ? f.strings.at("score_mode") : std::string("dot"),
        .use_causal_mask = causal};
    std::shared_ptr<layers::Attention> layer = f.type == "Attention"
                                                   ? std::make_shared<layers::Attention>(options)
                                                   : std::make_shared<layers::AdditiveAttention>(options);
    y.tensor = (*layer)(in);
    for (const auto& w : layer->weights()) {
      const auto it = f.tensors.find(w.name);
      if (it == f.tensors.end() || it->second.numel() != w.value.numel()) {
        throw Error(who + ": its " + w.name + " does not fit " + layer->type() + "'s " + shape_str(w.value.shape()));
      }
      w.value.detach().copy_(it->second.reshape(w.value.shape()).to(w.value.dtype()));
    }
    if (recording_) recording_->push_back({layer, in[0], y.tensor});
    syms_[f.output] = y;
  }

  // A value for a layer over its last axis: Kiln's layout, not a flattening.
  Sym plain_value(const std::string& name, const std::string& who) {
    Sym s = sym(name, who);
    if (s.channels_first && s.tensor.shape().size() == 2) {
      s = swapped_sequence(s);
      syms_[name] = s;
    }
    if (s.channels_first || s.time_major || !s.flat_chw.empty()) {
      throw Error(who + ": reads '" + name +
                  "' in a layout other than Kiln's (channels first, time-major or flattened)");
    }
    return s;
  }

  // (x - mean) / stddev: Normalization with variance stddev^2; x * scale + shift: BatchNormalization
  // with mean 0 and variance 1 - epsilon (a Normalization's invert comes back so too).
  void by_vectors(const FusedLayer& f, const std::string& who) {
    Sym x = plain_value(f.inputs[0], who);
    const std::int64_t features = x.tensor.shape().back();
    const bool normalization = f.type == "Normalization";
    const auto a = f.tensors.at(normalization ? "mean" : "scale").to(DType::Float64).to_vector<double>();
    const auto b = f.tensors.at(normalization ? "stddev" : "shift").to(DType::Float64).to_vector<double>();
    if (static_cast<std::int64_t>(a.size()) != features) {
      throw Error(who + ": vectors of " + std::to_string(a.size()) + " values for " + std::to_string(features) +
                  " features");
    }
    if (normalization) {
      std::vector<double> variance;
      for (double s : b) {
        if (!(s > 0)) throw Error(who + ": a standard deviation of " + detail::number_text(s) + " (expected > 0)");
        variance.push_back(s * s);
      }
      x.tensor =
          call(std::make_shared<layers::Normalization>(layers::NormalizationOptions{.mean = a, .variance = variance}),
               x.tensor, {});
    } else {
      const double epsilon = 1e-3;
      const Shape c{features};
      auto layer = std::make_shared<layers::BatchNormalization>(layers::BatchNormalizationOptions{.epsilon = epsilon});
      x.tensor = call(layer, x.tensor,
                      {Tensor::from_vector(a, c).to(DType::Float32), Tensor::from_vector(b, c).to(DType::Float32),
                       Tensor::zeros(c), Tensor::full(c, 1.0 - epsilon)});
    }
    syms_[f.output] = x;
  }

  // ReduceMean or ReduceMax over every axis but the batch and the last of a value in Kiln's
  // layout: GlobalAveragePooling1D/2D or GlobalMaxPooling1D/2D.
  void reduce_pooling(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    Sym x = plain_value(node.input(0), who);
    const std::size_t rank = x.tensor.shape().size() + 1;
    std::vector<std::int64_t> axes = ints(node, "axes");
    if (node.input_size() > 1 && !node.input(1).empty())
      axes = constant(node, 1).to(DType::Int64).to_vector<std::int64_t>();
    for (auto& a : axes) a = a < 0 ? a + static_cast<std::int64_t>(rank) : a;
    std::vector<std::int64_t> spatial(rank > 2 ? rank - 2 : 0);
    std::iota(spatial.begin(), spatial.end(), 1);
    if ((rank != 3 && rank != 4) || axes != spatial) {
      throw Error(who + ": only a " + node.op_type() +
                  " over the steps or pixels of a sequence or image (global pooling) is supported, got axes " +
                  shape_str(axes) + " of a value of rank " + std::to_string(rank));
    }
    const layers::GlobalPoolingOptions options{.keepdims = int_attr(node, "keepdims", 1) != 0};
    const bool average = node.op_type() == "ReduceMean";
    std::shared_ptr<layers::Layer> layer;
    if (rank == 3) {
      layer = average ? std::shared_ptr<layers::Layer>(std::make_shared<layers::GlobalAveragePooling1D>(options))
                      : std::make_shared<layers::GlobalMaxPooling1D>(options);
    } else {
      layer = average ? std::shared_ptr<layers::Layer>(std::make_shared<layers::GlobalAveragePooling2D>(options))
                      : std::make_shared<layers::GlobalMaxPooling2D>(options);
    }
    x.tensor = call(layer, x.tensor, {});
    set(node, x);
  }

  void transformer_encoder(const FusedLayer& f, const std::string& who) {
    Sym x = plain_value(f.inputs[0], who);
    const Shape& s = x.tensor.shape();
    const auto heads = static_cast<std::int64_t>(f.numbers.at("num_heads"));
    const auto hidden = f.tensors.at("self_attention/attention_output/bias").numel();
    const bool causal = f.numbers.at("use_causal_mask") != 0;
    if (s.size() != 2 || s[1] != hidden || (causal && f.numbers.at("mask_steps") != s[0])) {
      throw Error(
          who + ": a TransformerEncoder of width " + std::to_string(hidden) +
          (causal ? " with a causal mask of " + detail::number_text(f.numbers.at("mask_steps")) + " steps" : "") +
          " on a value of per-sample shape " + shape_str(s));
    }
    auto layer = std::make_shared<layers::TransformerEncoder>(
        static_cast<std::int64_t>(f.numbers.at("intermediate_dim")), heads,
        layers::TransformerEncoderOptions{.activation = f.strings.at("activation"),
                                          .layer_norm_epsilon = f.numbers.at("layer_norm_epsilon"),
                                          .normalize_first = f.numbers.at("normalize_first") != 0,
                                          .use_causal_mask = causal});
    x.tensor = call(layer, x.tensor, {});
    std::size_t used = 0;
    for (const auto& w : layer->weights()) {
      const auto it = f.tensors.find(w.name);
      if (it == f.tensors.end() || it->second.numel() != w.value.numel()) {
        throw Error(who + ": its " + w.name + " does not fit TransformerEncoder's " + shape_str(w.value.shape()));
      }
      w.value.detach().copy_(it->second.reshape(w.value.shape()).to(w.value.dtype()));
      ++used;
    }
    if (used != f.tensors.size()) throw Error(who + ": weights left over for a TransformerEncoder");
    syms_[f.output] = x;
  }

  void group_normalization(const FusedLayer& f, const std::string& who) {
    Sym x = sym(f.inputs[0], who);
    const Shape& s = x.tensor.shape();  // Kiln's layout: channels last
    const bool first = f.strings.at("layout") == "channels_first";
    if (!x.flat_chw.empty() || x.time_major || x.channels_first != first || s.size() < 2) {
      throw Error(who + ": groups of a value in another layout than its Reshape expects (" + f.strings.at("layout") +
                  ")");
    }
    const std::int64_t channels = s.back(), groups = static_cast<std::int64_t>(f.numbers.at("groups"));
    if (groups < 1 || channels % groups != 0) {
      throw Error(who + ": " + std::to_string(groups) + " groups do not divide " + std::to_string(channels) +
                  " channels");
    }
    std::vector<std::int64_t> grouping =
        first ? std::vector<std::int64_t>{0, groups, -1} : std::vector<std::int64_t>{0, -1, groups, channels / groups};
    std::vector<std::int64_t> shape{0};
    if (first) shape.push_back(channels);
    shape.insert(shape.end(), s.begin(), s.end() - 1);
    if (!first) shape.push_back(channels);
    const auto got_grouping = f.tensors.at("grouping").to_vector<std::int64_t>();
    const auto got_shape = f.tensors.at("shape").to_vector<std::int64_t>();
    if (got_grouping != grouping || got_shape != shape) {
      throw Error(who + ": reshapes " + shape_str(got_grouping) + " and " + shape_str(got_shape) +
                  " are not GroupNormalization's " + shape_str(grouping) + " and " + shape_str(shape) +
                  " for a value of per-sample shape " + shape_str(s));
    }
    const bool scale = f.tensors.count("gamma") > 0, center = f.tensors.count("beta") > 0;
    std::vector<Tensor> weights;
    if (scale) weights.push_back(f.tensors.at("gamma").to(DType::Float32));
    if (center) weights.push_back(f.tensors.at("beta").to(DType::Float32));
    auto layer = std::make_shared<layers::GroupNormalization>(layers::GroupNormalizationOptions{
        .groups = groups, .epsilon = f.numbers.at("epsilon"), .center = center, .scale = scale});
    x.tensor = call(layer, x.tensor, weights);
    syms_[f.output] = x;
  }

  // MatMul of two computed [N, A, B] values (a Transpose [0, 2, 1] of either sets which axes
  // meet): Keras's Dot over those axes.
  void batch_dot(const onnx::NodeProto& node) {
    const std::string who = describe(node);
    const Sym& a = sym(node.input(0), who);
    const Sym& b = sym(node.input(1), who);
    const Shape &sa = a.tensor.shape(), &sb = b.tensor.shape();
    if (sa.size() != 2 || sb.size() != 2 || a.time_major || b.time_major || !a.flat_chw.empty() ||
        !b.flat_chw.empty()) {
      throw Error(who + ": a product of two computed values is imported for [N, A, B] values only (Keras's Dot), got " +
                  shape_str(sa) + " and " + shape_str(sb));
    }
    // The ONNX value of a channels-first sequence is the transpose of the Kiln tensor.
    const int axis_a = a.channels_first ? 1 : 2, axis_b = b.channels_first ? 2 : 1;
    if (sa[axis_a - 1] != sb[axis_b - 1]) {
      throw Error(who + ": the product's inner sizes differ: " + std::to_string(sa[axis_a - 1]) + " and " +
                  std::to_string(sb[axis_b - 1]));
    }
    Sym y;
    y.tensor = (*std::make_shared<layers::Dot>(layers::DotAxes(axis_a, axis_b)))({a.tensor, b.tensor});
    set(node, y);
  }

  // Reshape [N, T, ...] -> [N * T, ...], the wrapped layer's nodes, Reshape back to [N, T, ...]:
  // each layer those nodes make, wrapped in TimeDistributed (a layer and the activation after
  // it as one layer with that activation, as Keras had it).
  void time_distributed(const onnx::NodeProto& start, const Sym& x) {
    const std::string who = describe(start);
    if (time_distributed_depth_ >= 4) throw Error(who + ": TimeDistributed nested more than 4 deep");
    ++time_distributed_depth_;
    const std::int64_t steps = x.tensor.shape()[0];
    const Shape step(x.tensor.shape().begin() + 1, x.tensor.shape().end());
    std::map<std::string, Sym> outer;
    outer.swap(syms_);
    std::vector<MadeLayer> made;
    std::vector<MadeLayer>* saved = recording_;
    recording_ = &made;
    Sym in;
    in.tensor = Input(step, "time_step", x.tensor.dtype());
    syms_[start.output(0)] = in;
    const onnx::NodeProto* end = nullptr;
    while (next_ < steps_.size()) {
      const ImportStep& s = steps_[next_];
      if (!s.fused && closes_time_distributed(*s.node, steps)) {
        end = s.node;
        ++next_;
        break;
      }
      auto inside = [&](const std::string& name) {
        if (!name.empty() && !syms_.count(name) && outer.count(name)) {
          throw Error(describe(*s.node) + ": inside the TimeDistributed that " + who + " begins, it reads '" + name +
                      "' from outside it");
        }
      };
      if (s.fused) {
        for (const auto& name : s.fused->inputs) inside(name);
      } else {
        for (const auto& name : s.node->input()) inside(name);
      }
      ++next_;
      import_step(s);
    }
    if (!end) {
      throw Error(who + ": begins a TimeDistributed ([N * T, ...]) that no Reshape back to [N, " +
                  std::to_string(steps) + ", ...] ends");
    }
    const SymbolicTensor inner_out = sym(end->input(0), describe(*end)).tensor;
    --time_distributed_depth_;
    recording_ = saved;
    syms_.swap(outer);
    // The layers, each reading the one before.
    SymbolicTensor at = in.tensor;
    std::vector<std::shared_ptr<layers::Layer>> chain;
    for (const MadeLayer& m : made) {
      if (!same_value(m.input, at)) {
        throw Error(describe(*end) + ": the layers inside the TimeDistributed that " + who +
                    " begins are not one chain (" + m.layer->type() + " '" + m.layer->name() + "' reads " +
                    m.input.describe() + ")");
      }
      chain.push_back(m.layer);
      at = m.output;
    }
    if (!same_value(at, inner_out)) {
      throw Error(describe(*end) + ": the TimeDistributed that " + who +
                  " begins holds a merge or another graph, not a chain of layers");
    }
    Sym y;
    y.tensor = x.tensor;
    for (std::size_t i = 0; i < chain.size(); ++i) {
      std::shared_ptr<layers::Layer> layer = chain[i];
      std::vector<Tensor> weights;
      if (i + 1 < chain.size() && chain[i + 1]->type() == "Activation") {
        nlohmann::json c = layer->get_config();
        if (c.contains("activation") && (c.at("activation") == "linear" || c.at("activation") == "")) {
          c["activation"] = chain[i + 1]->get_config().at("activation");
          weights = layer->get_weights();
          layer = layers::layer_from_config(layer->type(), c);
          ++i;
        }
      }
      y.tensor = call(std::make_shared<layers::TimeDistributed>(layer), y.tensor, weights);
    }
    set(*end, y);
  }

  // Whether a later Reshape to [-1, steps, ...] may end a TimeDistributed (a Reshape of [N, 1, F]
  // to [N, F] without one is Keras's Reshape).
  bool time_distributed_ends(std::int64_t steps) const {
    for (std::size_t i = next_; i < steps_.size(); ++i) {
      const onnx::NodeProto& n = *steps_[i].node;
      if (steps_[i].fused || n.op_type() != "Reshape" || n.input_size() < 2) continue;
      const auto c = consts_.find(n.input(1));
      if (c == consts_.end() || c->second.dtype() != DType::Int64 || c->second.ndim() != 1 || c->second.numel() < 2)
        continue;
      const auto target = c->second.to_vector<std::int64_t>();
      if (target[0] == -1 && target[1] == steps) return true;
    }
    return false;
  }

  // A Reshape of an inner value to [-1, steps, ...] holding steps times its values: the end of TimeDistributed.
  bool closes_time_distributed(const onnx::NodeProto& node, std::int64_t steps) {
    if (node.op_type() != "Reshape" || node.input_size() < 2 || !is_const(node.input(1)) ||
        !syms_.count(node.input(0))) {
      return false;
    }
    const Tensor& t = consts_.at(node.input(1));
    if (t.dtype() != DType::Int64 || t.ndim() != 1 || t.numel() < 2) return false;
    const auto target = t.to_vector<std::int64_t>();
    if (target[0] != -1 || target[1] != steps) return false;
    const Sym& y = sym(node.input(0), describe(node));
    Shape out(target.begin() + 2, target.end());
    Shape have = y.tensor.shape();
    if (y.channels_first)
      have = {have.back()}, have.insert(have.end(), y.tensor.shape().begin(), y.tensor.shape().end() - 1);
    return out == have && y.flat_chw.empty() && !y.time_major;
  }

  // Concat, Add or Mul of a recurrent layer's output and its reverse twin's (the same input, the
  // backward sequence in input order): Bidirectional, merged so; Add then Mul by 1/2 is "ave".
  bool bidirectional_merge(const onnx::NodeProto& node) {
    const auto a = syms_.find(node.input(0)), b = syms_.find(node.input(1));
    if (a != syms_.end() && b != syms_.end() && a->second.rnn && b->second.rnn) {
      // PyTorch's h[-2] and h[-1] of one bidirectional node: the two last states.
      const PendingRnn &p = *a->second.rnn, &q = *b->second.rnn;
      if (p.node != q.node || p.output != 1 || q.output != 1 || p.direction != 0 || q.direction != 1) return false;
      if (node.op_type() == "Concat" && int_attr(node, "axis", 1) != 1 && int_attr(node, "axis", 1) != -1) return false;
      std::vector<Tensor> weights = p.weights;
      weights.insert(weights.end(), p.backward_weights.begin(), p.backward_weights.end());
      Sym y;
      y.tensor = call(std::make_shared<layers::Bidirectional>(*recurrent_layer(p, false), merge_mode_of(node)), p.input,
                      weights);
      set(node, y);
      return true;
    }
    if (a == syms_.end() || b == syms_.end() || !a->second.tensor.defined() || !b->second.tensor.defined())
      return false;
    const Sym &f = a->second, &r = b->second;
    const auto fr = rnn_made_.find({f.tensor.node().get(), f.tensor.index()});
    const auto rr = rnn_made_.find({r.tensor.node().get(), r.tensor.index()});
    if (fr == rnn_made_.end() || rr == rnn_made_.end()) return false;
    const PendingRnn &p = fr->second, &q = rr->second;
    const bool sequences = p.output == 0;
    if (p.go_backwards || !q.go_backwards || p.type != q.type || p.units != q.units || p.activation != q.activation ||
        p.output != q.output || !same_value(p.input, q.input) || f.time_major || r.time_major || f.channels_first ||
        r.channels_first || f.steps_reversed || r.steps_reversed != sequences) {
      return false;
    }
    if (node.op_type() == "Concat") {
      const std::int64_t axis = int_attr(node, "axis", 1);
      if (axis != -1 && axis != (sequences ? 2 : 1)) return false;
    }
    const std::string mode = merge_mode_of(node);
    std::vector<Tensor> weights = p.weights;
    weights.insert(weights.end(), q.weights.begin(), q.weights.end());
    Sym y;
    y.tensor = call(std::make_shared<layers::Bidirectional>(*recurrent_layer(p, sequences), mode), p.input, weights);
    set(node, y);
    return true;
  }

  // Bidirectional's merge_mode for a Concat, Add or Mul of its two directions; Add then Mul by
  // 1/2 is "ave" when that Mul is the sum's only reader.
  std::string merge_mode_of(const onnx::NodeProto& node) {
    if (node.op_type() == "Concat") return "concat";
    if (node.op_type() == "Mul") return "mul";
    const auto it = readers_.find(node.output(0));
    if (it != readers_.end() && it->second.size() == 1 && it->second[0]->op_type() == "Mul" &&
        it->second[0]->input_size() == 2 && it->second[0]->input(0) == node.output(0) &&
        is_const(it->second[0]->input(1))) {
      const Tensor& half = consts_.at(it->second[0]->input(1));
      if (half.numel() == 1 && half.to(DType::Float64).to_vector<double>()[0] == 0.5) {
        ave_sums_.insert(node.output(0));
        return "ave";
      }
    }
    return "sum";
  }

  static std::shared_ptr<layers::RNNLayer> recurrent_layer(const PendingRnn& r, bool sequences) {
    const layers::RNNOptions options{
        .activation = r.activation, .return_sequences = sequences, .go_backwards = r.go_backwards};
    if (r.type == "LSTM") return std::make_shared<layers::LSTM>(r.units, options);
    if (r.type == "GRU") return std::make_shared<layers::GRU>(r.units, options);
    return std::make_shared<layers::SimpleRNN>(r.units, options);
  }

  fs::path base_dir_;
  std::string source_;
  std::int64_t opset_ = 0;
  bool from_kiln_ = false;  // written by Kiln's exporter: images NHWC
  int time_distributed_depth_ = 0;
  std::map<std::string, Tensor> consts_;
  std::map<std::string, Sym> syms_;
  std::map<std::string, std::vector<std::int64_t>> shapes_;  // values computed from Shape (kBatch: the batch)
  std::set<std::string> zeros_;                              // ConstantOfShape zeros
  std::vector<FusedLayer> fused_;                            // subgraphs that are one layer
  std::map<std::string, Tensor> early_consts_;               // Constant nodes' values, for find_fused_layers
  std::vector<ImportStep> steps_;
  std::size_t next_ = 0;  // the next step to import
  std::map<std::string, std::vector<const onnx::NodeProto*>> readers_;
  std::vector<MadeLayer>* recording_ = nullptr;  // the layers made inside a TimeDistributed
  // Recurrent layers made from ONNX nodes, by their output: two of them may be one Bidirectional.
  std::map<std::pair<const void*, int>, PendingRnn> rnn_made_;
  std::set<std::string> ave_sums_;  // a Bidirectional's sum whose Mul by 1/2 makes it "ave"
};

}  // namespace

std::shared_ptr<Model> load_onnx_from_bytes(std::string_view bytes, const fs::path& base_dir,
                                            const std::string& source) {
  return Importer(base_dir, source).run(bytes);
}

std::shared_ptr<Model> load_onnx(const fs::path& path) {
  const std::string bytes = io::read_file(path);
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  return load_onnx_from_bytes(bytes, dir, path.string());
}

}  // namespace kiln
