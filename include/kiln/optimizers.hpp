// Optimizers with Keras's update rules and defaults.
//
//   loss.backward();
//   optimizer.apply_gradients(params);          // uses each param's grad(), then clears it
// or, in a custom training step (Keras's zip style):
//   auto grads = kiln::gradients(loss, params);
//   optimizer.apply_gradients(grads, params);   // params[i] updated with grads[i]
//
// Every optimizer also takes Keras's common arguments (weight_decay, clipnorm,
// clipvalue, global_clipnorm, use_ema, ema_momentum, ema_overwrite_frequency) as
// the last fields of its options, and a learning-rate schedule wherever a rate goes:
//   kiln::optim::AdamW(kiln::optim::AdamWOptions{.learning_rate = kiln::optim::schedules::CosineDecay(1e-3, 1000),
//                                                 .global_clipnorm = 1.0, .use_ema = true});
#pragma once
#include <concepts>
#include <cstdint>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "kiln/optimizers/schedules.hpp"
#include "kiln/tensor.hpp"

namespace kiln::optim {

// A learning rate: a constant, or a schedule asked for each step's rate (Keras's
// learning_rate=ExponentialDecay(...)).
class LearningRate {
 public:
  LearningRate(double value);  // NOLINT: 1e-3
  template <typename S>        // NOLINT: schedules::ExponentialDecay(1e-3, 100, 0.9)
  requires std::derived_from<std::remove_cvref_t<S>, schedules::LearningRateSchedule> LearningRate(S&& schedule)
      : schedule_(std::make_shared<std::remove_cvref_t<S>>(std::forward<S>(schedule))) {}
  template <typename S>  // NOLINT: a shared schedule
  requires std::derived_from<S, schedules::LearningRateSchedule> LearningRate(std::shared_ptr<S> schedule)
      : schedule_(std::move(schedule)) {
    check_schedule();
  }

  bool is_schedule() const { return schedule_ != nullptr; }
  const std::shared_ptr<const schedules::LearningRateSchedule>& schedule() const { return schedule_; }
  // The rate of the step taken after `step` others; Error when a schedule gives a negative or non-finite rate.
  double at(std::int64_t step) const;
  // The constant; an Error when this is a schedule.
  double value() const;
  // A number, or {"class_name": "ExponentialDecay", "config": {...}} as Keras serialises schedules.
  nlohmann::json to_json() const;
  static LearningRate from_json(const nlohmann::json& j);

 private:
  void check_schedule() const;
  double value_ = 0;
  std::shared_ptr<const schedules::LearningRateSchedule> schedule_;
};

// Keras's base Optimizer arguments, which every optimizer takes.
struct CommonOptions {
  // Decoupled weight decay: p -= learning_rate * weight_decay * p before each update.
  std::optional<double> weight_decay;
  // Each gradient rescaled to an L2 norm of at most clipnorm.
  std::optional<double> clipnorm;
  // Each gradient element clipped to [-clipvalue, clipvalue] (ignored when a norm clip is set, as in Keras).
  std::optional<double> clipvalue;
  // All gradients rescaled together to a global L2 norm of at most global_clipnorm.
  std::optional<double> global_clipnorm;
  // Keep an exponential moving average of each weight: a = m a + (1 - m) p after each update
  // (a = p after the first step); fit() swaps the averages in when it ends.
  bool use_ema = false;
  double ema_momentum = 0.99;
  // Every this many steps, the weights are overwritten by their averages.
  std::optional<std::int64_t> ema_overwrite_frequency;
};

// The CommonOptions fields, last in each optimizer's options so that designated
// initialisers read as Keras's keyword arguments:
//   AdamOptions{.learning_rate = 1e-3, .beta_1 = 0.5, .weight_decay = 0.01, .clipnorm = 1.0}
#define KILN_OPTIMIZER_COMMON_OPTIONS(WEIGHT_DECAY)     \
  std::optional<double> weight_decay = WEIGHT_DECAY;    \
  std::optional<double> clipnorm = std::nullopt;        \
  std::optional<double> clipvalue = std::nullopt;       \
  std::optional<double> global_clipnorm = std::nullopt; \
  bool use_ema = false;                                 \
  double ema_momentum = 0.99;                           \
  std::optional<std::int64_t> ema_overwrite_frequency = std::nullopt;

class Optimizer {
 public:
  explicit Optimizer(double learning_rate);
  Optimizer(LearningRate learning_rate, CommonOptions common);
  virtual ~Optimizer() = default;
  virtual std::string name() const = 0;

