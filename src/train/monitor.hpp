// A monitored quantity ("val_loss", "val_accuracy") and which way is better,
// shared by ModelCheckpoint, EarlyStopping and ReduceLROnPlateau.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

#include "kiln/callbacks.hpp"

namespace kiln::train_detail {

class Monitor {
 public:
  // mode: "min", "max", or "auto" (max for accuracies, precision, recall, F1 and AUC; else min).
  Monitor(std::string who, std::string key, const std::string& mode);
  const std::string& key() const { return key_; }
  bool maximize() const { return maximize_; }
  // The worst possible value: anything real improves on it.
  double worst() const;
  // Whether `current` beats `reference` by more than `min_delta` (>= 0).
  bool improves(double current, double reference, double min_delta = 0.0) const;
  // The monitored value in `logs`; an Error listing the keys there when it is absent.
  double value(const Logs& logs) const;

 private:
  std::string who_, key_;
  bool maximize_;
};

// An integer field of a saved callback state; an Error (naming `who`) when it is absent,
// not an integer, or outside [-2^31, 2^31).
int state_int(const nlohmann::json& values, const char* key, const std::string& who);
// A number field that may be null (JSON has no infinity: a best of +-inf is saved as null).
double state_number_or(const nlohmann::json& values, const char* key, double fallback);

}  // namespace kiln::train_detail
