// Keras 3's formulas (keras/src/optimizers/schedules/learning_rate_schedule.py), in double precision.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>

#include "kiln/error.hpp"
#include "kiln/optimizers/schedules.hpp"
#include "util/number_text.hpp"

namespace kiln::optim::schedules {
namespace {

using nlohmann::json;

void check_positive(double v, const char* schedule, const char* argument) {
  if (!(v > 0) || !std::isfinite(v)) {
    throw Error(std::string(schedule) + ": " + argument + " must be > 0, got " + detail::number_text(v));
  }
}

void check_finite(double v, const char* schedule, const char* argument) {
  if (!std::isfinite(v))
    throw Error(std::string(schedule) + ": " + argument + " must be finite, got " + detail::number_text(v));
}

}  // namespace

ExponentialDecay::ExponentialDecay(double initial_learning_rate, double decay_steps, double decay_rate, bool staircase)
    : initial_learning_rate_(initial_learning_rate),
      decay_steps_(decay_steps),
      decay_rate_(decay_rate),
      staircase_(staircase) {
  check_finite(initial_learning_rate, "ExponentialDecay", "initial_learning_rate");
  check_positive(decay_steps, "ExponentialDecay", "decay_steps");
  check_finite(decay_rate, "ExponentialDecay", "decay_rate");
}

double ExponentialDecay::operator()(std::int64_t step) const {
  double p = double(step) / decay_steps_;
  if (staircase_) p = std::floor(p);
  return initial_learning_rate_ * std::pow(decay_rate_, p);
}

json ExponentialDecay::get_config() const {
  return {{"initial_learning_rate", initial_learning_rate_},
          {"decay_steps", decay_steps_},
          {"decay_rate", decay_rate_},
          {"staircase", staircase_}};
}

PiecewiseConstantDecay::PiecewiseConstantDecay(std::vector<double> boundaries, std::vector<double> values)
    : boundaries_(std::move(boundaries)), values_(std::move(values)) {
  if (values_.size() != boundaries_.size() + 1) {
    throw Error("PiecewiseConstantDecay: the length of boundaries should be 1 less than the length of values; got " +
                std::to_string(boundaries_.size()) + " boundaries and " + std::to_string(values_.size()) + " values");
  }
  if (!std::is_sorted(boundaries_.begin(), boundaries_.end())) {
    throw Error("PiecewiseConstantDecay: boundaries must be in increasing order");
  }
}

double PiecewiseConstantDecay::operator()(std::int64_t step) const {
  // The first boundary not below the step: values_[i] holds on (boundaries[i-1], boundaries[i]].
  const auto it = std::lower_bound(boundaries_.begin(), boundaries_.end(), double(step));
  return values_[static_cast<std::size_t>(it - boundaries_.begin())];
}

json PiecewiseConstantDecay::get_config() const { return {{"boundaries", boundaries_}, {"values", values_}}; }

PolynomialDecay::PolynomialDecay(double initial_learning_rate, double decay_steps, double end_learning_rate,
                                 double power, bool cycle)
    : initial_learning_rate_(initial_learning_rate),
      decay_steps_(decay_steps),
      end_learning_rate_(end_learning_rate),
      power_(power),
      cycle_(cycle) {
  check_finite(initial_learning_rate, "PolynomialDecay", "initial_learning_rate");
  check_positive(decay_steps, "PolynomialDecay", "decay_steps");
  check_finite(end_learning_rate, "PolynomialDecay", "end_learning_rate");
  check_finite(power, "PolynomialDecay", "power");
}

double PolynomialDecay::operator()(std::int64_t step) const {
  double s = double(step), steps = decay_steps_;
  if (cycle_) {
    // Keras: the first period is decay_steps long even at step 0.
    steps *= s == 0 ? 1.0 : std::ceil(s / decay_steps_);
  } else {
    s = std::min(s, decay_steps_);
  }
  return (initial_learning_rate_ - end_learning_rate_) * std::pow(1 - s / steps, power_) + end_learning_rate_;
}

json PolynomialDecay::get_config() const {
  return {{"initial_learning_rate", initial_learning_rate_},
          {"decay_steps", decay_steps_},
          {"end_learning_rate", end_learning_rate_},
          {"power", power_},
          {"cycle", cycle_}};
}

InverseTimeDecay::InverseTimeDecay(double initial_learning_rate, double decay_steps, double decay_rate, bool staircase)
    : initial_learning_rate_(initial_learning_rate),
      decay_steps_(decay_steps),
      decay_rate_(decay_rate),
      staircase_(staircase) {
  check_finite(initial_learning_rate, "InverseTimeDecay", "initial_learning_rate");
  check_positive(decay_steps, "InverseTimeDecay", "decay_steps");
  check_finite(decay_rate, "InverseTimeDecay", "decay_rate");
}

double InverseTimeDecay::operator()(std::int64_t step) const {
  double p = double(step) / decay_steps_;
  if (staircase_) p = std::floor(p);
  return initial_learning_rate_ / (1 + decay_rate_ * p);
}

json InverseTimeDecay::get_config() const {
  return {{"initial_learning_rate", initial_learning_rate_},
          {"decay_steps", decay_steps_},
          {"decay_rate", decay_rate_},
          {"staircase", staircase_}};
}

CosineDecay::CosineDecay(double initial_learning_rate, double decay_steps, double alpha,
                         std::optional<double> warmup_target, double warmup_steps)
    : initial_learning_rate_(initial_learning_rate),
      decay_steps_(decay_steps),
      alpha_(alpha),
      warmup_target_(warmup_target),
      warmup_steps_(warmup_steps) {
  check_finite(initial_learning_rate, "CosineDecay", "initial_learning_rate");
  check_positive(decay_steps, "CosineDecay", "decay_steps");
  check_finite(alpha, "CosineDecay", "alpha");
  if (warmup_target) check_finite(*warmup_target, "CosineDecay", "warmup_target");
  if (!(warmup_steps >= 0) || !std::isfinite(warmup_steps)) {
    throw Error("CosineDecay: warmup_steps must be >= 0, got " + detail::number_text(warmup_steps));
  }
}

double CosineDecay::operator()(std::int64_t step) const {
  const auto decayed = [&](double s, double from) {
    const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * s / decay_steps_));
    return from * ((1 - alpha_) * cosine + alpha_);
  };
  double s = double(step);
  if (!warmup_target_) return decayed(std::min(s, decay_steps_), initial_learning_rate_);
  s = std::min(s, decay_steps_ + warmup_steps_);
  if (s < warmup_steps_) return (*warmup_target_ - initial_learning_rate_) * s / warmup_steps_ + initial_learning_rate_;
  return decayed(s - warmup_steps_, *warmup_target_);
}

