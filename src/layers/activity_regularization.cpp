#include "kiln/layers/activity_regularization.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/regularizers.hpp"
#include "layers/weight_regularization.hpp"
#include "util/number_text.hpp"

namespace kiln::layers {

ActivityRegularization::ActivityRegularization(double l1, double l2, std::string name)
    : Layer(name.empty() ? unique_name("activity_regularization") : std::move(name), "ActivityRegularization"),
      l1_(l1),
      l2_(l2) {
  for (const auto& [value, argument] : {std::pair{l1, "l1"}, std::pair{l2, "l2"}}) {
    if (!(value >= 0) || !std::isfinite(value)) {
      throw Error(describe() + ": " + argument + " must be a finite non-negative number, got " +
                  detail::number_text(value));
    }
  }
}

Tensor ActivityRegularization::forward(const Tensor& x, bool) {
  activity_ = x;
  return x;
}

std::vector<Tensor> ActivityRegularization::regularization_losses() const {
  if (!activity_.defined()) return {};
  return {layers_detail::activity_penalty(regularizers::L1L2(l1_, l2_), activity_)};
}

// Keras writes l1 and l2, not the activity_regularizer they make.
nlohmann::json ActivityRegularization::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["l1"] = l1_;
  c["l2"] = l2_;
  return c;
}

}  // namespace kiln::layers
