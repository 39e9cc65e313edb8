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
#include <memory>
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
  template <typename T>  // NOLINT: std::make_shared<Adam>(...)
    requires std::derived_from<T, Base>
  CompileArgument(std::shared_ptr<T> object) : object_(std::move(object)) {}
  template <typename T>  // NOLINT: kiln::optim::Adam(1e-3)
    requires std::derived_from<std::remove_cvref_t<T>, Base>
  CompileArgument(T&& object) : object_(std::make_shared<std::remove_cvref_t<T>>(std::forward<T>(object))) {}

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

}  // namespace kiln
