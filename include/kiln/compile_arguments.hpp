// What Model::compile accepts, as Keras's compile does: each of optimizer, loss and
// metrics given by name ("adam"), as an object (kiln::optim::Adam(1e-3)) or as a
// std::shared_ptr to one, in any mix:
//
//   model.compile(kiln::optim::Adam(1e-3), "sparse_categorical_crossentropy", {"accuracy"});
//   model.compile("sgd", kiln::losses::MeanSquaredError(), {kiln::metrics::MeanError(kind, "mae")});
//
// An object given by value is copied into the model; give a shared_ptr to keep a handle on it.
#pragma once
#include <concepts>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kiln/losses.hpp"
#include "kiln/metrics.hpp"
#include "kiln/optimizers.hpp"

namespace kiln {

// One of optimizer, loss or metric: a name to resolve, or the object itself.
template <typename Base>
class CompileArgument {
 public:
  CompileArgument(const char* name) : name_(name), named_(true) {}             // NOLINT: "adam"
  CompileArgument(std::string name) : name_(std::move(name)), named_(true) {}  // NOLINT
  template <typename T>                                                        // NOLINT: std::make_shared<Adam>(...)
  requires std::derived_from<T, Base> CompileArgument(std::shared_ptr<T> object) : object_(std::move(object)) {}
  template <typename T>  // NOLINT: kiln::optim::Adam(1e-3)
  requires std::derived_from<std::remove_cvref_t<T>, Base> CompileArgument(T&& object)
      : object_(std::make_shared<std::remove_cvref_t<T>>(std::forward<T>(object))) {}

  bool is_name() const { return named_; }
  const std::string& name() const { return name_; }
  const std::shared_ptr<Base>& object() const { return object_; }

 private:
  std::string name_;
  std::shared_ptr<Base> object_;
  bool named_ = false;
};

using OptimizerArgument = CompileArgument<optim::Optimizer>;
using LossArgument = CompileArgument<losses::Loss>;
using MetricArgument = CompileArgument<metrics::Metric>;

// compile()'s metrics: {"accuracy", kiln::metrics::TopKAccuracy(...), ...}, or a vector of names.
class MetricArguments {
 public:
  MetricArguments() = default;
  MetricArguments(std::initializer_list<MetricArgument> metrics) : metrics_(metrics) {}             // NOLINT
  MetricArguments(const std::vector<std::string>& names) : metrics_(names.begin(), names.end()) {}  // NOLINT
  MetricArguments(std::vector<MetricArgument> metrics) : metrics_(std::move(metrics)) {}            // NOLINT
  const std::vector<MetricArgument>& items() const { return metrics_; }

 private:
  std::vector<MetricArgument> metrics_;
};

// One value per output of a model with several: a list in output order ({"mse", "mae"}), or a
// map by output name ({{"digit", "sparse_categorical_crossentropy"}, {"size", "mse"}}).
template <typename T>
class PerOutput {
 public:
  PerOutput() = default;
  // In output order. Not offered for metrics, where {{"a", {"accuracy"}}} would be ambiguous:
  // give a std::vector<MetricArguments> instead.
  PerOutput(std::initializer_list<T> in_order)  // NOLINT
      requires(!std::same_as<T, MetricArguments>)
      : in_order_(in_order) {}
  PerOutput(std::vector<T> in_order) : in_order_(std::move(in_order)) {}     // NOLINT
  PerOutput(std::initializer_list<std::pair<const std::string, T>> by_name)  // NOLINT
      : by_name_(by_name.begin(), by_name.end()), named_(true) {}
  PerOutput(std::map<std::string, T> by_name) : by_name_(std::move(by_name)), named_(true) {}  // NOLINT

  bool empty() const { return in_order_.empty() && by_name_.empty(); }
  bool named() const { return named_; }
  const std::vector<T>& in_order() const { return in_order_; }
  const std::map<std::string, T>& by_name() const { return by_name_; }

 private:
  std::vector<T> in_order_;
  std::map<std::string, T> by_name_;
  bool named_ = false;
};

// compile() for a model of several outputs, as Keras's compile(loss={...}, loss_weights={...},
// metrics={...}): a loss per output (by name: every output; in order: one each), the weights of
// their sum (default 1 each), and metrics per output (optional for each).
struct CompileOutputs {
  PerOutput<LossArgument> loss;
  PerOutput<double> loss_weights;
  PerOutput<MetricArguments> metrics;
  PerOutput<MetricArguments> weighted_metrics;
};

}  // namespace kiln
