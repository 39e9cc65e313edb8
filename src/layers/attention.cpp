#include "kiln/layers/attention.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "layers/weight_regularization.hpp"

namespace kiln::layers {
namespace {

// x [B, T, E] projected per head: x W + b, W [E, heads, width] -> [B, T, heads, width].
Tensor project(const Tensor& x, const Tensor& kernel, const Tensor& bias, ComputeType compute) {
  const std::int64_t heads = kernel.size(1), width = kernel.size(2);
  Tensor y = linear(x, reshape(kernel, {kernel.size(0), heads * width}),
                    bias.defined() ? reshape(bias, {heads * width}) : Tensor(), compute);
  return reshape(y, {x.size(0), x.size(1), heads, width});
}

// attention_mask [B, Tq, Tk] and padding_mask [B, Tk] combined into one byte mask [B, Tq, Tk].
Tensor combine_masks(const Tensor& attention, const Tensor& padding) {
  const auto a = attention.to_vector<double>(), p = padding.to_vector<double>();
  const std::int64_t B = attention.size(0), Tq = attention.size(1), Tk = attention.size(2);
  Tensor out = Tensor::empty({B, Tq, Tk}, DType::UInt8);
  std::uint8_t* m = out.data<std::uint8_t>();
  for (std::int64_t b = 0; b < B; ++b) {
    for (std::int64_t i = 0; i < Tq; ++i) {
      for (std::int64_t j = 0; j < Tk; ++j) {
        const std::int64_t k = (b * Tq + i) * Tk + j;
        m[k] = a[k] != 0.0 && p[b * Tk + j] != 0.0;
      }
    }
  }
  return out;
}

// Keras gives each of the four projections the layer's kernel_ and bias_ regularizers and constraints.
std::vector<layers_detail::RuledWeight> mha_projection_rules(const MultiHeadAttentionOptions& o,
                                                             const std::vector<Tensor>& kernels,
                                                             const std::vector<Tensor>& biases) {
  std::vector<layers_detail::RuledWeight> rules;
  for (const Tensor& kernel : kernels) rules.push_back({o.kernel_regularizer, o.kernel_constraint, kernel});
  for (const Tensor& bias : biases) rules.push_back({o.bias_regularizer, o.bias_constraint, bias});
  return rules;
}

}  // namespace

MultiHeadAttention::MultiHeadAttention(std::int64_t num_heads, std::int64_t key_dim, MultiHeadAttentionOptions options)
    : Layer(options.name.empty() ? unique_name("multi_head_attention") : options.name, "MultiHeadAttention"),
      num_heads_(num_heads),
      key_dim_(key_dim),
      options_(std::move(options)) {
  if (num_heads_ <= 0) throw Error(describe() + ": num_heads must be positive, got " + std::to_string(num_heads_));
  if (key_dim_ <= 0) throw Error(describe() + ": key_dim must be positive, got " + std::to_string(key_dim_));
  if (options_.value_dim < 0 || options_.output_shape < 0) {
    throw Error(describe() + ": value_dim and output_shape must be positive (or 0 for the default)");
  }
  set_declared_input_shape(options_.input_shape);
}

Shape MultiHeadAttention::compute_output_shape(const Shape& in) const {
  if (in.size() != 2) {
    throw Error(describe() + ": expected a query of shape [batch, time, features], got [batch" +
                (in.empty() ? std::string("]") : ", " + shape_str(in).substr(1)));
  }
  return {in[0], options_.output_shape ? options_.output_shape : in[1]};
}

bool MultiHeadAttention::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == 2 && actual[1] == built[1] && actual[0] > 0;
}

void MultiHeadAttention::build_weights(const Shape& in, Generator& gen) {
  const std::int64_t E = in[1], Dv = value_dim();
  if (!value_features_) value_features_ = E;
  if (!key_features_) key_features_ = value_features_;
  const std::int64_t out = options_.output_shape ? options_.output_shape : E;
  const auto& ki = options_.kernel_initializer;
  const auto& bi = options_.bias_initializer;
  const bool bias = options_.use_bias;
  query_kernel_ = add_weight("query/kernel", {E, num_heads_, key_dim_}, ki, gen);
  if (bias) query_bias_ = add_weight("query/bias", {num_heads_, key_dim_}, bi, gen);
  key_kernel_ = add_weight("key/kernel", {key_features_, num_heads_, key_dim_}, ki, gen);
  if (bias) key_bias_ = add_weight("key/bias", {num_heads_, key_dim_}, bi, gen);
  value_kernel_ = add_weight("value/kernel", {value_features_, num_heads_, Dv}, ki, gen);
  if (bias) value_bias_ = add_weight("value/bias", {num_heads_, Dv}, bi, gen);
  output_kernel_ = add_weight("attention_output/kernel", {num_heads_, Dv, out}, ki, gen);
  if (bias) output_bias_ = add_weight("attention_output/bias", {out}, bi, gen);
}