  // Updates every parameter that has a gradient; throws an Error naming the
  // parameter when none of them has one (a forgotten backward()).
  void apply_gradients(const std::vector<Tensor>& params);
  // Keras's apply_gradients(zip(grads, params)): updates params[i] with grads[i],
  // leaving grad() alone. Every gradient must be defined and shaped like its
  // parameter; otherwise an Error names the parameter ("dense_1/kernel").
  void apply_gradients(const std::vector<Tensor>& grads, const std::vector<Tensor>& params);
  // One step downhill on `loss`: apply_gradients(kiln::gradients(loss, params), params).
  void minimize(const Tensor& loss, const std::vector<Tensor>& params);
  // Drops the gradients of `params` (the next backward rebuilds them).
  static void zero_grad(const std::vector<Tensor>& params);

  // The rate of the next step (a schedule's value at iterations()).
  double learning_rate() const;
  // Sets a constant rate; an Error when the optimizer was built with a schedule (as in Keras).
  void set_learning_rate(double lr);
  const LearningRate& learning_rate_argument() const { return learning_rate_; }
  const CommonOptions& common_options() const { return common_; }
  std::int64_t iterations() const { return iterations_; }  // steps taken

  // With use_ema, overwrites each of `params` the optimizer has updated with its
  // moving average (Keras's finalize_variable_values; fit() calls it at the end).
  void finalize_variable_values(const std::vector<Tensor>& params);

  // Per-parameter state (moments, velocities), exposed for checkpoints.
  struct Slots {
    Tensor param;                // kept so the key below stays valid
    std::vector<Tensor> values;  // e.g. Adam: {m, v}; then the moving average with use_ema
  };
  const std::unordered_map<const void*, Slots>& slots() const { return slots_; }
  // What each slot holds, for file names: Adam {"m", "v"}, SGD with momentum {"momentum"};
  // "average" last with use_ema.
  std::vector<std::string> slot_names() const;

  // --- saving and restoring (model files, checkpoints) ---
  // The settings that rebuild this optimizer (Keras's get_config): learning_rate, beta_1, ...
  // and the common options.
  virtual nlohmann::json get_config() const;
  // Restores a saved state: the step count and one parameter's slots (shapes must match it).
  void set_iterations(std::int64_t iterations);
  void set_slots(const Tensor& param, std::vector<Tensor> values);

 protected:
  // Called once per step before the updates (to precompute step-size factors);
  // iterations() is the number of steps before this one.
  virtual void begin_step() {}
  virtual std::size_t slot_count() const = 0;
  // The names of the slot_count() slots update() keeps.
  virtual std::vector<std::string> update_slot_names() const;
  // What a new slot starts at (Adagrad's accumulator starts above 0).
  virtual double slot_initial_value(std::size_t /*slot*/) const { return 0.0; }
  // One parameter's update with this step's learning_rate(); `slots` starts with its slot_count() slots.
  virtual void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots) = 0;
  // The base config (learning_rate and the common options) with `own` settings added.
  nlohmann::json config_with(nlohmann::json own) const;

 private:
  // One step: the pairs whose gradient is defined are updated.
  void step(const std::vector<Tensor>& grads, const std::vector<Tensor>& params);
  std::vector<Tensor> clipped(const std::vector<Tensor>& grads) const;
  std::size_t total_slots() const { return slot_count() + (common_.use_ema ? 1 : 0); }

  LearningRate learning_rate_;
  CommonOptions common_;
  std::int64_t iterations_ = 0;
  std::unordered_map<const void*, Slots> slots_;
};

struct SGDOptions {
  LearningRate learning_rate = 0.01;
  double momentum = 0.0;
  bool nesterov = false;
  KILN_OPTIMIZER_COMMON_OPTIONS(std::nullopt)
};

// Keras's SGD: p -= lr g; with momentum v = momentum v - lr g, then p += v, or with
// Nesterov p += momentum v - lr g.
class SGD : public Optimizer {
 public:
  // Keras's positional order: SGD(0.1, 0.9) is learning rate 0.1 with momentum 0.9.
  explicit SGD(LearningRate learning_rate = 0.01, double momentum = 0.0, bool nesterov = false)
      : SGD(SGDOptions{.learning_rate = std::move(learning_rate), .momentum = momentum, .nesterov = nesterov}) {}
  explicit SGD(SGDOptions options);
  std::string name() const override { return "SGD"; }
  const SGDOptions& options() const { return options_; }
  nlohmann::json get_config() const override;

 protected:
  std::size_t slot_count() const override { return options_.momentum > 0 ? 1 : 0; }
  std::vector<std::string> update_slot_names() const override { return {"momentum"}; }
  void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots) override;

 private:
  SGDOptions options_;
};

