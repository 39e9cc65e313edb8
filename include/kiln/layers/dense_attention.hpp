// Keras's Attention (Luong-style dot-product attention) and AdditiveAttention
// (Bahdanau-style), called on a list [query, value] or [query, value, key]:
//   query [batch, Tq, dim], value [batch, Tv, dim_v], key [batch, Tv, dim] (default: value)
//   -> [batch, Tq, dim_v] = softmax(scores) value, softmax over the Tv axis.
// Scores [batch, Tq, Tv]:
//   Attention, score_mode "dot":     scale * (query key^T)                  (scale only with use_scale)
//   Attention, score_mode "concat":  concat_score_weight * sum(tanh(scale * (q_i + k_j)), over dim)
//   AdditiveAttention:               sum(scale * tanh(q_i + k_j), over dim) (scale [dim], with use_scale)
// Weights: Attention's scale and concat_score_weight are scalars starting at 1; AdditiveAttention's
// scale [dim] starts glorot_uniform. use_causal_mask lets query i attend to keys j <= i only (Keras
// subtracts 1e9 from the other scores). dropout drops attention weights while training (seeded).
//   auto context = Attention()({query, value});                    // in a functional model
//   Tensor y = AdditiveAttention()({q, v}, /*training=*/false);     // eagerly
#pragma once
#include <optional>

#include "kiln/layers/merging.hpp"

namespace kiln::layers {

struct DenseAttentionOptions {
  bool use_scale = false;
  std::string score_mode = "dot";  // or "concat"
  double dropout = 0.0;
  std::optional<std::uint64_t> seed;
  bool use_causal_mask = false;  // a call argument in Keras; a layer option here (one call signature)
  std::string name;
};

class Attention : public MergeLayer {
 public:
  explicit Attention(DenseAttentionOptions options = {});
  const DenseAttentionOptions& options() const { return options_; }
  // Output and the attention weights [batch, Tq, Tv] (Keras's return_attention_scores).
  std::pair<Tensor, Tensor> call(const std::vector<Tensor>& inputs, bool training = false);
  using MergeLayer::compute_output_shape;
  Shape compute_output_shape(const std::vector<Shape>& input_shapes) const override;
  nlohmann::json get_config() const override;
  std::vector<Generator*> generators() override { return {&generator_}; }

 protected:
  Attention(DenseAttentionOptions options, const char* base_name, const char* type);
  Tensor merge(const std::vector<Tensor>& inputs) override { return merge_training(inputs, false); }
  Tensor merge_training(const std::vector<Tensor>& inputs, bool training) override;
  void build_merge_weights(const std::vector<Shape>& input_shapes, Generator& generator) override;
  // Scores [batch, Tq, Tv] from query [batch, Tq, dim] and key [batch, Tv, dim].
  virtual Tensor scores(const Tensor& query, const Tensor& key) const;
  void seed_dropout(Generator& generator);

  Tensor scale_, concat_score_weight_;

 private:
  std::pair<Tensor, Tensor> attend(const std::vector<Tensor>& inputs, bool training);
  DenseAttentionOptions options_;
  Generator generator_;
};

class AdditiveAttention : public Attention {
 public:
  // Keras's defaults: use_scale true; score_mode does not apply.
  explicit AdditiveAttention(DenseAttentionOptions options = {.use_scale = true});
  nlohmann::json get_config() const override;

 protected:
  void build_merge_weights(const std::vector<Shape>& input_shapes, Generator& generator) override;
  Tensor scores(const Tensor& query, const Tensor& key) const override;
};

}  // namespace kiln::layers
