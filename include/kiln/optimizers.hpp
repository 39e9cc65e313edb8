// Optimizers with Keras's update rules and defaults.
//
//   loss.backward();
//   optimizer.apply_gradients(params);          // uses each param's grad(), then clears it
// or, in a custom training step (Keras's zip style):
//   auto grads = kiln::gradients(loss, params);
//   optimizer.apply_gradients(grads, params);   // params[i] updated with grads[i]
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "kiln/tensor.hpp"

namespace kiln::optim {

class Optimizer {
 public:
  explicit Optimizer(double learning_rate);
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

  double learning_rate() const { return learning_rate_; }
  void set_learning_rate(double lr);
  std::int64_t iterations() const { return iterations_; }  // steps taken

  // Per-parameter state (moments, velocities), exposed for checkpoints.
  struct Slots {
    Tensor param;                // kept so the key below stays valid
    std::vector<Tensor> values;  // e.g. Adam: {m, v}
  };
  const std::unordered_map<const void*, Slots>& slots() const { return slots_; }
  // What each slot holds, for file names: Adam {"m", "v"}, SGD with momentum {"momentum"}.
  virtual std::vector<std::string> slot_names() const;

  // --- saving and restoring (model files, checkpoints) ---
  // The settings that rebuild this optimizer (Keras's get_config): learning_rate, beta_1, ...
  virtual nlohmann::json get_config() const;
  // Restores a saved state: the step count and one parameter's slots (shapes must match it).
  void set_iterations(std::int64_t iterations);
  void set_slots(const Tensor& param, std::vector<Tensor> values);

 protected:
  // Called once per step before the updates (to precompute step-size factors).
  virtual void begin_step() {}
  virtual std::size_t slot_count() const = 0;
  virtual void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots) = 0;

 private:
  // One step: the pairs whose gradient is defined are updated.
  void step(const std::vector<Tensor>& grads, const std::vector<Tensor>& params);

  double learning_rate_;
  std::int64_t iterations_ = 0;
  std::unordered_map<const void*, Slots> slots_;
};

struct SGDOptions {
  double learning_rate = 0.01;
  double momentum = 0.0;
  bool nesterov = false;
};

class SGD : public Optimizer {
 public:
  // Keras's positional order: SGD(0.1, 0.9) is learning rate 0.1 with momentum 0.9.
  explicit SGD(double learning_rate = 0.01, double momentum = 0.0, bool nesterov = false)
      : SGD(SGDOptions{.learning_rate = learning_rate, .momentum = momentum, .nesterov = nesterov}) {}
  explicit SGD(SGDOptions options);
  std::string name() const override { return "SGD"; }
  const SGDOptions& options() const { return options_; }
  std::vector<std::string> slot_names() const override { return {"momentum"}; }
  nlohmann::json get_config() const override;

 protected:
  std::size_t slot_count() const override { return options_.momentum > 0 ? 1 : 0; }
  void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots) override;

 private:
  SGDOptions options_;
};

struct AdamOptions {
  double learning_rate = 0.001;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
};

// Keras's form: epsilon is added to sqrt(v) after the bias correction is
// folded into the step size ("epsilon hat" in the Adam paper).
class Adam : public Optimizer {
 public:
  // Keras's positional order: Adam(learning_rate, beta_1, beta_2, epsilon).
  explicit Adam(double learning_rate = 0.001, double beta_1 = 0.9, double beta_2 = 0.999, double epsilon = 1e-7)
      : Adam(AdamOptions{.learning_rate = learning_rate, .beta_1 = beta_1, .beta_2 = beta_2, .epsilon = epsilon}) {}
  explicit Adam(AdamOptions options);
  std::string name() const override { return "Adam"; }
  const AdamOptions& options() const { return options_; }
  std::vector<std::string> slot_names() const override { return {"m", "v"}; }
  nlohmann::json get_config() const override;

 protected:
  void begin_step() override;
  std::size_t slot_count() const override { return 2; }
  void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots) override;

 private:
  AdamOptions options_;
  double step_size_ = 0.0;
};

struct RMSpropOptions {
  double learning_rate = 0.001;
  double rho = 0.9;
  double momentum = 0.0;
  double epsilon = 1e-7;
  bool centered = false;
};

// Keras's RMSprop: v = rho v + (1 - rho) g^2 and, when centered, also the mean
// gradient a = rho a + (1 - rho) g, then
//   increment = lr g / sqrt(v - a^2 + epsilon)     (a = 0 when not centered)
// and p -= increment, or with momentum: m = momentum m + increment; p -= m.
// Epsilon is inside the square root (torch.optim.RMSprop adds it outside).
class RMSprop : public Optimizer {
 public:
  explicit RMSprop(double learning_rate = 0.001) : RMSprop(RMSpropOptions{.learning_rate = learning_rate}) {}
  explicit RMSprop(RMSpropOptions options);
  std::string name() const override { return "RMSprop"; }
  const RMSpropOptions& options() const { return options_; }
  // "rms" (v), then "momentum" when momentum > 0, then "average_gradient" when centered.
  std::vector<std::string> slot_names() const override;
  nlohmann::json get_config() const override;

 protected:
  std::size_t slot_count() const override { return slot_names().size(); }
  void update(Tensor& param, const Tensor& grad, std::vector<Tensor>& slots) override;

 private:
  RMSpropOptions options_;
};

// "sgd", "adam", "rmsprop" with default settings.
std::shared_ptr<Optimizer> get(const std::string& name);
// Rebuilds an optimizer from name() ("Adam") and get_config(); an Error naming what does not fit.
std::shared_ptr<Optimizer> from_config(const std::string& name, const nlohmann::json& config);

}  // namespace kiln::optim