struct AdamOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  KILN_OPTIMIZER_COMMON_OPTIONS(std::nullopt)
};

// Keras's form: epsilon is added to sqrt(v) after the bias correction is
// folded into the step size ("epsilon hat" in the Adam paper).
class Adam : public Optimizer {
 public:
  // Keras's positional order: Adam(learning_rate, beta_1, beta_2, epsilon).
  explicit Adam(LearningRate learning_rate = 0.001, double beta_1 = 0.9, double beta_2 = 0.999, double epsilon = 1e-7)
      : Adam(AdamOptions{
            .learning_rate = std::move(learning_rate), .beta_1 = beta_1, .beta_2 = beta_2, .epsilon = epsilon}) {}
  explicit Adam(AdamOptions options);
  std::string name() const override { return "Adam"; }
  const AdamOptions& options() const { return options_; }
  nlohmann::json get_config() const override;

 protected:
  void begin_step() override;
  std::size_t slot_count() const override { return 2; }
  std::vector<std::string> update_slot_names() const override { return {"m", "v"}; }
  void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots) override;

 private:
  AdamOptions options_;
  double step_size_ = 0.0;
};

struct AdamWOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  KILN_OPTIMIZER_COMMON_OPTIONS(0.004)
};

// Keras's AdamW: Adam with decoupled weight decay (on by default, 0.004):
// p -= lr * weight_decay * p, then Adam's update.
class AdamW : public Adam {
 public:
  explicit AdamW(LearningRate learning_rate = 0.001, double weight_decay = 0.004, double beta_1 = 0.9,
                 double beta_2 = 0.999, double epsilon = 1e-7)
      : AdamW(AdamWOptions{.learning_rate = std::move(learning_rate),
                           .beta_1 = beta_1,
                           .beta_2 = beta_2,
                           .epsilon = epsilon,
                           .weight_decay = weight_decay}) {}
  explicit AdamW(AdamWOptions options);
  std::string name() const override { return "AdamW"; }
};

struct NadamOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  KILN_OPTIMIZER_COMMON_OPTIONS(std::nullopt)
};

// Keras's Nadam (Dozat's Nesterov Adam) with the momentum schedule
// u_t = beta_1 (1 - 0.5 * 0.96^t):
//   m += (1 - beta_1)(g - m);  v += (1 - beta_2)(g^2 - v)
//   m_hat = u_{t+1} m / (1 - u_1...u_{t+1}) + (1 - u_t) g / (1 - u_1...u_t);  v_hat = v / (1 - beta_2^t)
//   p -= lr m_hat / (sqrt(v_hat) + epsilon)
// (torch.optim.NAdam with momentum_decay=1 is the same rule.)
class Nadam : public Optimizer {
 public:
  explicit Nadam(LearningRate learning_rate = 0.001, double beta_1 = 0.9, double beta_2 = 0.999, double epsilon = 1e-7)
      : Nadam(NadamOptions{
            .learning_rate = std::move(learning_rate), .beta_1 = beta_1, .beta_2 = beta_2, .epsilon = epsilon}) {}
  explicit Nadam(NadamOptions options);
  std::string name() const override { return "Nadam"; }
  const NadamOptions& options() const { return options_; }
  nlohmann::json get_config() const override;

 protected:
  void begin_step() override;
  std::size_t slot_count() const override { return 2; }
  std::vector<std::string> update_slot_names() const override { return {"m", "v"}; }
  void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots) override;

 private:
  NadamOptions options_;
  // The product u_1...u_t, a function of the step count, recomputed after a jump (a restored checkpoint).
  double u_product_ = 1.0;
  std::int64_t u_product_steps_ = 0;
  double m_coefficient_ = 0, g_coefficient_ = 0, v_coefficient_ = 0;
};

struct AdagradOptions {
  LearningRate learning_rate = 0.001;
  double initial_accumulator_value = 0.1;
  double epsilon = 1e-7;
  KILN_OPTIMIZER_COMMON_OPTIONS(std::nullopt)
};

// Keras's Adagrad: accumulator += g^2 (starting at initial_accumulator_value);
// p -= lr g / sqrt(accumulator + epsilon). (torch.optim.Adagrad adds epsilon
// outside the square root.)
class Adagrad : public Optimizer {
 public:
  explicit Adagrad(LearningRate learning_rate = 0.001, double initial_accumulator_value = 0.1, double epsilon = 1e-7)
      : Adagrad(AdagradOptions{.learning_rate = std::move(learning_rate),
                               .initial_accumulator_value = initial_accumulator_value,
                               .epsilon = epsilon}) {}
  explicit Adagrad(AdagradOptions options);
  std::string name() const override { return "Adagrad"; }
  const AdagradOptions& options() const { return options_; }
  nlohmann::json get_config() const override;

