#include "kiln/callbacks/early_stopping.hpp"

#include <iostream>

#include "kiln/error.hpp"
#include "kiln/model.hpp"
#include "kiln/training_state.hpp"
#include "train/monitor.hpp"

namespace kiln::callbacks {
namespace {

// Every weight of the model (trainable or not), in layer order.
std::vector<Tensor> all_weights(const Model& model) {
  std::vector<Tensor> out;
  for (const auto& layer : model.layers()) {
    for (const auto& w : layer->weights()) out.push_back(w.value);
  }
  return out;
}

}  // namespace

EarlyStopping::EarlyStopping(EarlyStoppingOptions options) : options_(std::move(options)) {
  if (options_.patience < 0) throw Error("EarlyStopping: patience must be non-negative");
  if (!(options_.min_delta >= 0)) throw Error("EarlyStopping: min_delta must be non-negative");
  const train_detail::Monitor monitor("EarlyStopping", options_.monitor, options_.mode);
  maximize_ = monitor.maximize();
  best_ = monitor.worst();
}

void EarlyStopping::on_train_begin(Model&) {
  wait_ = 0;
  stopped_epoch_ = -1;
  best_epoch_ = 0;
  best_ = train_detail::Monitor("EarlyStopping", options_.monitor, options_.mode).worst();
  best_weights_.clear();
}

void EarlyStopping::on_epoch_end(Model& model, int epoch, const Logs& logs) {
  if (epoch < options_.start_from_epoch) return;
  const train_detail::Monitor monitor("EarlyStopping", options_.monitor, options_.mode);
  const double current = monitor.value(logs);
  if (options_.restore_best_weights && best_weights_.empty()) {
    for (const Tensor& w : all_weights(model)) best_weights_.push_back(w.clone());
  }
  ++wait_;
  if (monitor.improves(current, best_, options_.min_delta)) {
    best_ = current;
    best_epoch_ = epoch;
    if (options_.restore_best_weights) {
      best_weights_.clear();
      for (const Tensor& w : all_weights(model)) best_weights_.push_back(w.clone());
    }
    // Improving on the best so far is not enough while the baseline is unbeaten.
    if (!options_.baseline || monitor.improves(current, *options_.baseline, options_.min_delta)) wait_ = 0;
    return;
  }
  if (wait_ >= options_.patience && epoch > 0) {
    stopped_epoch_ = epoch;
    model.stop_training = true;
    if (options_.restore_best_weights && !best_weights_.empty()) {
      if (options_.verbose) std::cout << "Restoring the weights of the best epoch: " << best_epoch_ + 1 << "\n";
      const auto weights = all_weights(model);
      for (std::size_t i = 0; i < weights.size() && i < best_weights_.size(); ++i) {
        Tensor dst = weights[i];
        dst.copy_(best_weights_[i]);
      }
    }
  }
}

void EarlyStopping::on_train_end(Model&) {
  if (stopped_epoch_ >= 0 && options_.verbose) std::cout << "Epoch " << stopped_epoch_ + 1 << ": early stopping\n";
}

bool EarlyStopping::get_state(CallbackState& out) const {
  out.values = {{"kind", "EarlyStopping"},   {"wait", wait_}, {"stopped_epoch", stopped_epoch_},
                {"best_epoch", best_epoch_}, {"best", best_}, {"best_weights", best_weights_.size()}};
  for (std::size_t i = 0; i < best_weights_.size(); ++i)
    out.tensors.emplace_back("best_" + std::to_string(i), best_weights_[i]);
  return true;
}

void EarlyStopping::set_state(const CallbackState& state) {
  const auto& v = state.values;
  if (v.value("kind", "") != "EarlyStopping") throw Error("EarlyStopping: the saved state is another callback's");
  wait_ = train_detail::state_int(v, "wait", "EarlyStopping");
  stopped_epoch_ = train_detail::state_int(v, "stopped_epoch", "EarlyStopping");
  best_epoch_ = train_detail::state_int(v, "best_epoch", "EarlyStopping");
  best_ = train_detail::state_number_or(v, "best", best_);
  best_weights_.clear();
  for (const auto& [name, tensor] : state.tensors) best_weights_.push_back(tensor.clone());
  if (static_cast<int>(best_weights_.size()) != train_detail::state_int(v, "best_weights", "EarlyStopping")) {
    throw Error("EarlyStopping: the saved state lacks some of its best weights");
  }
}

}  // namespace kiln::callbacks
