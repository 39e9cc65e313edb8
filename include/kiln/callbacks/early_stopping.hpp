// EarlyStopping: ends fit() when a monitored value stops improving (Keras's
// keras.callbacks.EarlyStopping, with the same rules and defaults).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "kiln/callbacks.hpp"
#include "kiln/tensor.hpp"

namespace kiln::callbacks {

struct EarlyStoppingOptions {
  std::string monitor = "val_loss";
  double min_delta = 0.0;  // a change smaller than this is no improvement
  int patience = 0;        // epochs without improvement before stopping
  std::string mode = "auto";
  // Training goes on while the value has not beaten this, however long it takes.
  std::optional<double> baseline;
  // On stopping, put back the weights of the best epoch.
  bool restore_best_weights = false;
  int start_from_epoch = 0;  // epochs to wait before watching at all
  int verbose = 0;
};

class EarlyStopping : public Callback {
 public:
  explicit EarlyStopping(EarlyStoppingOptions options = {});
  void on_train_begin(Model& model) override;
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override;
  void on_train_end(Model& model) override;
  bool get_state(CallbackState& out) const override;
  void set_state(const CallbackState& state) override;

  // The epoch (0-based) training stopped after, or -1.
  int stopped_epoch() const { return stopped_epoch_; }
  int best_epoch() const { return best_epoch_; }
  double best() const { return best_; }

 private:
  EarlyStoppingOptions options_;
  bool maximize_;
  int wait_ = 0, stopped_epoch_ = -1, best_epoch_ = 0;
  double best_;
  std::vector<Tensor> best_weights_;
};

}  // namespace kiln::callbacks
