// CSVLogger: one row per epoch (epoch, then every log value in name order), as
// Keras's keras.callbacks.CSVLogger writes it. The whole file is rewritten
// atomically at each epoch, so it is never half a row, and a resumed run
// continues the rows of the checkpoint it resumes from (no epoch twice).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "kiln/callbacks.hpp"

namespace kiln::callbacks {

class CSVLogger : public Callback {
 public:
  // append: keep what the file already holds and add rows after it.
  explicit CSVLogger(std::filesystem::path filename, char separator = ',', bool append = false);
  void on_train_begin(Model& model) override;
  void on_epoch_end(Model& model, int epoch, const Logs& logs) override;
  bool get_state(CallbackState& out) const override;
  void set_state(const CallbackState& state) override;

  const std::string& text() const { return text_; }

 private:
  std::filesystem::path filename_;
  char separator_;
  bool append_;
  std::vector<std::string> keys_;
  std::string text_;
};

}  // namespace kiln::callbacks
