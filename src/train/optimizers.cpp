#include "kiln/optimizers.hpp"

#include <cmath>

#include <nlohmann/json.hpp>

#include "kernels/cpu/optimizer.hpp"
#include "kiln/autograd.hpp"
#include "kiln/error.hpp"
#include "ops/op_helpers.hpp"

namespace kiln::optim {
namespace {

void check_rate(double lr, const std::string& who) {
  if (!std::isfinite(lr) || lr < 0) throw Error(who + ": learning_rate must be a finite non-negative number");
}

}  // namespace

Optimizer::Optimizer(double learning_rate) : learning_rate_(learning_rate) {
  check_rate(learning_rate, "optimizer");
}

void Optimizer::set_learning_rate(double lr) {
  check_rate(lr, name());
  learning_rate_ = lr;
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
      throw Error(where + ": the gradient for " + what + " is " + dtype_name(g.dtype()) + " " +
                  shape_str(g.shape()) + ", the parameter is " + dtype_name(p.dtype()) + " " + shape_str(p.shape()));
    }
  }
  step(grads, params);
}

void Optimizer::minimize(const Tensor& loss, const std::vector<Tensor>& params) {
  apply_gradients(gradients(loss, params), params);
}

void Optimizer::step(const std::vector<Tensor>& grads, const std::vector<Tensor>& params) {
  ++iterations_;
  begin_step();
  for (std::size_t i = 0; i < params.size(); ++i) {
    Tensor p = params[i];
    const Tensor& g = grads[i];
    if (!g.defined()) continue;
    if (!p.is_contiguous()) throw Error(name() + ": parameters must be contiguous");
    auto [it, inserted] = slots_.try_emplace(p.impl());
    Slots& s = it->second;
    if (inserted) {
      s.param = p;
      for (std::size_t k = 0; k < slot_count(); ++k) s.values.push_back(Tensor::zeros(p.shape(), p.dtype()));
    }
    update(p, g.contiguous(), s.values);
    p.bump_version();  // a graph that saved p before this step must not backpropagate through it
  }
}

std::vector<std::string> Optimizer::slot_names() const {
  std::vector<std::string> names;
  for (std::size_t i = 0; i < slot_count(); ++i) names.push_back("slot_" + std::to_string(i));
  return names;
}

nlohmann::json Optimizer::get_config() const { return {{"learning_rate", learning_rate_}}; }

void Optimizer::set_iterations(std::int64_t iterations) {
  if (iterations < 0) throw Error(name() + ": iterations must be non-negative, got " + std::to_string(iterations));
  iterations_ = iterations;
}

void Optimizer::set_slots(const Tensor& param, std::vector<Tensor> values) {
  if (!param.defined()) throw Error(name() + ".set_slots: the parameter is undefined");
  if (values.size() != slot_count()) {
    throw Error(name() + ": " + std::to_string(values.size()) + " slots given for a parameter, it keeps " +
                std::to_string(slot_count()));
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    const Tensor& v = values[i];
    if (!v.defined() || v.shape() != param.shape() || v.dtype() != param.dtype()) {
      throw Error(name() + ": slot " + slot_names()[i] + " must be " + dtype_name(param.dtype()) + " " +
                  shape_str(param.shape()) + " like its parameter, got " +
                  (v.defined() ? std::string(dtype_name(v.dtype())) + " " + shape_str(v.shape()) : "nothing"));
    }
    values[i] = v.contiguous().clone();
  }
  Slots& s = slots_[param.impl()];
  s.param = param;
  s.values = std::move(values);
}

SGD::SGD(SGDOptions options) : Optimizer(options.learning_rate), options_(options) {
  if (!(options_.momentum >= 0 && options_.momentum <= 1)) throw Error("SGD: momentum must be in [0, 1]");
}

nlohmann::json SGD::get_config() const {
  return {{"learning_rate", learning_rate()}, {"momentum", options_.momentum}, {"nesterov", options_.nesterov}};
}

void SGD::update(Tensor& p, const Tensor& g, std::vector<Tensor>& slots) {
  ops_detail::dispatch_floating(p.dtype(), "SGD", [&]<typename T>() {
    kernels::cpu::sgd_update<T>(p.data<T>(), g.data<T>(), slots.empty() ? nullptr : slots[0].data<T>(), p.numel(),
                                static_cast<T>(learning_rate()), static_cast<T>(options_.momentum),
                                options_.nesterov);
  });
}

Adam::Adam(AdamOptions options) : Optimizer(options.learning_rate), options_(options) {
  if (!(options_.beta_1 >= 0 && options_.beta_1 < 1) || !(options_.beta_2 >= 0 && options_.beta_2 < 1)) {
    throw Error("Adam: beta_1 and beta_2 must be in [0, 1)");
  }
  if (!(options_.epsilon >= 0)) throw Error("Adam: epsilon must be non-negative");
}

