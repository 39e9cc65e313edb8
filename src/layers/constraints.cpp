// Keras 3's constraints (keras/src/constraints/constraints.py), computed outside autograd.
#include "kiln/constraints.hpp"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "kiln/autograd.hpp"
#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "util/number_text.hpp"

namespace kiln::constraints {
namespace {

using nlohmann::json;

constexpr double kEpsilon = 1e-7;  // Keras's backend epsilon
constexpr double kInfinity = std::numeric_limits<double>::infinity();

Tensor norms(const Tensor& w, const std::vector<int>& axis, const std::string& constraint) {
  for (int a : axis) {
    if (a < -static_cast<int>(w.ndim()) || a >= static_cast<int>(w.ndim())) {
      throw Error(constraint + ": axis " + std::to_string(a) + " is outside a weight of shape " + shape_str(w.shape()));
    }
  }
  return sqrt(sum(square(w), axis, true));
}

// Keras writes axis as an int or a list.
json axis_json(const std::vector<int>& axis) { return axis.size() == 1 ? json(axis[0]) : json(axis); }
std::vector<int> axis_from(const json& c) {
  if (!c.contains("axis")) return {0};
  const json& a = c.at("axis");
  return a.is_array() ? a.get<std::vector<int>>() : std::vector<int>{a.get<int>()};
}

}  // namespace

MaxNorm::MaxNorm(double max_value, std::vector<int> axis) : max_value_(max_value), axis_(std::move(axis)) {
  if (!(max_value >= 0)) throw Error("MaxNorm: max_value must be non-negative, got " + detail::number_text(max_value));
}

Tensor MaxNorm::operator()(const Tensor& w) const {
  NoGradGuard no_grad;
  const Tensor n = norms(w, axis_, name());
  return w * (clip(n, 0.0, max_value_) / (n + kEpsilon));
}

json MaxNorm::get_config() const { return {{"max_value", max_value_}, {"axis", axis_json(axis_)}}; }

MinMaxNorm::MinMaxNorm(double min_value, double max_value, double rate, std::vector<int> axis)
    : min_value_(min_value), max_value_(max_value), rate_(rate), axis_(std::move(axis)) {
  if (!(min_value >= 0 && min_value <= max_value)) {
    throw Error("MinMaxNorm: expected 0 <= min_value <= max_value, got min_value " + detail::number_text(min_value) +
                ", max_value " + detail::number_text(max_value));
  }
  if (!(rate >= 0 && rate <= 1)) throw Error("MinMaxNorm: rate must be in [0, 1], got " + detail::number_text(rate));
}

Tensor MinMaxNorm::operator()(const Tensor& w) const {
  NoGradGuard no_grad;
  const Tensor n = norms(w, axis_, name());
  const Tensor desired = clip(n, min_value_, max_value_) * rate_ + n * (1 - rate_);
  return w * (desired / (n + kEpsilon));
}

json MinMaxNorm::get_config() const {
  return {{"min_value", min_value_}, {"max_value", max_value_}, {"rate", rate_}, {"axis", axis_json(axis_)}};
}

Tensor NonNeg::operator()(const Tensor& w) const {
  NoGradGuard no_grad;
  return clip(w, 0.0, kInfinity);
}

json NonNeg::get_config() const { return json::object(); }

UnitNorm::UnitNorm(std::vector<int> axis) : axis_(std::move(axis)) {}

Tensor UnitNorm::operator()(const Tensor& w) const {
  NoGradGuard no_grad;
  return w / (norms(w, axis_, name()) + kEpsilon);
}

json UnitNorm::get_config() const { return {{"axis", axis_json(axis_)}}; }

ConstraintArgument::ConstraintArgument(const char* name) : constraint_(get(name)) {}

void ConstraintArgument::apply(Tensor& w) const {
  if (!constraint_) return;
  const Tensor constrained = (*constraint_)(w.detach());
  w.copy_(constrained);
}

std::shared_ptr<const Constraint> get(const std::string& name) {
  if (name == "max_norm" || name == "MaxNorm") return std::make_shared<MaxNorm>();
  if (name == "min_max_norm" || name == "MinMaxNorm") return std::make_shared<MinMaxNorm>();
  if (name == "non_neg" || name == "NonNeg") return std::make_shared<NonNeg>();
  if (name == "unit_norm" || name == "UnitNorm") return std::make_shared<UnitNorm>();
  throw Error("unknown constraint \"" + name + "\"; expected max_norm, min_max_norm, non_neg or unit_norm");
}

json to_json(const ConstraintArgument& c) {
  if (!c) return nullptr;
  return {{"class_name", (*c).name()}, {"config", (*c).get_config()}};
}

ConstraintArgument from_json(const json& j) {
  if (j.is_null()) return {};
  if (j.is_string()) return ConstraintArgument(get(j.get<std::string>()));
  try {
    const std::string name = j.at("class_name").get<std::string>();
    const json c = j.value("config", json::object());
    if (name == "MaxNorm") return MaxNorm(c.value("max_value", 2.0), axis_from(c));
    if (name == "MinMaxNorm") {
      return MinMaxNorm(c.value("min_value", 0.0), c.value("max_value", 1.0), c.value("rate", 1.0), axis_from(c));
    }
    if (name == "NonNeg") return NonNeg();
    if (name == "UnitNorm") return UnitNorm(axis_from(c));
    throw Error("unknown constraint \"" + name + "\"; expected MaxNorm, MinMaxNorm, NonNeg or UnitNorm");
  } catch (const json::exception& e) {
    throw Error("constraint config " + j.dump() + " is invalid: " + e.what());
  }
}

}  // namespace kiln::constraints
