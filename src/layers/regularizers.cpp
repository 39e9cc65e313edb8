// Keras 3's regularizers (keras/src/regularizers/regularizers.py).
#include "kiln/regularizers.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::regularizers {
namespace {

using nlohmann::json;

void check_factor(double v, const char* regularizer, const char* argument) {
  if (!(v >= 0) || !std::isfinite(v)) {
    std::ostringstream s;
    s << regularizer << ": " << argument << " must be a finite non-negative number, got " << v;
    throw Error(s.str());
  }
}

}  // namespace

L1::L1(double l1) : l1_(l1) { check_factor(l1, "L1", "l1"); }
Tensor L1::operator()(const Tensor& x) const { return sum(abs(x)) * l1_; }
json L1::get_config() const { return {{"l1", l1_}}; }

L2::L2(double l2) : l2_(l2) { check_factor(l2, "L2", "l2"); }
Tensor L2::operator()(const Tensor& x) const { return sum(square(x)) * l2_; }
json L2::get_config() const { return {{"l2", l2_}}; }

L1L2::L1L2(double l1, double l2) : l1_(l1), l2_(l2) {
  check_factor(l1, "L1L2", "l1");
  check_factor(l2, "L1L2", "l2");
}
Tensor L1L2::operator()(const Tensor& x) const { return sum(abs(x)) * l1_ + sum(square(x)) * l2_; }
json L1L2::get_config() const { return {{"l1", l1_}, {"l2", l2_}}; }

RegularizerArgument::RegularizerArgument(const char* name) : regularizer_(get(name)) {}

std::shared_ptr<const Regularizer> get(const std::string& name) {
  if (name == "l1" || name == "L1") return std::make_shared<L1>();
  if (name == "l2" || name == "L2") return std::make_shared<L2>();
  if (name == "l1l2" || name == "l1_l2" || name == "L1L2") return std::make_shared<L1L2>();
  throw Error("unknown regularizer \"" + name + "\"; expected l1, l2 or l1l2");
}

json to_json(const RegularizerArgument& r) {
  if (!r) return nullptr;
  return {{"class_name", (*r).name()}, {"config", (*r).get_config()}};
}

RegularizerArgument from_json(const json& j) {
  if (j.is_null()) return {};
  if (j.is_string()) return RegularizerArgument(get(j.get<std::string>()));
  try {
    const std::string name = j.at("class_name").get<std::string>();
    const json c = j.value("config", json::object());
    if (name == "L1") return L1(c.value("l1", 0.01));
    if (name == "L2") return L2(c.value("l2", 0.01));
    if (name == "L1L2") return L1L2(c.value("l1", 0.0), c.value("l2", 0.0));
    throw Error("unknown regularizer \"" + name + "\"; expected L1, L2 or L1L2");
  } catch (const json::exception& e) {
    throw Error("regularizer config " + j.dump() + " is invalid: " + e.what());
  }
}

}  // namespace kiln::regularizers