json CosineDecay::get_config() const {
  return {{"initial_learning_rate", initial_learning_rate_},
          {"decay_steps", decay_steps_},
          {"alpha", alpha_},
          {"warmup_target", warmup_target_ ? json(*warmup_target_) : json(nullptr)},
          {"warmup_steps", warmup_steps_}};
}

CosineDecayRestarts::CosineDecayRestarts(double initial_learning_rate, double first_decay_steps, double t_mul,
                                         double m_mul, double alpha)
    : initial_learning_rate_(initial_learning_rate),
      first_decay_steps_(first_decay_steps),
      t_mul_(t_mul),
      m_mul_(m_mul),
      alpha_(alpha) {
  check_finite(initial_learning_rate, "CosineDecayRestarts", "initial_learning_rate");
  check_positive(first_decay_steps, "CosineDecayRestarts", "first_decay_steps");
  check_positive(t_mul, "CosineDecayRestarts", "t_mul");
  check_finite(m_mul, "CosineDecayRestarts", "m_mul");
  check_finite(alpha, "CosineDecayRestarts", "alpha");
}

double CosineDecayRestarts::operator()(std::int64_t step) const {
  double fraction = double(step) / first_decay_steps_, restart = 0;
  if (t_mul_ == 1.0) {
    restart = std::floor(fraction);
    fraction -= restart;
  } else {
    // Periods grow geometrically: restart i begins after (1 - t_mul^i) / (1 - t_mul) first periods.
    restart = std::floor(std::log(1.0 - fraction * (1.0 - t_mul_)) / std::log(t_mul_));
    const double before = (1.0 - std::pow(t_mul_, restart)) / (1.0 - t_mul_);
    fraction = (fraction - before) / std::pow(t_mul_, restart);
  }
  const double cosine = 0.5 * std::pow(m_mul_, restart) * (1.0 + std::cos(std::numbers::pi * fraction));
  return initial_learning_rate_ * ((1 - alpha_) * cosine + alpha_);
}

json CosineDecayRestarts::get_config() const {
  return {{"initial_learning_rate", initial_learning_rate_},
          {"first_decay_steps", first_decay_steps_},
          {"t_mul", t_mul_},
          {"m_mul", m_mul_},
          {"alpha", alpha_}};
}

std::shared_ptr<const LearningRateSchedule> from_config(const std::string& name, const json& c) {
  try {
    if (name == "ExponentialDecay") {
      return std::make_shared<ExponentialDecay>(c.at("initial_learning_rate").get<double>(),
                                                c.at("decay_steps").get<double>(), c.at("decay_rate").get<double>(),
                                                c.value("staircase", false));
    }
    if (name == "PiecewiseConstantDecay") {
      return std::make_shared<PiecewiseConstantDecay>(c.at("boundaries").get<std::vector<double>>(),
                                                      c.at("values").get<std::vector<double>>());
    }
    if (name == "PolynomialDecay") {
      return std::make_shared<PolynomialDecay>(c.at("initial_learning_rate").get<double>(),
                                               c.at("decay_steps").get<double>(), c.value("end_learning_rate", 0.0001),
                                               c.value("power", 1.0), c.value("cycle", false));
    }
    if (name == "InverseTimeDecay") {
      return std::make_shared<InverseTimeDecay>(c.at("initial_learning_rate").get<double>(),
                                                c.at("decay_steps").get<double>(), c.at("decay_rate").get<double>(),
                                                c.value("staircase", false));
    }
    if (name == "CosineDecay") {
      std::optional<double> target;
      if (c.contains("warmup_target") && !c.at("warmup_target").is_null()) target = c.at("warmup_target").get<double>();
      return std::make_shared<CosineDecay>(c.at("initial_learning_rate").get<double>(),
                                           c.at("decay_steps").get<double>(), c.value("alpha", 0.0), target,
                                           c.value("warmup_steps", 0.0));
    }
    if (name == "CosineDecayRestarts") {
      return std::make_shared<CosineDecayRestarts>(c.at("initial_learning_rate").get<double>(),
                                                   c.at("first_decay_steps").get<double>(), c.value("t_mul", 2.0),
                                                   c.value("m_mul", 1.0), c.value("alpha", 0.0));
    }
  } catch (const json::exception& e) {
    throw Error("learning-rate schedule config for " + name + " is invalid: " + e.what());
  }
  throw Error("unknown learning-rate schedule \"" + name +
              "\"; expected ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay, InverseTimeDecay, "
              "CosineDecay or CosineDecayRestarts");
}

}  // namespace kiln::optim::schedules
