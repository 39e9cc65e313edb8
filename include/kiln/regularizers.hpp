// Weight and activity penalties (keras.regularizers), added to the loss that fit() minimises
// and reports, as Keras does:
//
//   Dense(64, {.activation = "relu", .kernel_regularizer = kiln::regularizers::L2(1e-4)})
#pragma once
#include <concepts>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <type_traits>
#include <utility>

#include "kiln/tensor.hpp"

namespace kiln::regularizers {

class Regularizer {
 public:
  virtual ~Regularizer() = default;
  virtual std::string name() const = 0;  // Keras's class name: "L2"
  // The penalty for x, a scalar tensor differentiable in x.
  virtual Tensor operator()(const Tensor& x) const = 0;
  virtual nlohmann::json get_config() const = 0;
};

// l1 * sum(|x|).
class L1 : public Regularizer {
 public:
  explicit L1(double l1 = 0.01);
  std::string name() const override { return "L1"; }
  Tensor operator()(const Tensor& x) const override;
  nlohmann::json get_config() const override;

 private:
  double l1_;
};

// l2 * sum(x^2).
class L2 : public Regularizer {
 public:
  explicit L2(double l2 = 0.01);
  std::string name() const override { return "L2"; }
  Tensor operator()(const Tensor& x) const override;
  nlohmann::json get_config() const override;

 private:
  double l2_;
};

// l1 * sum(|x|) + l2 * sum(x^2).
class L1L2 : public Regularizer {
 public:
  explicit L1L2(double l1 = 0.0, double l2 = 0.0);
  std::string name() const override { return "L1L2"; }
  Tensor operator()(const Tensor& x) const override;
  nlohmann::json get_config() const override;

 private:
  double l1_, l2_;
};

// A regularizer held by a layer option: empty, or one of the above (converting from any of them).
class RegularizerArgument {
 public:
  RegularizerArgument() = default;
  template <typename R>  // NOLINT: kiln::regularizers::L2(1e-4)
  requires std::derived_from<std::remove_cvref_t<R>, Regularizer> RegularizerArgument(R&& r)
      : regularizer_(std::make_shared<std::remove_cvref_t<R>>(std::forward<R>(r))) {}
  RegularizerArgument(std::shared_ptr<const Regularizer> r) : regularizer_(std::move(r)) {}  // NOLINT
  RegularizerArgument(const char* name);                                                     // NOLINT: "l2"
  explicit operator bool() const { return regularizer_ != nullptr; }
  const Regularizer& operator*() const { return *regularizer_; }
  Tensor operator()(const Tensor& x) const { return (*regularizer_)(x); }

 private:
  std::shared_ptr<const Regularizer> regularizer_;
};

// "l1", "l2", "l1l2" (Keras's defaults), or the class names.
std::shared_ptr<const Regularizer> get(const std::string& name);
// Keras's serialised form, {"class_name": "L2", "config": {"l2": 0.01}}, or null when empty.
nlohmann::json to_json(const RegularizerArgument& r);
RegularizerArgument from_json(const nlohmann::json& j);

}  // namespace kiln::regularizers
