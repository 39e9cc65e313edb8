// Learning-rate schedules, applied at each epoch's start (Keras's
// LearningRateScheduler), and ReduceLROnPlateau, which lowers the rate when a
// monitored value stops improving.
//
//   .callbacks = {std::make_shared<LearningRateScheduler>(schedules::cosine_decay(1e-3, 10))}
#pragma once
#include <functional>
#include <string>

#include "kiln/callbacks.hpp"

namespace kiln::callbacks {

// epoch (0-based), current rate -> rate for that epoch.
using Schedule = std::function<double(int epoch, double learning_rate)>;

namespace schedules {
// initial * factor^floor(epoch / every): e.g. halve every 5 epochs.
Schedule step_decay(double initial, double factor, int every);
// Keras's CosineDecay by epoch: initial * ((1 - alpha) * (1 + cos(pi * min(epoch, decay_epochs) / decay_epochs)) / 2 +
// alpha).
Schedule cosine_decay(double initial, int decay_epochs, double alpha = 0.0);
}  // namespace schedules

class LearningRateScheduler : public Callback {
 public:
  explicit LearningRateScheduler(Schedule schedule, int verbose = 0);
  void on_epoch_begin(Model& model, int epoch) override;

 private:
  Schedule schedule_;
  int verbose_;
};

struct ReduceLROnPlateauOptions {
  std::string monitor = "val_loss";
  double factor = 0.1;  // new rate = rate * factor
  int patience = 10;    // epochs without improvement before reducing
  std::string mode = "auto";
  double min_delta = 1e-4;
  int cooldown = 0;  // epochs to wait after a reduction before counting again
  double min_lr = 0.0;
  int verbose = 0;
};

class ReduceLROnPlateau : public Callback {
 public:
  explicit ReduceLROnPlateau(ReduceLROnPlateauOptions options = {});
  void on_train_begin(Model& model) override;
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override;
  bool get_state(CallbackState& out) const override;
  void set_state(const CallbackState& state) override;

 private:
  ReduceLROnPlateauOptions options_;
  bool maximize_;
  double best_;
  int wait_ = 0, cooldown_counter_ = 0;
};

}  // namespace kiln::callbacks
