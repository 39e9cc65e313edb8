// The base Optimizer: one step over all parameters with Keras's common options, in
// Keras 3's order (keras/src/optimizers/base_optimizer.py): clip the gradients,
// decay the weights, update, then the weights' moving average; iterations counts up last.
#include "kernels/cpu/optimizer.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "kiln/autograd.hpp"
#include "kiln/distribution.hpp"
#include "kiln/error.hpp"
#include "kiln/optimizers.hpp"
#include "ops/op_helpers.hpp"
#include "util/number_text.hpp"

namespace kiln::optim {
namespace {

using nlohmann::json;

void check_rate(double lr, const std::string& who) {
  if (!std::isfinite(lr) || lr < 0) {
    throw Error(who + ": learning_rate must be a finite non-negative number, got " + detail::number_text(lr));
  }
}

void check_common(const CommonOptions& c) {
  const auto positive = [](const std::optional<double>& v, const char* argument) {
    if (v && (!(*v > 0) || !std::isfinite(*v))) {
      throw Error(std::string("optimizer: ") + argument + " must be a positive number, got " + detail::number_text(*v));
    }
  };
  positive(c.clipnorm, "clipnorm");
  positive(c.clipvalue, "clipvalue");
  positive(c.global_clipnorm, "global_clipnorm");
  if (c.clipnorm && c.global_clipnorm) {
    throw Error("optimizer: only one of clipnorm and global_clipnorm can be set; got clipnorm=" +
                detail::number_text(*c.clipnorm) + ", global_clipnorm=" + detail::number_text(*c.global_clipnorm));
  }
  if (c.weight_decay && (!(*c.weight_decay >= 0) || !std::isfinite(*c.weight_decay))) {
    throw Error("optimizer: weight_decay must be a finite non-negative number, got " +
                detail::number_text(*c.weight_decay));
  }
  if (c.use_ema) {
    if (!(c.ema_momentum >= 0 && c.ema_momentum <= 1)) {
      throw Error("optimizer: ema_momentum must be in the range [0, 1], got " + detail::number_text(c.ema_momentum));
    }
    if (c.ema_overwrite_frequency && *c.ema_overwrite_frequency < 1) {
      throw Error("optimizer: ema_overwrite_frequency must be an integer >= 1 or unset, got " +
                  std::to_string(*c.ema_overwrite_frequency));
    }
  }
}

json optional_json(const std::optional<double>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

LearningRate::LearningRate(double value) : value_(value) { check_rate(value, "optimizer"); }

void LearningRate::check_schedule() const {
  if (!schedule_) throw Error("optimizer: the learning-rate schedule is null");
}

double LearningRate::at(std::int64_t step) const {
  if (!schedule_) return value_;
  const double lr = (*schedule_)(step);
  if (!std::isfinite(lr) || lr < 0) {
    throw Error(schedule_->name() + " gave the learning rate " + detail::number_text(lr) + " at step " +
                std::to_string(step) + "; rates must be finite and non-negative");
  }
  return lr;
}

double LearningRate::value() const {
  if (schedule_) throw Error("the learning rate is a " + schedule_->name() + " schedule, not a constant");
  return value_;
}

json LearningRate::to_json() const {
  if (!schedule_) return value_;
  return {{"class_name", schedule_->name()}, {"config", schedule_->get_config()}};
}

LearningRate LearningRate::from_json(const json& j) {
  if (j.is_number()) return LearningRate(j.get<double>());
  if (!j.is_object() || !j.contains("class_name")) {
    throw Error("learning_rate must be a number or {\"class_name\": ..., \"config\": ...}, got " + j.dump());
  }
  return LearningRate(schedules::from_config(j.at("class_name").get<std::string>(), j.value("config", json::object())));
}

Optimizer::Optimizer(double learning_rate) : Optimizer(LearningRate(learning_rate), CommonOptions{}) {}

Optimizer::Optimizer(LearningRate learning_rate, CommonOptions common)
    : learning_rate_(std::move(learning_rate)), common_(common) {
  check_common(common_);
}

double Optimizer::learning_rate() const { return learning_rate_.at(iterations_); }

void Optimizer::set_learning_rate(double lr) {
  if (learning_rate_.is_schedule()) {
    throw Error(name() + ": the learning rate is set by a " + learning_rate_.schedule()->name() +
                " schedule and cannot be changed (a callback such as ReduceLROnPlateau needs a constant rate)");
  }
  check_rate(lr, name());
  learning_rate_ = LearningRate(lr);
}

void Optimizer::zero_grad(const std::vector<Tensor>& params) {
  for (Tensor p : params) p.zero_grad();
}

void Optimizer::apply_gradients(const std::vector<Tensor>& params) {
  bool any = false;
  std::vector<Tensor> grads;
  for (const Tensor& p : params) {
    grads.push_back(p.grad());
    any = any || grads.back().defined();
  }
  if (!params.empty() && !any) {
    throw Error(name() + ".apply_gradients: none of the " + std::to_string(params.size()) +
                " parameters has a gradient; call backward() on a loss computed from them first");
  }
  step(grads, params);
  for (Tensor p : params) p.zero_grad();
}

void Optimizer::apply_gradients(const std::vector<Tensor>& grads, const std::vector<Tensor>& params) {
  const std::string where = name() + ".apply_gradients";
  if (grads.size() != params.size()) {
    throw Error(where + ": got " + std::to_string(grads.size()) + " gradients for " + std::to_string(params.size()) +
                " parameters; pass one gradient per parameter, in the same order");
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Tensor& p = params[i];
    const Tensor& g = grads[i];
    if (!p.defined()) throw Error(where + ": parameter " + std::to_string(i) + " is undefined");
    const std::string what = "parameter " + std::to_string(i) + (p.name().empty() ? "" : " '" + p.name() + "'");
    if (!g.defined()) {
      throw Error(where + ": " + what + " (shape " + shape_str(p.shape()) +
                  ") has no gradient: the loss does not depend on it. Leave it out of the parameter list, or check "
                  "that its layer is used in computing the loss (and not only on detached inputs)");
    }
    if (g.shape() != p.shape() || g.dtype() != p.dtype()) {
      throw Error(where + ": the gradient for " + what + " is " + dtype_name(g.dtype()) + " " + shape_str(g.shape()) +
                  ", the parameter is " + dtype_name(p.dtype()) + " " + shape_str(p.shape()));
    }
  }
  step(grads, params);
}

void Optimizer::minimize(const Tensor& loss, const std::vector<Tensor>& params) {
  apply_gradients(gradients(loss, params), params);
}

// Keras's _clip_gradients: clipnorm, else global_clipnorm, else clipvalue. Each
// rescales by clip / max(norm, clip). Copies, so the caller's gradients stay as given.
std::vector<Tensor> Optimizer::clipped(const std::vector<Tensor>& grads) const {
  std::vector<Tensor> out;
  out.reserve(grads.size());
  for (const Tensor& g : grads) out.push_back(g.defined() ? g.contiguous().clone() : g);
  const auto norm_of = [](const Tensor& g) {
    double s = 0;
    ops_detail::dispatch_floating(g.dtype(), "clipnorm",
                                  [&]<typename T>() { s = kernels::cpu::sum_of_squares<T>(g.data<T>(), g.numel()); });
    return s;
  };
  const auto scale = [](Tensor& g, double factor) {
    ops_detail::dispatch_floating(g.dtype(), "clipnorm", [&]<typename T>() {
      kernels::cpu::scale_in_place<T>(g.data<T>(), g.numel(), static_cast<T>(factor));
    });
  };
  if (common_.clipnorm) {
    const double clip = *common_.clipnorm;
    for (Tensor& g : out) {
      if (g.defined()) scale(g, clip / std::max(std::sqrt(norm_of(g)), clip));
    }
  } else if (common_.global_clipnorm) {
    const double clip = *common_.global_clipnorm;
    double total = 0;
    for (const Tensor& g : out) total += g.defined() ? norm_of(g) : 0.0;
    // A non-finite norm makes every gradient NaN, as Keras's clip_by_global_norm does.
    const double factor = std::isfinite(total) ? clip / std::max(std::sqrt(total), clip) : std::nan("");
    for (Tensor& g : out) {
      if (g.defined()) scale(g, factor);
    }
  } else if (common_.clipvalue) {
    for (Tensor& g : out) {
      if (!g.defined()) continue;
      ops_detail::dispatch_floating(g.dtype(), "clipvalue", [&]<typename T>() {
        kernels::cpu::clip_in_place<T>(g.data<T>(), g.numel(), static_cast<T>(*common_.clipvalue));
      });
    }
  }
  return out;
}

void Optimizer::step(const std::vector<Tensor>& local_grads, const std::vector<Tensor>& params) {
  // Data-parallel fit: the global batch's gradients, the same on every rank, so every rank steps alike.
  std::vector<Tensor> reduced;
  distribution::Strategy* strategy = distribution::strategy();
  if (strategy && strategy->training) {
    reduced = local_grads;
    strategy->reduce_gradients(reduced, params);
  }
  const std::vector<Tensor>& grads = reduced.empty() ? local_grads : reduced;
  const bool clip = common_.clipnorm || common_.global_clipnorm || common_.clipvalue;
  const std::vector<Tensor> clipped_grads = clip ? clipped(grads) : std::vector<Tensor>{};
  const std::vector<Tensor>& gs = clip ? clipped_grads : grads;
  const double lr = learning_rate();
  const double decay = common_.weight_decay.value_or(0.0) * lr;
  // Keras overwrites the weights when (iterations + 1) % frequency == 0, iterations counting the steps before.
  const bool overwrite =
      common_.use_ema && common_.ema_overwrite_frequency && (iterations_ + 1) % *common_.ema_overwrite_frequency == 0;
  begin_step();
  for (std::size_t i = 0; i < params.size(); ++i) {
    Tensor p = params[i];
    const Tensor& g = gs[i];
    if (!g.defined()) continue;
    if (!p.is_contiguous()) throw Error(name() + ": parameters must be contiguous");
    auto [it, inserted] = slots_.try_emplace(p.impl());
    Slots& s = it->second;
    if (inserted) {
      s.param = p;
      for (std::size_t k = 0; k < slot_count(); ++k) {
        const double initial = slot_initial_value(k);
        s.values.push_back(initial == 0 ? Tensor::zeros(p.shape(), p.dtype())
                                        : Tensor::full(p.shape(), initial, p.dtype()));
      }
      if (common_.use_ema) s.values.push_back(p.detach().clone());  // Keras starts the average at the weight
    }
    ops_detail::dispatch_floating(p.dtype(), name().c_str(), [&]<typename T>() {
      if (decay != 0) kernels::cpu::decay_weights<T>(p.data<T>(), p.numel(), static_cast<T>(decay));
    });
    update(p, g.contiguous(), s.values);
    if (common_.use_ema) {
      Tensor& average = s.values.back();
      ops_detail::dispatch_floating(p.dtype(), name().c_str(), [&]<typename T>() {
        // The first step's momentum is 0: the average starts from the updated weight.
        const double momentum = iterations_ == 0 ? 0.0 : common_.ema_momentum;
        kernels::cpu::moving_average_update<T>(average.data<T>(), p.data<T>(), p.numel(), static_cast<T>(momentum));
      });
      if (overwrite) p.copy_(average);
    }
    p.bump_version();  // a graph that saved p before this step must not backpropagate through it
  }
  ++iterations_;
}

void Optimizer::finalize_variable_values(const std::vector<Tensor>& params) {
  if (!common_.use_ema) return;
  for (const Tensor& param : params) {
    const auto it = slots_.find(param.impl());
    if (it == slots_.end()) continue;  // never updated: its average is the weight itself
    Tensor p = param;
    p.copy_(it->second.values.back());
    p.bump_version();
  }
}

std::vector<std::string> Optimizer::update_slot_names() const {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < slot_count(); ++i) names.push_back("slot_" + std::to_string(i));
  return names;
}

std::vector<std::string> Optimizer::slot_names() const {
  std::vector<std::string> names = update_slot_names();
  names.resize(slot_count());
  if (common_.use_ema) names.push_back("average");
  return names;
}

json Optimizer::config_with(json own) const {
  json c = {{"learning_rate", learning_rate_.to_json()}};
  c.update(own);
  c["weight_decay"] = optional_json(common_.weight_decay);
  c["clipnorm"] = optional_json(common_.clipnorm);
  c["global_clipnorm"] = optional_json(common_.global_clipnorm);
  c["clipvalue"] = optional_json(common_.clipvalue);
  c["use_ema"] = common_.use_ema;
  c["ema_momentum"] = common_.ema_momentum;
  c["ema_overwrite_frequency"] =
      common_.ema_overwrite_frequency ? json(*common_.ema_overwrite_frequency) : json(nullptr);
  return c;
}

json Optimizer::get_config() const { return config_with(json::object()); }

void Optimizer::set_iterations(std::int64_t iterations) {
  if (iterations < 0) throw Error(name() + ": iterations must be non-negative, got " + std::to_string(iterations));
  iterations_ = iterations;
}

void Optimizer::set_slots(const Tensor& param, std::vector<Tensor> values) {
  if (!param.defined()) throw Error(name() + ".set_slots: the parameter is undefined");
  const auto names = slot_names();
  if (values.size() != names.size()) {
    throw Error(name() + ": " + std::to_string(values.size()) + " slots given for a parameter, it keeps " +
                std::to_string(names.size()));
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Tensor& v = values[i];
    if (!v.defined() || v.shape() != param.shape() || v.dtype() != param.dtype()) {
      throw Error(name() + ": slot " + names[i] + " must be " + dtype_name(param.dtype()) + " " +
                  shape_str(param.shape()) + " like its parameter, got " +
                  (v.defined() ? std::string(dtype_name(v.dtype())) + " " + shape_str(v.shape()) : "nothing"));
    }
    values[i] = v.contiguous().clone();
  }
  Slots& s = slots_[param.impl()];
  s.param = param;
  s.values = std::move(values);
}

}  // namespace kiln::optim