AttentionResult MultiHeadAttention::call(const Tensor& query, const Tensor& value_in, const Tensor& key_in,
                                         const AttentionCallArgs& args) {
  if (!query.defined() || query.ndim() != 3) {
    throw Error(describe() + ": expected a query of shape [batch, time, features], got " +
                (query.defined() ? shape_str(query.shape()) : std::string("an undefined tensor")));
  }
  const Tensor value = value_in.defined() ? value_in : query;
  const Tensor key = key_in.defined() ? key_in : value;
  for (const auto& [t, what] : {std::pair{&value, "value"}, std::pair{&key, "key"}}) {
    if (t->ndim() != 3 || t->size(0) != query.size(0)) {
      throw Error(describe() + ": expected the " + what + " as [batch, time, features] with the query's batch of " +
                  std::to_string(query.size(0)) + ", got " + shape_str(t->shape()));
    }
  }
  if (key.size(1) != value.size(1)) {
    throw Error(describe() + ": key and value must have the same length, got key " + shape_str(key.shape()) +
                " and value " + shape_str(value.shape()));
  }
  if (!built()) {
    value_features_ = value.size(2);
    key_features_ = key.size(2);
  }
  const Tensor query_input = prepare(query);  // builds on first use; checks the query's features and dtype
  for (const auto& [t, what, width] :
       {std::tuple{&value, "value", value_features_}, std::tuple{&key, "key", key_features_}}) {
    if (t->size(2) != width) {
      throw Error(describe() + ": expected the " + what + " to have " + std::to_string(width) +
                  " features (as when the layer was built), got shape " + shape_str(t->shape()));
    }
    if (t->dtype() != dtype()) {
      throw Error(describe() + ": expected a " + dtype_name(dtype()) + " " + what + ", got " + dtype_name(t->dtype()));
    }
  }
  const std::int64_t B = query.size(0), Tq = query.size(1), Tk = key.size(1);
  if (args.attention_mask.defined() && args.attention_mask.shape() != Shape{B, Tq, Tk}) {
    throw Error(describe() + ": attention_mask must have shape [" + std::to_string(B) + ", " + std::to_string(Tq) +
                ", " + std::to_string(Tk) + "] (batch, query length, key length), got " +
                shape_str(args.attention_mask.shape()));
  }
  if (args.padding_mask.defined() && args.padding_mask.shape() != Shape{B, Tk}) {
    throw Error(describe() + ": padding_mask must have shape [" + std::to_string(B) + ", " + std::to_string(Tk) +
                "] (batch, key length), got " + shape_str(args.padding_mask.shape()));
  }
  AttentionOptions attention{.causal = args.use_causal_mask};
  if (args.attention_mask.defined() && args.padding_mask.defined()) {
    attention.mask = combine_masks(args.attention_mask, args.padding_mask);
  } else if (args.attention_mask.defined()) {
    attention.mask = args.attention_mask;
  } else if (args.padding_mask.defined()) {
    attention.mask = args.padding_mask.reshape({B, 1, Tk});
  }
  attention.compute = compute_type();
  const Tensor q = project(query_input, query_kernel_, query_bias_, attention.compute);
  const Tensor k = project(key, key_kernel_, key_bias_, attention.compute);
  const Tensor v = project(value, value_kernel_, value_bias_, attention.compute);
  AttentionResult r = scaled_dot_product_attention(q, k, v, attention);
  const std::int64_t Dv = value_dim(), out = output_kernel_.size(2);
  r.output = linear(reshape(r.output, {B, Tq, num_heads_ * Dv}), reshape(output_kernel_, {num_heads_ * Dv, out}),
                    output_bias_, attention.compute);
  if (options_.activity_regularizer) activity_ = {q, k, v, r.output};
  return r;
}

std::vector<Tensor> MultiHeadAttention::regularization_losses() const {
  return layers_detail::penalties(
      mha_projection_rules(options_, {query_kernel_, key_kernel_, value_kernel_, output_kernel_},
                           {query_bias_, key_bias_, value_bias_, output_bias_}),
      options_.activity_regularizer, activity_);
}

void MultiHeadAttention::apply_constraints() {
  layers_detail::constrain(mha_projection_rules(options_, {query_kernel_, key_kernel_, value_kernel_, output_kernel_},
                                                {query_bias_, key_bias_, value_bias_, output_bias_}));
}

Tensor MultiHeadAttention::forward(const Tensor& x, bool training) {
  return call(x, x, x, {.training = training}).output;
}

nlohmann::json MultiHeadAttention::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["num_heads"] = num_heads_;
  c["key_dim"] = key_dim_;
  c["value_dim"] = options_.value_dim;
  c["use_bias"] = options_.use_bias;
  c["output_shape"] = options_.output_shape;
  c["kernel_initializer"] = to_json(options_.kernel_initializer);
  c["bias_initializer"] = to_json(options_.bias_initializer);
  layers_detail::put_regularization_config(c, options_);
  return c;
}

}  // namespace kiln::layers
