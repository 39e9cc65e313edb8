// TrainingState: how far a fit() has got, and everything beyond the weights and
// the optimizer that makes its continuation identical — what a checkpoint keeps
// so that `fit(..., {.resume = state})` after a crash ends with the very weights
// an uninterrupted run would have.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kiln/model.hpp"
#include "kiln/random.hpp"
#include "kiln/tensor.hpp"

namespace kiln {

// A callback's state (see Callback::get_state): small values as JSON, plus any
// tensors it keeps (EarlyStopping's best weights).
struct CallbackState {
  nlohmann::json values;
  std::vector<std::pair<std::string, Tensor>> tensors;
};

struct TrainingState {
  int epochs_done = 0;       // complete epochs: a resumed fit() starts at this (0-based) epoch
  bool stopped = false;      // a callback ended the run (early stopping): resuming has nothing to do
  Generator::State shuffle;  // the generator fit() shuffles with, as it is before the next epoch
  History history;           // every epoch so far
  // One entry per FitOptions::callbacks entry, in order; nullopt for a callback without state.
  std::vector<std::optional<CallbackState>> callbacks;
};

// JSON forms for checkpoint files (the tensors of callback states are kept apart).
nlohmann::json to_json(const Generator::State& state);
Generator::State generator_state_from_json(const nlohmann::json& json);

}  // namespace kiln
