#include <algorithm>
#include <cmath>
#include <iostream>

#include "kiln/callbacks/learning_rate.hpp"
#include "kiln/error.hpp"
#include "kiln/model.hpp"
#include "kiln/training_state.hpp"
#include "train/monitor.hpp"

namespace kiln::callbacks {

namespace schedules {

Schedule step_decay(double initial, double factor, int every) {
  if (!(initial > 0) || !std::isfinite(initial)) throw Error("step_decay: the initial rate must be positive");
  if (!(factor > 0 && factor <= 1)) throw Error("step_decay: factor must be in (0, 1]");
  if (every < 1) throw Error("step_decay: every must be at least 1 epoch");
  return [=](int epoch, double) { return initial * std::pow(factor, std::floor(double(epoch) / double(every))); };
}

Schedule cosine_decay(double initial, int decay_epochs, double alpha) {
  if (!(initial > 0) || !std::isfinite(initial)) throw Error("cosine_decay: the initial rate must be positive");
  if (decay_epochs < 1) throw Error("cosine_decay: decay_epochs must be at least 1");
  if (!(alpha >= 0 && alpha <= 1)) throw Error("cosine_decay: alpha must be in [0, 1]");
  return [=](int epoch, double) {
    const double progress = double(std::min(epoch, decay_epochs)) / double(decay_epochs);
    return initial * ((1 - alpha) * 0.5 * (1 + std::cos(M_PI * progress)) + alpha);
  };
}

}  // namespace schedules

LearningRateScheduler::LearningRateScheduler(Schedule schedule, int verbose)
    : schedule_(std::move(schedule)), verbose_(verbose) {
  if (!schedule_) throw Error("LearningRateScheduler: the schedule is empty");
}

void LearningRateScheduler::on_epoch_begin(Model& model, int epoch) {
  auto& optimizer = model.optimizer();
  const double lr = schedule_(epoch, optimizer.learning_rate());
  if (!std::isfinite(lr) || lr < 0) {
    throw Error("LearningRateScheduler: the schedule gave " + std::to_string(lr) + " for epoch " +
                std::to_string(epoch + 1) + "; rates must be finite and non-negative");
  }
  optimizer.set_learning_rate(lr);
  if (verbose_) std::cout << "Epoch " << epoch + 1 << ": learning rate " << lr << "\n";
}

ReduceLROnPlateau::ReduceLROnPlateau(ReduceLROnPlateauOptions options) : options_(std::move(options)) {
  if (!(options_.factor > 0 && options_.factor < 1)) throw Error("ReduceLROnPlateau: factor must be in (0, 1)");
  if (options_.patience < 0 || options_.cooldown < 0)
    throw Error("ReduceLROnPlateau: patience and cooldown must be non-negative");
  const train_detail::Monitor monitor("ReduceLROnPlateau", options_.monitor, options_.mode);
  maximize_ = monitor.maximize();
  best_ = monitor.worst();
}

void ReduceLROnPlateau::on_train_begin(Model&) {
  best_ = train_detail::Monitor("ReduceLROnPlateau", options_.monitor, options_.mode).worst();
  wait_ = cooldown_counter_ = 0;
}

void ReduceLROnPlateau::on_epoch_end(Model& model, int epoch, const Logs& logs) {
  const train_detail::Monitor monitor("ReduceLROnPlateau", options_.monitor, options_.mode);
  const double current = monitor.value(logs);
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    wait_ = 0;
  }
  if (monitor.improves(current, best_, options_.min_delta)) {
    best_ = current;
    wait_ = 0;
  } else if (cooldown_counter_ == 0) {
    if (++wait_ >= options_.patience) {
      auto& optimizer = model.optimizer();
      const double old_lr = optimizer.learning_rate();
      if (old_lr > options_.min_lr) {
        const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
        optimizer.set_learning_rate(new_lr);
        if (options_.verbose) {
          std::cout << "Epoch " << epoch + 1 << ": ReduceLROnPlateau reducing the learning rate to " << new_lr << "\n";
        }
        cooldown_counter_ = options_.cooldown;
        wait_ = 0;
      }
    }
  }
}

bool ReduceLROnPlateau::get_state(CallbackState& out) const {
  out.values = {
      {"kind", "ReduceLROnPlateau"}, {"best", best_}, {"wait", wait_}, {"cooldown_counter", cooldown_counter_}};
  return true;
}

void ReduceLROnPlateau::set_state(const CallbackState& state) {
  const auto& v = state.values;
  if (v.value("kind", "") != "ReduceLROnPlateau")
    throw Error("ReduceLROnPlateau: the saved state is another callback's");
  best_ = train_detail::state_number_or(v, "best", best_);
  wait_ = train_detail::state_int(v, "wait", "ReduceLROnPlateau");
  cooldown_counter_ = train_detail::state_int(v, "cooldown_counter", "ReduceLROnPlateau");
}

}  // namespace kiln::callbacks
