// ModelCheckpoint: saves the model every epoch, or only when a monitored value
// improves (Keras's keras.callbacks.ModelCheckpoint).
//
//   model.fit(train, {.epochs = 10, .validation_data = test, .callbacks = {
//       std::make_shared<kiln::callbacks::ModelCheckpoint>("runs/last.safetensors"),
//       std::make_shared<kiln::callbacks::ModelCheckpoint>("runs/best.safetensors",
//           kiln::callbacks::ModelCheckpointOptions{.monitor = "val_accuracy", .save_best_only = true})}});
//
// A full save is a checkpoint (kiln::save_checkpoint): the model plus the run's
// TrainingState, so kiln::load_checkpoint and fit(..., {.resume = state}) continue
// it exactly; kiln::load_model reads it as a model too. Files are written atomically,
// so a process killed at any moment leaves the last complete one intact.
#pragma once
#include <filesystem>
#include <string>

#include "kiln/callbacks.hpp"

namespace kiln::callbacks {

struct ModelCheckpointOptions {
  std::string monitor = "val_loss";
  bool save_best_only = false;
  // Only the weights (Model::save_weights): smaller, but no architecture or run state.
  bool save_weights_only = false;
  std::string mode = "auto";  // "min", "max", or "auto" (max for accuracies)
  int verbose = 0;            // 1: a line for each save
};

class ModelCheckpoint : public Callback {
 public:
  // `filepath` may hold "{epoch}" or "{epoch:02d}" (1-based) and log values such as
  // "{val_loss:.4f}", filled in at each save (Keras's placeholders).
  explicit ModelCheckpoint(std::filesystem::path filepath, ModelCheckpointOptions options = {});
  void on_train_begin(Model& model) override;
  void after_epoch_end(Model& model, int epoch, const Logs& logs) override;
  bool get_state(CallbackState& out) const override;
  void set_state(const CallbackState& state) override;

  double best() const { return best_; }
  // The file written last, empty before the first save.
  const std::filesystem::path& last_saved() const { return last_saved_; }

 private:
  std::filesystem::path filepath_;
  ModelCheckpointOptions options_;
  bool maximize_;
  double best_;
  std::filesystem::path last_saved_;
};

// Fills Keras-style placeholders: {epoch}, {epoch:03d}, {val_loss}, {val_loss:.4f}.
// An Error names a placeholder that is malformed or not among the logs.
std::string format_checkpoint_path(const std::string& pattern, int epoch, const Logs& logs);

}  // namespace kiln::callbacks
