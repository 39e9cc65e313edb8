#include "kiln/callbacks/model_checkpoint.hpp"

#include <cstdio>
#include <iostream>

#include "kiln/distribution.hpp"
#include "kiln/error.hpp"
#include "kiln/saving.hpp"
#include "kiln/training_state.hpp"
#include "train/monitor.hpp"

namespace kiln::callbacks {

std::string format_checkpoint_path(const std::string& pattern, int epoch, const Logs& logs) {
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '{') {
      out += pattern[i];
      continue;
    }
    const std::size_t close = pattern.find('}', i);
    if (close == std::string::npos) throw Error("ModelCheckpoint: unclosed '{' in \"" + pattern + "\"");
    const std::string field = pattern.substr(i + 1, close - i - 1);
    const std::size_t colon = field.find(':');
    const std::string key = field.substr(0, colon), spec = colon == std::string::npos ? "" : field.substr(colon + 1);
    // Only the specs a file name needs: [0][width]d for integers, .Nf for values.
    const auto is_digits = [](const std::string& s) {
      return !s.empty() && s.size() < 3 && s.find_first_not_of("0123456789") == std::string::npos;
    };
    char buf[64];
    if (key == "epoch") {
      std::string width = spec.empty() ? "" : spec.substr(0, spec.size() - 1);
      if (!spec.empty() && (spec.back() != 'd' || (!width.empty() && !is_digits(width)))) {
        throw Error("ModelCheckpoint: \"{" + field + "}\" in \"" + pattern +
                    "\": epoch takes a format like {epoch:02d}");
      }
      const int w = width.empty() ? 0 : std::stoi(width);
      if (!width.empty() && width[0] == '0') {
        std::snprintf(buf, sizeof buf, "%0*d", w, epoch + 1);
      } else {
        std::snprintf(buf, sizeof buf, "%*d", w, epoch + 1);
      }
    } else {
      const auto it = logs.find(key);
      if (it == logs.end())
        throw Error("ModelCheckpoint: \"{" + field + "}\" in \"" + pattern + "\" is not among the logs");
      const std::string digits =
          spec.size() > 2 && spec[0] == '.' && spec.back() == 'f' ? spec.substr(1, spec.size() - 2) : "";
      if (!spec.empty() && !is_digits(digits)) {
        throw Error("ModelCheckpoint: \"{" + field + "}\" in \"" + pattern +
                    "\": values take a format like {val_loss:.4f}");
      }
      if (digits.empty()) {
        std::snprintf(buf, sizeof buf, "%g", it->second);
      } else {
        std::snprintf(buf, sizeof buf, "%.*f", std::stoi(digits), it->second);
      }
    }
    out += buf;
    i = close;
  }
  return out;
}

ModelCheckpoint::ModelCheckpoint(std::filesystem::path filepath, ModelCheckpointOptions options)
    : filepath_(std::move(filepath)), options_(std::move(options)) {
  if (filepath_.empty()) throw Error("ModelCheckpoint: filepath is empty");
  const train_detail::Monitor monitor("ModelCheckpoint", options_.monitor, options_.mode);
  maximize_ = monitor.maximize();
  best_ = monitor.worst();
}

void ModelCheckpoint::on_train_begin(Model&) {
  best_ = train_detail::Monitor("ModelCheckpoint", options_.monitor, options_.mode).worst();
}

void ModelCheckpoint::after_epoch_end(Model& model, int epoch, const Logs& logs) {
  const train_detail::Monitor monitor("ModelCheckpoint", options_.monitor, options_.mode);
  // Data-parallel: every rank tracks the best (the logs are global), rank 0 alone writes and talks.
  const bool chief = distribution::is_chief(), talk = options_.verbose && chief;
  if (options_.save_best_only) {
    const double current = monitor.value(logs);
    if (!monitor.improves(current, best_)) {
      if (talk) {
        std::cout << "Epoch " << epoch + 1 << ": " << options_.monitor << " did not improve from " << best_ << "\n";
      }
      return;
    }
    if (talk) {
      std::cout << "Epoch " << epoch + 1 << ": " << options_.monitor << " improved from " << best_ << " to " << current
                << "\n";
    }
    best_ = current;
  }
  if (!chief) return;
  const std::filesystem::path path = format_checkpoint_path(filepath_.string(), epoch, logs);
  if (options_.save_weights_only) {
    model.save_weights(path);
  } else {
    save_checkpoint(model, path);
  }
  last_saved_ = path;
  if (talk) std::cout << "Epoch " << epoch + 1 << ": saved " << path.string() << "\n";
}

bool ModelCheckpoint::get_state(CallbackState& out) const {
  out.values = {{"kind", "ModelCheckpoint"}, {"best", best_}};
  return true;
}

void ModelCheckpoint::set_state(const CallbackState& state) {
  if (state.values.value("kind", "") != "ModelCheckpoint")
    throw Error("ModelCheckpoint: the saved state is another callback's");
  // A best of +-inf (nothing saved yet) is written by JSON as null.
  best_ = train_detail::state_number_or(state.values, "best", best_);
}

}  // namespace kiln::callbacks
