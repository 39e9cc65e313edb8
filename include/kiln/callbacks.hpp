// Callbacks: hooks into fit() (Keras's keras.callbacks.Callback).
#pragma once
#include <cstdint>
#include <string>

#include "kiln/logs.hpp"

namespace kiln {

class Model;
struct CallbackState;  // kiln/training_state.hpp

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(Model&) {}
  virtual void on_epoch_begin(Model&, int /*epoch*/) {}
  virtual void on_train_batch_end(Model&, std::int64_t /*step*/, const Logs&) {}
  // Logs hold the epoch's training metrics and, with validation, "val_*".
  virtual void on_epoch_end(Model&, int /*epoch*/, const Logs&) {}
  // After every callback's on_epoch_end, when the epoch's state is final (learning-rate
  // changes, early-stopping counters) and Model::training_state() includes it:
  // checkpoints are written here.
  virtual void after_epoch_end(Model&, int /*epoch*/, const Logs&) {}
  virtual void on_train_end(Model&) {}

  // What a resumed run needs to carry on exactly (counters, best values, rows logged):
  // false when there is nothing. set_state restores it, after on_train_begin.
  virtual bool get_state(CallbackState& /*out*/) const { return false; }
  virtual void set_state(const CallbackState& /*state*/) {}
};

}  // namespace kiln
