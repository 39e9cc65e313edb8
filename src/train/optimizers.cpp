// Keras 3's optimizers (keras/src/optimizers/*.py): each one's settings and its per-parameter update.
#include "kiln/optimizers.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "kernels/cpu/optimizer.hpp"
#include "kiln/error.hpp"
#include "ops/op_helpers.hpp"
#include "util/number_text.hpp"

namespace kiln::optim {
namespace {

using nlohmann::json;

template <typename O>
CommonOptions common_of(const O& o) {
  return CommonOptions{.weight_decay = o.weight_decay,
                       .clipnorm = o.clipnorm,
                       .clipvalue = o.clipvalue,
                       .global_clipnorm = o.global_clipnorm,
                       .use_ema = o.use_ema,
                       .ema_momentum = o.ema_momentum,
                       .ema_overwrite_frequency = o.ema_overwrite_frequency};
}

// The common options of a saved config (absent or null: unset), for from_config.
template <typename O>
O with_common(O o, const json& c) {
  const auto optional = [&](const char* key) -> std::optional<double> {
    if (!c.contains(key) || c.at(key).is_null()) return std::nullopt;
    return c.at(key).get<double>();
  };
  if (c.contains("weight_decay")) o.weight_decay = optional("weight_decay");
  o.clipnorm = optional("clipnorm");
  o.clipvalue = optional("clipvalue");
  o.global_clipnorm = optional("global_clipnorm");
  o.use_ema = c.value("use_ema", false);
  o.ema_momentum = c.value("ema_momentum", 0.99);
  if (c.contains("ema_overwrite_frequency") && !c.at("ema_overwrite_frequency").is_null()) {
    o.ema_overwrite_frequency = c.at("ema_overwrite_frequency").get<std::int64_t>();
  }
  o.learning_rate = LearningRate::from_json(c.at("learning_rate"));
  return o;
}

void check_beta(double beta, const char* optimizer, const char* argument) {
  if (!(beta >= 0 && beta < 1)) {
    throw Error(std::string(optimizer) + ": " + argument + " must be in [0, 1), got " + detail::number_text(beta));
  }
}

void check_epsilon(double epsilon, const char* optimizer) {
  if (!(epsilon >= 0) || !std::isfinite(epsilon)) {
    throw Error(std::string(optimizer) + ": epsilon must be a finite non-negative number, got " +
                detail::number_text(epsilon));
  }
}

}  // namespace

// --- SGD ---

SGD::SGD(SGDOptions options) : Optimizer(options.learning_rate, common_of(options)), options_(options) {
  if (!(options_.momentum >= 0 && options_.momentum <= 1)) {
    throw Error("SGD: momentum must be in [0, 1], got " + detail::number_text(options_.momentum));
  }
}

json SGD::get_config() const { return config_with({{"momentum", options_.momentum}, {"nesterov", options_.nesterov}}); }

void SGD::update(Tensor& p, const Tensor& g, std::vector<Tensor>& slots) {
  ops_detail::dispatch_floating(p.dtype(), "SGD", [&]<typename T>() {
    kernels::cpu::sgd_update<T>(p.data<T>(), g.data<T>(), slot_count() ? slots[0].data<T>() : nullptr, p.numel(),
                                static_cast<T>(learning_rate()), static_cast<T>(options_.momentum), options_.nesterov);
  });
}

// --- Adam, AdamW ---

Adam::Adam(AdamOptions options) : Optimizer(options.learning_rate, common_of(options)), options_(options) {
  check_beta(options_.beta_1, "Adam", "beta_1");
  check_beta(options_.beta_2, "Adam", "beta_2");
  check_epsilon(options_.epsilon, "Adam");
}

json Adam::get_config() const {
  return config_with({{"beta_1", options_.beta_1}, {"beta_2", options_.beta_2}, {"epsilon", options_.epsilon}});
}

void Adam::begin_step() {
  const double t = static_cast<double>(iterations() + 1);
  step_size_ = learning_rate() * std::sqrt(1.0 - std::pow(options_.beta_2, t)) / (1.0 - std::pow(options_.beta_1, t));
}

void Adam::update(Tensor& p, const Tensor& g, std::vector<Tensor>& slots) {
  ops_detail::dispatch_floating(p.dtype(), "Adam", [&]<typename T>() {
    kernels::cpu::adam_update<T>(p.data<T>(), g.data<T>(), slots[0].data<T>(), slots[1].data<T>(), p.numel(),
                                 static_cast<T>(step_size_), static_cast<T>(options_.beta_1),
                                 static_cast<T>(options_.beta_2), static_cast<T>(options_.epsilon));
  });
}

namespace {
AdamOptions adam_options_of(const AdamWOptions& o) {
  if (!o.weight_decay) throw Error("AdamW: weight_decay must be a number, got none (use Adam for no decay)");
  AdamOptions a{.learning_rate = o.learning_rate, .beta_1 = o.beta_1, .beta_2 = o.beta_2, .epsilon = o.epsilon};
  const CommonOptions c = common_of(o);
  a.weight_decay = c.weight_decay;
  a.clipnorm = c.clipnorm;
  a.clipvalue = c.clipvalue;
  a.global_clipnorm = c.global_clipnorm;
  a.use_ema = c.use_ema;
  a.ema_momentum = c.ema_momentum;
  a.ema_overwrite_frequency = c.ema_overwrite_frequency;
  return a;
}
}  // namespace

AdamW::AdamW(AdamWOptions options) : Adam(adam_options_of(options)) {}

// --- Nadam ---

Nadam::Nadam(NadamOptions options) : Optimizer(options.learning_rate, common_of(options)), options_(options) {
  check_beta(options_.beta_1, "Nadam", "beta_1");
  check_beta(options_.beta_2, "Nadam", "beta_2");
  check_epsilon(options_.epsilon, "Nadam");
}

json Nadam::get_config() const {
  return config_with({{"beta_1", options_.beta_1}, {"beta_2", options_.beta_2}, {"epsilon", options_.epsilon}});
}

void Nadam::begin_step() {
  const auto u = [&](std::int64_t t) { return options_.beta_1 * (1.0 - 0.5 * std::pow(0.96, double(t))); };
  const std::int64_t t = iterations() + 1;
  // Keras keeps the product as a variable; here it is a function of the step count,
  // extended step by step and rebuilt from scratch after a jump (a restored checkpoint).
  if (u_product_steps_ != t - 1) {
    u_product_ = 1.0;
    for (std::int64_t k = 1; k < t; ++k) u_product_ *= u(k);
  }
  u_product_ *= u(t);
  u_product_steps_ = t;
  m_coefficient_ = u(t + 1) / (1.0 - u_product_ * u(t + 1));
  g_coefficient_ = (1.0 - u(t)) / (1.0 - u_product_);
  v_coefficient_ = 1.0 / (1.0 - std::pow(options_.beta_2, double(t)));
}

void Nadam::update(Tensor& p, const Tensor& g, std::vector<Tensor>& slots) {
  ops_detail::dispatch_floating(p.dtype(), "Nadam", [&]<typename T>() {
    kernels::cpu::nadam_update<T>(
        p.data<T>(), g.data<T>(), slots[0].data<T>(), slots[1].data<T>(), p.numel(), static_cast<T>(learning_rate()),
        static_cast<T>(options_.beta_1), static_cast<T>(options_.beta_2), static_cast<T>(options_.epsilon),
        static_cast<T>(m_coefficient_), static_cast<T>(g_coefficient_), static_cast<T>(v_coefficient_));
  });
}

// --- Adagrad ---

Adagrad::Adagrad(AdagradOptions options) : Optimizer(options.learning_rate, common_of(options)), options_(options) {
  if (!(options_.initial_accumulator_value >= 0) || !std::isfinite(options_.initial_accumulator_value)) {
    throw Error("Adagrad: initial_accumulator_value must be a finite non-negative number, got " +
                detail::number_text(options_.initial_accumulator_value));
  }
  check_epsilon(options_.epsilon, "Adagrad");
}

json Adagrad::get_config() const {
  return config_with(
      {{"initial_accumulator_value", options_.initial_accumulator_value}, {"epsilon", options_.epsilon}});
}

void Adagrad::update(Tensor& p, const Tensor& g, std::vector<Tensor>& slots) {
  ops_detail::dispatch_floating(p.dtype(), "Adagrad", [&]<typename T>() {
    kernels::cpu::adagrad_update<T>(p.data<T>(), g.data<T>(), slots[0].data<T>(), p.numel(),
                                    static_cast<T>(learning_rate()), static_cast<T>(options_.epsilon));
  });
}

// --- Adamax ---

Adamax::Adamax(AdamaxOptions options) : Optimizer(options.learning_rate, common_of(options)), options_(options) {
  check_beta(options_.beta_1, "Adamax", "beta_1");
  check_beta(options_.beta_2, "Adamax", "beta_2");
  check_epsilon(options_.epsilon, "Adamax");
}

json Adamax::get_config() const {
  return config_with({{"beta_1", options_.beta_1}, {"beta_2", options_.beta_2}, {"epsilon", options_.epsilon}});
}

void Adamax::update(Tensor& p, const Tensor& g, std::vector<Tensor>& slots) {
  const double lr_t = learning_rate() / (1.0 - std::pow(options_.beta_1, double(iterations() + 1)));
  ops_detail::dispatch_floating(p.dtype(), "Adamax", [&]<typename T>() {
    kernels::cpu::adamax_update<T>(p.data<T>(), g.data<T>(), slots[0].data<T>(), slots[1].data<T>(), p.numel(),
                                   static_cast<T>(lr_t), static_cast<T>(options_.beta_1),
                                   static_cast<T>(options_.beta_2), static_cast<T>(options_.epsilon));
  });
}

// --- Lion ---

Lion::Lion(LionOptions options) : Optimizer(options.learning_rate, common_of(options)), options_(options) {
  // Keras allows beta_1 = 1 (the sign of the momentum alone), not 0.
  if (!(options_.beta_1 > 0 && options_.beta_1 <= 1)) {
    throw Error("Lion: beta_1 must be in (0, 1], got " + detail::number_text(options_.beta_1));
  }
  if (!(options_.beta_2 >= 0 && options_.beta_2 <= 1)) {
    throw Error("Lion: beta_2 must be in [0, 1], got " + detail::number_text(options_.beta_2));
  }
}

json Lion::get_config() const { return config_with({{"beta_1", options_.beta_1}, {"beta_2", options_.beta_2}}); }

void Lion::update(Tensor& p, const Tensor& g, std::vector<Tensor>& slots) {
  ops_detail::dispatch_floating(p.dtype(), "Lion", [&]<typename T>() {
    kernels::cpu::lion_update<T>(p.data<T>(), g.data<T>(), slots[0].data<T>(), p.numel(),
                                 static_cast<T>(learning_rate()), static_cast<T>(options_.beta_1),
                                 static_cast<T>(options_.beta_2));
  });
}

// --- RMSprop ---

RMSprop::RMSprop(RMSpropOptions options) : Optimizer(options.learning_rate, common_of(options)), options_(options) {
  if (!(options_.rho >= 0 && options_.rho < 1))
    throw Error("RMSprop: rho must be in [0, 1), got " + detail::number_text(options_.rho));
  if (!(options_.momentum >= 0 && options_.momentum < 1)) {
    throw Error("RMSprop: momentum must be in [0, 1), got " + detail::number_text(options_.momentum));
  }
  check_epsilon(options_.epsilon, "RMSprop");
}

std::vector<std::string> RMSprop::update_slot_names() const {
  std::vector<std::string> names{"rms"};
  if (options_.momentum > 0) names.push_back("momentum");
  if (options_.centered) names.push_back("average_gradient");
  return names;
}

json RMSprop::get_config() const {
  return config_with({{"rho", options_.rho},
                      {"momentum", options_.momentum},
                      {"epsilon", options_.epsilon},
                      {"centered", options_.centered}});
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

// --- by name, from config ---

std::shared_ptr<Optimizer> get(const std::string& name) {
  if (name == "sgd" || name == "SGD") return std::make_shared<SGD>();
  if (name == "adam" || name == "Adam") return std::make_shared<Adam>();
  if (name == "adamw" || name == "AdamW") return std::make_shared<AdamW>();
  if (name == "nadam" || name == "Nadam") return std::make_shared<Nadam>();
  if (name == "adagrad" || name == "Adagrad") return std::make_shared<Adagrad>();
  if (name == "adamax" || name == "Adamax") return std::make_shared<Adamax>();
  if (name == "lion" || name == "Lion") return std::make_shared<Lion>();
  if (name == "rmsprop" || name == "RMSprop") return std::make_shared<RMSprop>();
  throw Error("unknown optimizer \"" + name + "\"; expected sgd, adam, adamw, nadam, adagrad, adamax, lion or rmsprop");
}

std::shared_ptr<Optimizer> from_config(const std::string& name, const json& c) {
  try {
    if (name == "SGD") {
      return std::make_shared<SGD>(
          with_common(SGDOptions{.momentum = c.value("momentum", 0.0), .nesterov = c.value("nesterov", false)}, c));
    }
    if (name == "Adam") {
      return std::make_shared<Adam>(with_common(AdamOptions{.beta_1 = c.value("beta_1", 0.9),
                                                            .beta_2 = c.value("beta_2", 0.999),
                                                            .epsilon = c.value("epsilon", 1e-7)},
                                                c));
    }
    if (name == "AdamW") {
      return std::make_shared<AdamW>(with_common(AdamWOptions{.beta_1 = c.value("beta_1", 0.9),
                                                              .beta_2 = c.value("beta_2", 0.999),
                                                              .epsilon = c.value("epsilon", 1e-7)},
                                                 c));
    }
    if (name == "Nadam") {
      return std::make_shared<Nadam>(with_common(NadamOptions{.beta_1 = c.value("beta_1", 0.9),
                                                              .beta_2 = c.value("beta_2", 0.999),
                                                              .epsilon = c.value("epsilon", 1e-7)},
                                                 c));
    }
    if (name == "Adagrad") {
      return std::make_shared<Adagrad>(
          with_common(AdagradOptions{.initial_accumulator_value = c.value("initial_accumulator_value", 0.1),
                                     .epsilon = c.value("epsilon", 1e-7)},
                      c));
    }
    if (name == "Adamax") {
      return std::make_shared<Adamax>(with_common(AdamaxOptions{.beta_1 = c.value("beta_1", 0.9),
                                                                .beta_2 = c.value("beta_2", 0.999),
                                                                .epsilon = c.value("epsilon", 1e-7)},
                                                  c));
    }
    if (name == "Lion") {
      return std::make_shared<Lion>(
          with_common(LionOptions{.beta_1 = c.value("beta_1", 0.9), .beta_2 = c.value("beta_2", 0.99)}, c));
    }
    if (name == "RMSprop") {
      return std::make_shared<RMSprop>(with_common(RMSpropOptions{.rho = c.value("rho", 0.9),
                                                                  .momentum = c.value("momentum", 0.0),
                                                                  .epsilon = c.value("epsilon", 1e-7),
                                                                  .centered = c.value("centered", false)},
                                                   c));
    }
  } catch (const json::exception& e) {
    throw Error("optimizer config for " + name + " is invalid: " + e.what());
  }
  throw Error("unknown optimizer \"" + name + "\"; expected SGD, Adam, AdamW, Nadam, Adagrad, Adamax, Lion or RMSprop");
}

}  // namespace kiln::optim
