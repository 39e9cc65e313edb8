#include "kiln/layers/transformer.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/layers/activation.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {

TransformerEncoder::TransformerEncoder(std::int64_t intermediate_dim, std::int64_t num_heads,
                                       TransformerEncoderOptions options)
    : Layer(options.name.empty() ? unique_name("transformer_encoder") : options.name, "TransformerEncoder"),
      intermediate_dim_(intermediate_dim),
      num_heads_(num_heads),
      options_(std::move(options)) {
  if (intermediate_dim_ <= 0) {
    throw Error(describe() + ": intermediate_dim must be positive, got " + std::to_string(intermediate_dim_));
  }
  if (num_heads_ <= 0) throw Error(describe() + ": num_heads must be positive, got " + std::to_string(num_heads_));
  if (!(options_.dropout >= 0.0 && options_.dropout < 1.0)) {
    throw Error(describe() + ": dropout must be in [0, 1), got " + std::to_string(options_.dropout));
  }
  check_activation_name(options_.activation, describe());
  set_declared_input_shape(options_.input_shape);
}

Shape TransformerEncoder::compute_output_shape(const Shape& in) const {
  if (in.size() != 2) {
    throw Error(describe() + ": expected inputs of shape [batch, time, features], got [batch" +
                (in.empty() ? std::string("]") : ", " + shape_str(in).substr(1)));
  }
  if (in[1] < num_heads_) {
    throw Error(describe() + ": " + std::to_string(in[1]) + " features cannot be split over " +
                std::to_string(num_heads_) + " heads");
  }
  return in;
}

bool TransformerEncoder::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == 2 && actual[1] == built[1] && actual[0] > 0;
}

void TransformerEncoder::build_weights(const Shape& in, Generator& gen) {
  const std::int64_t hidden = in[1];
  const std::string prefix = name() + "/";
  attention_ = std::make_shared<MultiHeadAttention>(
      num_heads_, hidden / num_heads_,
      MultiHeadAttentionOptions{.kernel_initializer = options_.kernel_initializer,
                                .bias_initializer = options_.bias_initializer,
                                .name = prefix + "self_attention"});
  const LayerNormalizationOptions norm{.epsilon = options_.layer_norm_epsilon};
  attention_norm_ = std::make_shared<LayerNormalization>(norm);
  attention_norm_->set_name(prefix + "self_attention_layer_norm");
  feedforward_norm_ = std::make_shared<LayerNormalization>(norm);
  feedforward_norm_->set_name(prefix + "feedforward_layer_norm");
  intermediate_ = std::make_shared<Dense>(intermediate_dim_,
                                          DenseOptions{.activation = options_.activation,
                                                       .kernel_initializer = options_.kernel_initializer,
                                                       .bias_initializer = options_.bias_initializer,
                                                       .name = prefix + "feedforward_intermediate_dense"});
  output_ = std::make_shared<Dense>(hidden, DenseOptions{.kernel_initializer = options_.kernel_initializer,
                                                         .bias_initializer = options_.bias_initializer,
                                                         .name = prefix + "feedforward_output_dense"});
  attention_dropout_ =
      std::make_shared<Dropout>(options_.dropout, std::nullopt, gen.next_u64(), prefix + "self_attention_dropout");
  feedforward_dropout_ =
      std::make_shared<Dropout>(options_.dropout, std::nullopt, gen.next_u64(), prefix + "feedforward_dropout");
  // Sublayers share this layer's dtype and are built at once, in order, so
  // the generator draws their initial weights deterministically.
  const Shape intermediate_shape{in[0], intermediate_dim_};
  const std::vector<std::pair<Layer*, Shape>> parts = {
      {attention_.get(), in},        {attention_norm_.get(), in}, {intermediate_.get(), in},
      {output_.get(), intermediate_shape}, {feedforward_norm_.get(), in}};
  for (const auto& [layer, shape] : parts) {
    layer->set_dtype(dtype());
    layer->build(shape);
    const std::string sub = layer->name().substr(prefix.size());
    for (const auto& w : layer->weights()) track_weight(sub + "/" + w.name, w.value, w.trainable);
  }
  for (Layer* d : {static_cast<Layer*>(attention_dropout_.get()), static_cast<Layer*>(feedforward_dropout_.get())}) {
    d->set_dtype(dtype());
    d->build(in);
  }
  set_trainable(trainable());  // a layer frozen before it was built freezes the sublayers' weights too
}

Tensor TransformerEncoder::call(const Tensor& input, const TransformerCallArgs& args) {
  const Tensor x = prepare(input);  // builds on first use; names this layer when x's shape or dtype is wrong
  const bool training = args.training;
  const bool pre = options_.normalize_first;
  const bool dropout = options_.dropout > 0 && training;
  Tensor h = pre ? (*attention_norm_)(x, training) : x;
  h = attention_->call(h, h, h,
                       {.attention_mask = args.attention_mask,
                        .padding_mask = args.padding_mask,
                        .use_causal_mask = options_.use_causal_mask,
                        .training = training})
          .output;
  if (dropout) h = (*attention_dropout_)(h, training);
  h = h + x;
  if (!pre) h = (*attention_norm_)(h, training);
  Tensor f = pre ? (*feedforward_norm_)(h, training) : h;
  f = (*output_)((*intermediate_)(f, training), training);
  if (dropout) f = (*feedforward_dropout_)(f, training);
  f = f + h;
  if (!pre) f = (*feedforward_norm_)(f, training);
  return f;
}

Tensor TransformerEncoder::forward(const Tensor& x, bool training) { return call(x, {.training = training}); }

nlohmann::json TransformerEncoder::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["intermediate_dim"] = intermediate_dim_;
  c["num_heads"] = num_heads_;
  c["dropout"] = options_.dropout;
  c["activation"] = options_.activation;
  c["layer_norm_epsilon"] = options_.layer_norm_epsilon;
  c["normalize_first"] = options_.normalize_first;
  c["use_causal_mask"] = options_.use_causal_mask;
  c["kernel_initializer"] = to_json(options_.kernel_initializer);
  c["bias_initializer"] = to_json(options_.bias_initializer);
  return c;
}

}  // namespace kiln::layers
