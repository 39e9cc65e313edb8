// MultiHeadAttention, as Keras's: query, key and value projections per head,
// scaled dot-product attention, and an output projection back to the query's
// width (or output_shape).
//
// Weights in Keras's layout (its EinsumDense kernels), E = features:
//   query/kernel [E_q, heads, key_dim]    query/bias [heads, key_dim]
//   key/kernel   [E_k, heads, key_dim]    key/bias   [heads, key_dim]
//   value/kernel [E_v, heads, value_dim]  value/bias [heads, value_dim]
//   attention_output/kernel [heads, value_dim, output]  attention_output/bias [output]
// PyTorch's nn.MultiheadAttention holds the same numbers as in_proj_weight
// [3E, E] (query, key, value rows; row h*key_dim + d is head h's unit d) and
// out_proj [E, E], transposed.
//
//   MultiHeadAttention mha(4, 16);
//   auto [out, weights] = mha.call(query, value, key, {.use_causal_mask = true});
// In a Sequential model, mha(x) is self-attention: call(x, x, x).output.
#pragma once
#include "kiln/constraints.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/ops/attention.hpp"
#include "kiln/regularizers.hpp"

namespace kiln::layers {

struct MultiHeadAttentionOptions {
  std::int64_t value_dim = 0;     // 0: key_dim (Keras's None)
  bool use_bias = true;
  std::int64_t output_shape = 0;  // width of the output; 0: the query's features (Keras's None)
  Initializer kernel_initializer = "glorot_uniform";
  Initializer bias_initializer = "zeros";
  // As Keras's, on each of the four projections (query, key, value, attention_output): their
  // kernels, their biases, and (activity) their outputs.
  regularizers::RegularizerArgument kernel_regularizer = {};
  regularizers::RegularizerArgument bias_regularizer = {};
  regularizers::RegularizerArgument activity_regularizer = {};
  constraints::ConstraintArgument kernel_constraint = {};
  constraints::ConstraintArgument bias_constraint = {};
  Shape input_shape = {};  // the query's [time, features], only on a model's first layer
  std::string name;
};

struct AttentionCallArgs {
  // [batch, Tq, Tk], nonzero where query i may attend to key j (Keras's attention_mask).
  Tensor attention_mask;
  // [batch, Tk], nonzero for real key/value positions, zero for padding (what
  // Keras takes from the value's mask; PyTorch's key_padding_mask inverted).
  Tensor padding_mask;
  bool use_causal_mask = false;  // query i attends to keys j <= i
  bool training = false;
};

class MultiHeadAttention : public Layer {
 public:
  MultiHeadAttention(std::int64_t num_heads, std::int64_t key_dim, MultiHeadAttentionOptions options = {});

  std::int64_t num_heads() const { return num_heads_; }
  std::int64_t key_dim() const { return key_dim_; }
  std::int64_t value_dim() const { return options_.value_dim ? options_.value_dim : key_dim_; }
  const MultiHeadAttentionOptions& options() const { return options_; }

  // query [batch, Tq, E_q], value [batch, Tk, E_v], key [batch, Tk, E_k]
  // (undefined: the value). Returns the output [batch, Tq, output] and the
  // attention weights [batch, heads, Tq, Tk] (for inspection; not differentiable).
  AttentionResult call(const Tensor& query, const Tensor& value, const Tensor& key = Tensor(),
                       const AttentionCallArgs& args = {});

  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;
  std::vector<Tensor> regularization_losses() const override;
  void apply_constraints() override;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;
  bool accepts(const Shape& built, const Shape& actual) const override;

 private:
  std::int64_t num_heads_, key_dim_;
  MultiHeadAttentionOptions options_;
  // Feature widths of value and key, fixed when the layer is built (the query's by default).
  std::int64_t value_features_ = 0, key_features_ = 0;
  Tensor query_kernel_, query_bias_, key_kernel_, key_bias_, value_kernel_, value_bias_, output_kernel_, output_bias_;
  std::vector<Tensor> activity_;  // the last call's projections, kept only with an activity_regularizer
};

}  // namespace kiln::layers
