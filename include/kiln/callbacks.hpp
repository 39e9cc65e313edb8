// Callbacks: hooks into fit() (Keras's keras.callbacks.Callback).
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace kiln {

class Model;
using Logs = std::map<std::string, double>;

class Callback {
 public:
  virtual ~Callback() = default;
  virtual void on_train_begin(Model&) {}
  virtual void on_epoch_begin(Model&, int /*epoch*/) {}
  virtual void on_train_batch_end(Model&, std::int64_t /*step*/, const Logs&) {}
  // Logs hold the epoch's training metrics and, with validation, "val_*".
  virtual void on_epoch_end(Model&, int /*epoch*/, const Logs&) {}
  virtual void on_train_end(Model&) {}
};

}  // namespace kiln
