// Per-step learning-rate schedules (keras.optimizers.schedules), passable
// wherever a learning rate is:
//
//   kiln::optim::Adam adam(kiln::optim::schedules::ExponentialDecay(1e-3, 1000, 0.96));
//
// The optimizer asks the schedule for the rate of each step, with the number of
// steps taken before it (0 for the first), as Keras does. Schedules hold no
// state: a resumed run gets the same rates from the saved step count.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kiln::optim::schedules {

class LearningRateSchedule {
 public:
  virtual ~LearningRateSchedule() = default;
  virtual std::string name() const = 0;  // Keras's class name: "ExponentialDecay"
  virtual double operator()(std::int64_t step) const = 0;
  virtual nlohmann::json get_config() const = 0;
};

// initial_learning_rate * decay_rate ^ (step / decay_steps); the exponent floored when staircase.
class ExponentialDecay : public LearningRateSchedule {
 public:
  ExponentialDecay(double initial_learning_rate, double decay_steps, double decay_rate, bool staircase = false);
  std::string name() const override { return "ExponentialDecay"; }
  double operator()(std::int64_t step) const override;
  nlohmann::json get_config() const override;

 private:
  double initial_learning_rate_, decay_steps_, decay_rate_;
  bool staircase_;
};

// values[0] up to and including boundaries[0], values[i] on (boundaries[i-1], boundaries[i]],
// values.back() after boundaries.back().
class PiecewiseConstantDecay : public LearningRateSchedule {
 public:
  PiecewiseConstantDecay(std::vector<double> boundaries, std::vector<double> values);
  std::string name() const override { return "PiecewiseConstantDecay"; }
  double operator()(std::int64_t step) const override;
  nlohmann::json get_config() const override;

 private:
  std::vector<double> boundaries_, values_;
};

// (initial - end) * (1 - step / decay_steps) ^ power + end, the step held at decay_steps;
// with cycle, decay_steps grows to the next multiple of itself past the step instead.
class PolynomialDecay : public LearningRateSchedule {
 public:
  PolynomialDecay(double initial_learning_rate, double decay_steps, double end_learning_rate = 0.0001,
                  double power = 1.0, bool cycle = false);
  std::string name() const override { return "PolynomialDecay"; }
  double operator()(std::int64_t step) const override;
  nlohmann::json get_config() const override;

 private:
  double initial_learning_rate_, decay_steps_, end_learning_rate_, power_;
  bool cycle_;
};

// initial_learning_rate / (1 + decay_rate * step / decay_steps); the ratio floored when staircase.
class InverseTimeDecay : public LearningRateSchedule {
 public:
  InverseTimeDecay(double initial_learning_rate, double decay_steps, double decay_rate, bool staircase = false);
  std::string name() const override { return "InverseTimeDecay"; }
  double operator()(std::int64_t step) const override;
  nlohmann::json get_config() const override;

 private:
  double initial_learning_rate_, decay_steps_, decay_rate_;
  bool staircase_;
};

// A cosine from the rate down to alpha * rate over decay_steps, then flat. With a
// warmup_target, the rate first rises linearly from initial_learning_rate to
// warmup_target over warmup_steps, and the cosine starts from warmup_target.
class CosineDecay : public LearningRateSchedule {
 public:
  CosineDecay(double initial_learning_rate, double decay_steps, double alpha = 0.0,
              std::optional<double> warmup_target = std::nullopt, double warmup_steps = 0);
  std::string name() const override { return "CosineDecay"; }
  double operator()(std::int64_t step) const override;
  nlohmann::json get_config() const override;

 private:
  double initial_learning_rate_, decay_steps_, alpha_;
  std::optional<double> warmup_target_;
  double warmup_steps_;
};

// SGDR: cosine periods of first_decay_steps * t_mul^i steps, the i-th starting at
// initial_learning_rate * m_mul^i.
class CosineDecayRestarts : public LearningRateSchedule {
 public:
  CosineDecayRestarts(double initial_learning_rate, double first_decay_steps, double t_mul = 2.0, double m_mul = 1.0,
                      double alpha = 0.0);
  std::string name() const override { return "CosineDecayRestarts"; }
  double operator()(std::int64_t step) const override;
  nlohmann::json get_config() const override;

 private:
  double initial_learning_rate_, first_decay_steps_, t_mul_, m_mul_, alpha_;
};

// Rebuilds a schedule from name() and get_config(); an Error naming what does not fit.
std::shared_ptr<const LearningRateSchedule> from_config(const std::string& name, const nlohmann::json& config);

}  // namespace kiln::optim::schedules
