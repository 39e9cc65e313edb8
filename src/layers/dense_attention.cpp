#include "kiln/layers/dense_attention.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

Attention::Attention(DenseAttentionOptions options) : Attention(std::move(options), "attention", "Attention") {}

Attention::Attention(DenseAttentionOptions options, const char* base_name, const char* type)
    : MergeLayer(options.name.empty() ? unique_name(base_name) : options.name, type), options_(std::move(options)) {
  if (options_.score_mode != "dot" && options_.score_mode != "concat") {
    throw Error(describe() + ": score_mode must be \"dot\" or \"concat\", got \"" + options_.score_mode + "\"");
  }
  if (!(options_.dropout >= 0.0 && options_.dropout < 1.0)) {
    throw Error(describe() + ": dropout must be in [0, 1), got " + std::to_string(options_.dropout));
  }
}

Shape Attention::compute_output_shape(const std::vector<Shape>& in) const {
  if (in.size() != 2 && in.size() != 3) {
    throw Error(describe() + ": expected [query, value] or [query, value, key], got " + std::to_string(in.size()) +
                " inputs");
  }
  for (const Shape& s : in) {
    if (s.size() != 2) {
      throw Error(describe() + ": inputs must be [batch, time, features], got [batch, " +
                  (s.empty() ? std::string("]") : shape_str(s).substr(1)));
    }
  }
  const Shape &query = in[0], &value = in[1], &key = in.size() == 3 ? in[2] : in[1];
  if (key[0] != value[0]) {
    throw Error(describe() + ": key and value must have the same steps, got " + shape_str(key) + " and " +
                shape_str(value));
  }
  if (key[1] != query[1]) {
    throw Error(describe() + ": query and key must have the same features, got " + shape_str(query) + " and " +
                shape_str(key));
  }
  return {query[0], value[1]};
}

void Attention::build_merge_weights(const std::vector<Shape>&, Generator& generator) {
  if (options_.use_scale) scale_ = add_weight("scale", {}, "ones", generator);
  if (options_.score_mode == "concat") concat_score_weight_ = add_weight("concat_score_weight", {}, "ones", generator);
  seed_dropout(generator);
}

void Attention::seed_dropout(Generator& generator) {
  generator_.seed_with(options_.seed ? *options_.seed : generator.next_u64());
}

Tensor Attention::scores(const Tensor& query, const Tensor& key) const {
  if (options_.score_mode == "dot") {
    const Tensor s = batched_matmul(query, key, false, /*transpose_b=*/true);
    return scale_.defined() ? s * scale_ : s;
  }
  // [B, Tq, 1, D] + [B, 1, Tv, D] -> [B, Tq, Tv, D], summed over D.
  const Tensor q = reshape(query, {query.size(0), query.size(1), 1, query.size(2)});
  const Tensor k = reshape(key, {key.size(0), 1, key.size(1), key.size(2)});
  const Tensor sum_qk = q + k;
  return concat_score_weight_ * sum(tanh(scale_.defined() ? sum_qk * scale_ : sum_qk), {-1});
}

std::pair<Tensor, Tensor> Attention::attend(const std::vector<Tensor>& inputs, bool training) {
  const Tensor& query = inputs[0];
  const Tensor& value = inputs[1];
  const Tensor& key = inputs.size() == 3 ? inputs[2] : inputs[1];
  Tensor s = scores(query, key);
  if (options_.use_causal_mask) {
    // Keras subtracts 1e9 from the scores of the keys after each query.
    const std::int64_t tq = s.size(1), tv = s.size(2);
    Tensor mask = Tensor::zeros({1, tq, tv}, DType::Float64);
    for (std::int64_t i = 0; i < tq; ++i) {
      for (std::int64_t j = i + 1; j < tv; ++j) mask.data<double>()[i * tv + j] = 1e9;
    }
    s = s - mask.to(s.dtype());
  }
  Tensor weights = softmax(s, -1);
  const Tensor attended =
      training && options_.dropout > 0.0 ? dropout(weights, options_.dropout, true, generator_) : weights;
  return {batched_matmul(attended, value), weights};
}

std::pair<Tensor, Tensor> Attention::call(const std::vector<Tensor>& inputs, bool training) {
  std::vector<Shape> samples;
  for (const Tensor& x : inputs) {
    if (!x.defined() || x.ndim() < 1) throw Error(describe() + ": inputs must be defined tensors with a batch axis");
    samples.emplace_back(x.shape().begin() + 1, x.shape().end());
  }
  compute_output_shape(samples);
  build_inputs(samples);
  return attend(inputs, training);
}

Tensor Attention::merge_training(const std::vector<Tensor>& inputs, bool training) {
  return attend(inputs, training).first;
}

nlohmann::json Attention::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["use_scale"] = options_.use_scale;
  c["score_mode"] = options_.score_mode;
  c["dropout"] = options_.dropout;
  c["seed"] = options_.seed ? nlohmann::json(*options_.seed) : nlohmann::json(nullptr);
  c["use_causal_mask"] = options_.use_causal_mask;
  return c;
}

AdditiveAttention::AdditiveAttention(DenseAttentionOptions options)
    : Attention(std::move(options), "additive_attention", "AdditiveAttention") {}

void AdditiveAttention::build_merge_weights(const std::vector<Shape>& in, Generator& generator) {
  if (options().use_scale) scale_ = add_weight("scale", {in[0].back()}, "glorot_uniform", generator);
  seed_dropout(generator);
}

Tensor AdditiveAttention::scores(const Tensor& query, const Tensor& key) const {
  const Tensor q = reshape(query, {query.size(0), query.size(1), 1, query.size(2)});
  const Tensor k = reshape(key, {key.size(0), 1, key.size(1), key.size(2)});
  const Tensor t = tanh(q + k);
  return sum(scale_.defined() ? t * scale_ : t, {-1});
}

nlohmann::json AdditiveAttention::get_config() const {
  nlohmann::json c = Attention::get_config();
  c.erase("score_mode");
  return c;
}

}  // namespace kiln::layers
