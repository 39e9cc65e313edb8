// TransformerEncoder: one Transformer block, as keras_nlp's layer of that name.
//
//   x = LayerNorm(x + Dropout(MultiHeadAttention(x, x, x)))       (post-norm, the default;
//   x = LayerNorm(x + Dropout(Dense(Dense(x, activation))))         normalize_first: pre-norm)
//
// key_dim = features / num_heads. With use_causal_mask each position attends
// only to itself and earlier ones: the block of a decoder-only (GPT-style)
// language model, which keras_nlp builds from TransformerDecoder.
// PyTorch's nn.TransformerEncoderLayer(batch_first=True, dropout=0,
// norm_first=normalize_first) computes the same function.
//
// Weights (names as keras_nlp's sublayers): self_attention/... (see
// MultiHeadAttention), self_attention_layer_norm/{gamma,beta},
// feedforward_intermediate_dense/{kernel,bias}, feedforward_output_dense/{kernel,bias},
// feedforward_layer_norm/{gamma,beta}.
#pragma once
#include <memory>

#include "kiln/layers/attention.hpp"
#include "kiln/layers/dense.hpp"
#include "kiln/layers/dropout.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/layers/normalization.hpp"

namespace kiln::layers {

struct TransformerEncoderOptions {
  double dropout = 0.0;  // after the attention and after the feed-forward network, when training
  std::string activation = "relu";
  double layer_norm_epsilon = 1e-5;
  bool normalize_first = false;
  bool use_causal_mask = false;
  Initializer kernel_initializer = "glorot_uniform";
  Initializer bias_initializer = "zeros";
  Shape input_shape = {};  // [time, features], only on a model's first layer
  std::string name;
};

struct TransformerCallArgs {
  Tensor padding_mask;    // [batch, time], nonzero for real positions
  Tensor attention_mask;  // [batch, time, time], nonzero where position i may attend to j
  bool training = false;
};

class TransformerEncoder : public Layer {
 public:
  TransformerEncoder(std::int64_t intermediate_dim, std::int64_t num_heads, TransformerEncoderOptions options = {});

  std::int64_t intermediate_dim() const { return intermediate_dim_; }
  std::int64_t num_heads() const { return num_heads_; }
  const TransformerEncoderOptions& options() const { return options_; }
  Tensor call(const Tensor& x, const TransformerCallArgs& args = {});

  Shape compute_output_shape(const Shape& input_shape) const override;
  nlohmann::json get_config() const override;

 protected:
  void build_weights(const Shape& input_shape, Generator& generator) override;
  Tensor forward(const Tensor& x, bool training) override;
  bool accepts(const Shape& built, const Shape& actual) const override;

 private:
  std::int64_t intermediate_dim_, num_heads_;
  TransformerEncoderOptions options_;
  std::shared_ptr<MultiHeadAttention> attention_;
  std::shared_ptr<LayerNormalization> attention_norm_, feedforward_norm_;
  std::shared_ptr<Dense> intermediate_, output_;
  std::shared_ptr<Dropout> attention_dropout_, feedforward_dropout_;
};

}  // namespace kiln::layers