 protected:
  std::size_t slot_count() const override { return 1; }
  std::vector<std::string> update_slot_names() const override { return {"accumulator"}; }
  double slot_initial_value(std::size_t) const override { return options_.initial_accumulator_value; }
  void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots) override;

 private:
  AdagradOptions options_;
};

struct AdamaxOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  KILN_OPTIMIZER_COMMON_OPTIONS(std::nullopt)
};

// Keras's Adamax (Adam with the infinity norm): m += (1 - beta_1)(g - m);
// u = max(beta_2 u, |g|); p -= lr m / ((1 - beta_1^t)(u + epsilon)).
// (torch.optim.Adamax adds epsilon to |g| inside the max.)
class Adamax : public Optimizer {
 public:
  explicit Adamax(LearningRate learning_rate = 0.001, double beta_1 = 0.9, double beta_2 = 0.999, double epsilon = 1e-7)
      : Adamax(AdamaxOptions{
            .learning_rate = std::move(learning_rate), .beta_1 = beta_1, .beta_2 = beta_2, .epsilon = epsilon}) {}
  explicit Adamax(AdamaxOptions options);
  std::string name() const override { return "Adamax"; }
  const AdamaxOptions& options() const { return options_; }
  nlohmann::json get_config() const override;

 protected:
  std::size_t slot_count() const override { return 2; }
  std::vector<std::string> update_slot_names() const override { return {"m", "u"}; }
  void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots) override;

 private:
  AdamaxOptions options_;
};

struct LionOptions {
  LearningRate learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.99;
  KILN_OPTIMIZER_COMMON_OPTIONS(std::nullopt)
};

// Keras's Lion: p -= lr sign(beta_1 m + (1 - beta_1) g); then m = beta_2 m + (1 - beta_2) g.
class Lion : public Optimizer {
 public:
  explicit Lion(LearningRate learning_rate = 0.001, double beta_1 = 0.9, double beta_2 = 0.99)
      : Lion(LionOptions{.learning_rate = std::move(learning_rate), .beta_1 = beta_1, .beta_2 = beta_2}) {}
  explicit Lion(LionOptions options);
  std::string name() const override { return "Lion"; }
  const LionOptions& options() const { return options_; }
  nlohmann::json get_config() const override;

 protected:
  std::size_t slot_count() const override { return 1; }
  std::vector<std::string> update_slot_names() const override { return {"momentum"}; }
  void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots) override;

 private:
  LionOptions options_;
};

struct RMSpropOptions {
  LearningRate learning_rate = 0.001;
  double rho = 0.9;
  double momentum = 0.0;
  double epsilon = 1e-7;
  bool centered = false;
  KILN_OPTIMIZER_COMMON_OPTIONS(std::nullopt)
};

// Keras's RMSprop: v = rho v + (1 - rho) g^2 and, when centered, also the mean
// gradient a = rho a + (1 - rho) g, then
//   increment = lr g / sqrt(v - a^2 + epsilon)     (a = 0 when not centered)
// and p -= increment, or with momentum: m = momentum m + increment; p -= m.
// Epsilon is inside the square root (torch.optim.RMSprop adds it outside).
class RMSprop : public Optimizer {
 public:
  explicit RMSprop(LearningRate learning_rate = 0.001)
      : RMSprop(RMSpropOptions{.learning_rate = std::move(learning_rate)}) {}
  explicit RMSprop(RMSpropOptions options);
  std::string name() const override { return "RMSprop"; }
  const RMSpropOptions& options() const { return options_; }
  nlohmann::json get_config() const override;

 protected:
  std::size_t slot_count() const override { return update_slot_names().size(); }
  // "rms" (v), then "momentum" when momentum > 0, then "average_gradient" when centered.
  std::vector<std::string> update_slot_names() const override;
  void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots) override;

 private:
  RMSpropOptions options_;
};

// "sgd", "adam", "adamw", "nadam", "adagrad", "adamax", "lion", "rmsprop" with default settings.
std::shared_ptr<Optimizer> get(const std::string& name);
// Rebuilds an optimizer from name() ("Adam") and get_config(); an Error naming what does not fit.
std::shared_ptr<Optimizer> from_config(const std::string& name, const nlohmann::json& config);

}  // namespace kiln::optim
