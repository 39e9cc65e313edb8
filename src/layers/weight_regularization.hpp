// Regularizers and constraints of layers, under Keras's option and config names: a weight Keras
// calls W (kernel, depthwise, pointwise, recurrent, embeddings, alpha, beta, gamma, bias) has the
// options W_regularizer and W_constraint, and a layer with an output penalty has
// activity_regularizer. The config functions find those fields by name, so every layer's options
// struct is read and written by the same code; a layer lists which tensor each pair applies to.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kiln/constraints.hpp"
#include "kiln/error.hpp"
#include "kiln/regularizers.hpp"
#include "kiln/tensor.hpp"

namespace kiln::layers_detail {

// Calls f(weight, regularizer, constraint) for each weight that `Options` regularizes.
template <typename Options, typename F>
void for_each_weight_rule(Options& o, F&& f) {
  if constexpr (requires { o.kernel_regularizer; }) f("kernel", o.kernel_regularizer, o.kernel_constraint);
  if constexpr (requires { o.depthwise_regularizer; }) {
    f("depthwise", o.depthwise_regularizer, o.depthwise_constraint);
  }
  if constexpr (requires { o.pointwise_regularizer; }) {
    f("pointwise", o.pointwise_regularizer, o.pointwise_constraint);
  }
  if constexpr (requires { o.recurrent_regularizer; }) {
    f("recurrent", o.recurrent_regularizer, o.recurrent_constraint);
  }
  if constexpr (requires { o.embeddings_regularizer; }) {
    f("embeddings", o.embeddings_regularizer, o.embeddings_constraint);
  }
  if constexpr (requires { o.alpha_regularizer; }) f("alpha", o.alpha_regularizer, o.alpha_constraint);
  if constexpr (requires { o.beta_regularizer; }) f("beta", o.beta_regularizer, o.beta_constraint);
  if constexpr (requires { o.gamma_regularizer; }) f("gamma", o.gamma_regularizer, o.gamma_constraint);
  if constexpr (requires { o.bias_regularizer; }) f("bias", o.bias_regularizer, o.bias_constraint);
}

// Keras's config keys, null when unset.
template <typename Options>
void put_regularization_config(nlohmann::json& c, const Options& o) {
  for_each_weight_rule(o, [&](const std::string& weight, const auto& regularizer, const auto& constraint) {
    c[weight + "_regularizer"] = regularizers::to_json(regularizer);
    c[weight + "_constraint"] = constraints::to_json(constraint);
  });
  if constexpr (requires { o.activity_regularizer; }) {
    c["activity_regularizer"] = regularizers::to_json(o.activity_regularizer);
  }
}

// One key of a layer config read with `from_json`; an error names the layer and the key.
template <typename FromJson>
auto read_rule(const nlohmann::json& c, const std::string& key, FromJson from_json) {
  const nlohmann::json value = c.contains(key) ? c.at(key) : nlohmann::json(nullptr);
  try {
    return from_json(value);
  } catch (const Error& e) {
    const std::string layer = c.contains("name") && c.at("name").is_string() ? c.at("name").get<std::string>() : "";
    throw Error("layer '" + layer + "': " + key + " " + value.dump() + ": " + e.what());
  }
}

// The same keys read back; a missing key or null is "none", as Keras writes it.
template <typename Options>
void read_regularization_config(const nlohmann::json& c, Options& o) {
  const auto regularizer_at = [&](const std::string& key) { return read_rule(c, key, regularizers::from_json); };
  for_each_weight_rule(o, [&](const std::string& weight, auto& regularizer, auto& constraint) {
    regularizer = regularizer_at(weight + "_regularizer");
    constraint = read_rule(c, weight + "_constraint", constraints::from_json);
  });
  if constexpr (requires { o.activity_regularizer; }) o.activity_regularizer = regularizer_at("activity_regularizer");
}

// `o` with the regularizers and constraints `c` sets, for layer factories that build options inline.
template <typename Options>
Options with_regularization_config(const nlohmann::json& c, Options o) {
  read_regularization_config(c, o);
  return o;
}

// A weight with the regularizer and constraint its layer's options give it; `weight` is undefined
// when the layer has none (use_bias off, not built yet).
struct RuledWeight {
  const regularizers::RegularizerArgument& regularizer;
  const constraints::ConstraintArgument& constraint;
  Tensor weight;
};

// Keras's activity penalty on one output: the regularizer's value over the batch size (the first
// axis), so that its strength does not grow with the batch (Keras's documented rule).
Tensor activity_penalty(const regularizers::RegularizerArgument& regularizer, const Tensor& output);

// Keras's layer.losses: each weight's penalty, then the activity penalty of each output of the last
// call (`outputs`, empty before a call or without an activity_regularizer).
std::vector<Tensor> penalties(const std::vector<RuledWeight>& weights,
                              const regularizers::RegularizerArgument& activity = {},
                              const std::vector<Tensor>& outputs = {});
// Overwrites each weight with its constrained value.
void constrain(const std::vector<RuledWeight>& weights);

// A layer with a kernel and a bias (Dense, Conv1D, Conv2D, Conv2DTranspose).
template <typename Options>
std::vector<Tensor> regularization_penalties(const Options& o, const Tensor& kernel, const Tensor& bias,
                                             const std::vector<Tensor>& outputs) {
  return penalties({{o.kernel_regularizer, o.kernel_constraint, kernel}, {o.bias_regularizer, o.bias_constraint, bias}},
                   o.activity_regularizer, outputs);
}

template <typename Options>
void apply_weight_constraints(const Options& o, const Tensor& kernel, const Tensor& bias) {
  constrain({{o.kernel_regularizer, o.kernel_constraint, kernel}, {o.bias_regularizer, o.bias_constraint, bias}});
}

// A normalization layer's gamma (scale) and beta (offset).
template <typename Options>
std::vector<Tensor> scale_offset_penalties(const Options& o, const Tensor& gamma, const Tensor& beta) {
  return penalties({{o.gamma_regularizer, o.gamma_constraint, gamma}, {o.beta_regularizer, o.beta_constraint, beta}});
}

template <typename Options>
void constrain_scale_offset(const Options& o, const Tensor& gamma, const Tensor& beta) {
  constrain({{o.gamma_regularizer, o.gamma_constraint, gamma}, {o.beta_regularizer, o.beta_constraint, beta}});
}

}  // namespace kiln::layers_detail
