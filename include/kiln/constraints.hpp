// Weight constraints (keras.constraints), applied to a weight after each optimizer step
// in fit(), as Keras's optimizers do:
//
//   Dense(64, {.kernel_constraint = kiln::constraints::MaxNorm(3.0)})
//
// `axis` is the axes a norm is taken over: for a Dense kernel [in, units], axis 0 gives
// each unit's incoming weight vector; for a Conv2D kernel [kh, kw, in, filters], {0, 1, 2}
// gives each filter's.
#pragma once
#include <concepts>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kiln/tensor.hpp"

namespace kiln::constraints {

class Constraint {
 public:
  virtual ~Constraint() = default;
  virtual std::string name() const = 0;  // Keras's class name: "MaxNorm"
  // The constrained value of w (a new tensor, no gradient history).
  virtual Tensor operator()(const Tensor& w) const = 0;
  virtual nlohmann::json get_config() const = 0;
};

// w * clip(norm, 0, max_value) / (1e-7 + norm).
class MaxNorm : public Constraint {
 public:
  explicit MaxNorm(double max_value = 2.0, std::vector<int> axis = {0});
  std::string name() const override { return "MaxNorm"; }
  Tensor operator()(const Tensor& w) const override;
  nlohmann::json get_config() const override;

 private:
  double max_value_;
  std::vector<int> axis_;
};

// w * (rate * clip(norm, min_value, max_value) + (1 - rate) * norm) / (1e-7 + norm).
class MinMaxNorm : public Constraint {
 public:
  explicit MinMaxNorm(double min_value = 0.0, double max_value = 1.0, double rate = 1.0, std::vector<int> axis = {0});
  std::string name() const override { return "MinMaxNorm"; }
  Tensor operator()(const Tensor& w) const override;
  nlohmann::json get_config() const override;

 private:
  double min_value_, max_value_, rate_;
  std::vector<int> axis_;
};

// w where w >= 0, else 0.
class NonNeg : public Constraint {
 public:
  std::string name() const override { return "NonNeg"; }
  Tensor operator()(const Tensor& w) const override;
  nlohmann::json get_config() const override;
};

// w / (1e-7 + norm).
class UnitNorm : public Constraint {
 public:
  explicit UnitNorm(std::vector<int> axis = {0});
  std::string name() const override { return "UnitNorm"; }
  Tensor operator()(const Tensor& w) const override;
  nlohmann::json get_config() const override;

 private:
  std::vector<int> axis_;
};

// A constraint held by a layer option: empty, or one of the above.
class ConstraintArgument {
 public:
  ConstraintArgument() = default;
  template <typename C>  // NOLINT: kiln::constraints::MaxNorm(3.0)
  requires std::derived_from<std::remove_cvref_t<C>, Constraint> ConstraintArgument(C&& c)
      : constraint_(std::make_shared<std::remove_cvref_t<C>>(std::forward<C>(c))) {}
  ConstraintArgument(std::shared_ptr<const Constraint> c) : constraint_(std::move(c)) {}  // NOLINT
  ConstraintArgument(const char* name);                                                   // NOLINT: "non_neg"
  explicit operator bool() const { return constraint_ != nullptr; }
  const Constraint& operator*() const { return *constraint_; }
  // Overwrites w (in place, outside autograd) with its constrained value.
  void apply(Tensor& w) const;

 private:
  std::shared_ptr<const Constraint> constraint_;
};

// "max_norm", "min_max_norm", "non_neg", "unit_norm" (Keras's defaults), or the class names.
std::shared_ptr<const Constraint> get(const std::string& name);
// Keras's serialised form, {"class_name": "MaxNorm", "config": {"max_value": 2, "axis": 0}}, or null.
nlohmann::json to_json(const ConstraintArgument& c);
ConstraintArgument from_json(const nlohmann::json& j);

}  // namespace kiln::constraints
