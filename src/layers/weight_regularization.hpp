// Regularizers and constraints of a layer with a kernel and a bias (Dense, Conv2D): their
// options share the field names kernel_regularizer, bias_regularizer, activity_regularizer,
// kernel_constraint and bias_constraint (Keras's).
#pragma once
#include <nlohmann/json.hpp>
#include <vector>

#include "kiln/constraints.hpp"
#include "kiln/regularizers.hpp"
#include "kiln/tensor.hpp"

namespace kiln::layers_detail {

// Keras's config keys, null when unset.
template <typename Options>
void put_regularization_config(nlohmann::json& c, const Options& o) {
  c["kernel_regularizer"] = regularizers::to_json(o.kernel_regularizer);
  c["bias_regularizer"] = regularizers::to_json(o.bias_regularizer);
  c["activity_regularizer"] = regularizers::to_json(o.activity_regularizer);
  c["kernel_constraint"] = constraints::to_json(o.kernel_constraint);
  c["bias_constraint"] = constraints::to_json(o.bias_constraint);
}

template <typename Options>
void read_regularization_config(const nlohmann::json& c, Options& o) {
  const auto at = [&](const char* key) { return c.contains(key) ? c.at(key) : nlohmann::json(nullptr); };
  o.kernel_regularizer = regularizers::from_json(at("kernel_regularizer"));
  o.bias_regularizer = regularizers::from_json(at("bias_regularizer"));
  o.activity_regularizer = regularizers::from_json(at("activity_regularizer"));
  o.kernel_constraint = constraints::from_json(at("kernel_constraint"));
  o.bias_constraint = constraints::from_json(at("bias_constraint"));
}

// The penalties: the kernel's, the bias's, and the activity's on `output` (the last call's).
template <typename Options>
std::vector<Tensor> regularization_penalties(const Options& o, const Tensor& kernel, const Tensor& bias,
                                             const Tensor& output) {
  std::vector<Tensor> out;
  if (o.kernel_regularizer && kernel.defined()) out.push_back(o.kernel_regularizer(kernel));
  if (o.bias_regularizer && bias.defined()) out.push_back(o.bias_regularizer(bias));
  if (o.activity_regularizer && output.defined()) out.push_back(o.activity_regularizer(output));
  return out;
}

template <typename Options>
void apply_weight_constraints(const Options& o, Tensor& kernel, Tensor& bias) {
  if (o.kernel_constraint && kernel.defined()) o.kernel_constraint.apply(kernel);
  if (o.bias_constraint && bias.defined()) o.bias_constraint.apply(bias);
}

}  // namespace kiln::layers_detail