nlohmann::json Adam::get_config() const {
  return {{"learning_rate", learning_rate()},
          {"beta_1", options_.beta_1},
          {"beta_2", options_.beta_2},
          {"epsilon", options_.epsilon}};
}

void Adam::begin_step() {
  const double t = static_cast<double>(iterations());
  step_size_ = learning_rate() * std::sqrt(1.0 - std::pow(options_.beta_2, t)) / (1.0 - std::pow(options_.beta_1, t));
}

void Adam::update(Tensor& p, const Tensor& g, std::vector<Tensor>& slots) {
  ops_detail::dispatch_floating(p.dtype(), "Adam", [&]<typename T>() {
    kernels::cpu::adam_update<T>(p.data<T>(), g.data<T>(), slots[0].data<T>(), slots[1].data<T>(), p.numel(),
                                 static_cast<T>(step_size_), static_cast<T>(options_.beta_1),
                                 static_cast<T>(options_.beta_2), static_cast<T>(options_.epsilon));
  });
}

RMSprop::RMSprop(RMSpropOptions options) : Optimizer(options.learning_rate), options_(options) {
  if (!(options_.rho >= 0 && options_.rho < 1)) {
    throw Error("RMSprop: rho must be in [0, 1), got " + std::to_string(options_.rho));
  }
  if (!(options_.momentum >= 0 && options_.momentum < 1)) {
    throw Error("RMSprop: momentum must be in [0, 1), got " + std::to_string(options_.momentum));
  }
  if (!(options_.epsilon >= 0)) {
    throw Error("RMSprop: epsilon must be non-negative, got " + std::to_string(options_.epsilon));
  }
}

std::vector<std::string> RMSprop::slot_names() const {
  std::vector<std::string> names{"rms"};
  if (options_.momentum > 0) names.push_back("momentum");
  if (options_.centered) names.push_back("average_gradient");
  return names;
}

nlohmann::json RMSprop::get_config() const {
  return {{"learning_rate", learning_rate()},
          {"rho", options_.rho},
          {"momentum", options_.momentum},
          {"epsilon", options_.epsilon},
          {"centered", options_.centered}};
}

void RMSprop::update(Tensor& p, const Tensor& g, std::vector<Tensor>& slots) {
  ops_detail::dispatch_floating(p.dtype(), "RMSprop", [&]<typename T>() {
    std::size_t next = 1;
    T* momentum = options_.momentum > 0 ? slots[next++].data<T>() : nullptr;
    T* average_gradient = options_.centered ? slots[next++].data<T>() : nullptr;
    kernels::cpu::rmsprop_update<T>(p.data<T>(), g.data<T>(), slots[0].data<T>(), momentum, average_gradient, p.numel(),
                                    static_cast<T>(learning_rate()), static_cast<T>(options_.rho),
                                    static_cast<T>(options_.momentum), static_cast<T>(options_.epsilon));
  });
}

std::shared_ptr<Optimizer> get(const std::string& name) {
  if (name == "sgd" || name == "SGD") return std::make_shared<SGD>();
  if (name == "adam" || name == "Adam") return std::make_shared<Adam>();
  if (name == "rmsprop" || name == "RMSprop") return std::make_shared<RMSprop>();
  throw Error("unknown optimizer \"" + name + "\"; expected sgd, adam or rmsprop");
}

std::shared_ptr<Optimizer> from_config(const std::string& name, const nlohmann::json& c) {
  try {
    if (name == "SGD") {
      return std::make_shared<SGD>(SGDOptions{.learning_rate = c.at("learning_rate").get<double>(),
                                              .momentum = c.value("momentum", 0.0),
                                              .nesterov = c.value("nesterov", false)});
    }
    if (name == "Adam") {
      return std::make_shared<Adam>(AdamOptions{.learning_rate = c.at("learning_rate").get<double>(),
                                                .beta_1 = c.value("beta_1", 0.9),
                                                .beta_2 = c.value("beta_2", 0.999),
                                                .epsilon = c.value("epsilon", 1e-7)});
    }
    if (name == "RMSprop") {
      return std::make_shared<RMSprop>(RMSpropOptions{.learning_rate = c.at("learning_rate").get<double>(),
                                                      .rho = c.value("rho", 0.9),
                                                      .momentum = c.value("momentum", 0.0),
                                                      .epsilon = c.value("epsilon", 1e-7),
                                                      .centered = c.value("centered", false)});
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error("optimizer config for " + name + " is invalid: " + e.what());
  }
  throw Error("unknown optimizer \"" + name + "\"; expected SGD, Adam or RMSprop");
}

}  // namespace kiln::optim
