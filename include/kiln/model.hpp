// Model: compile / fit / evaluate / predict, as in Keras.
//
// A subclass supplies call() (the forward pass). fit() runs train_step() on
// each batch, which a subclass may override for custom training (GANs) and
// still get progress bars, history and callbacks.
#pragma once
#include <filesystem>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kiln/callbacks.hpp"
#include "kiln/data/dataset.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/losses.hpp"
#include "kiln/metrics.hpp"
#include "kiln/optimizers.hpp"
#include "kiln/tensor.hpp"

namespace kiln {

struct TrainingState;  // kiln/training_state.hpp

struct FitOptions {
  int epochs = 1;
  std::int64_t batch_size = 32;
  // 1: a progress bar on a terminal; 2: one line per epoch; 0: silent.
  // -1 ("auto"): 1 when standard output is a terminal, else 2.
  int verbose = -1;
  // Hold out this fraction of the training data (the last samples, before shuffling) for validation.
  double validation_split = 0.0;
  std::optional<data::Dataset> validation_data;
  bool shuffle = true;
  // Seeds the shuffling; by default drawn from kiln's default generator.
  std::optional<std::uint64_t> seed;
  std::vector<std::shared_ptr<Callback>> callbacks;
  int initial_epoch = 0;
  // Continue a checkpointed run (kiln::load_checkpoint): its epochs, history, shuffling
  // and callback states carry on, so the run ends as if it had never stopped.
  std::shared_ptr<const TrainingState> resume;
};

struct EvaluateOptions {
  std::int64_t batch_size = 32;
  int verbose = -1;
};

struct PredictOptions {
  std::int64_t batch_size = 32;
  int verbose = 0;
};

struct History {
  std::vector<int> epoch;
  std::map<std::string, std::vector<double>> history;  // "loss", "accuracy", "val_loss", ...
};

class Model {
 public:
  virtual ~Model() = default;

  // The forward pass on a batch.
  virtual Tensor call(const Tensor& x, bool training) = 0;
  Tensor operator()(const Tensor& x, bool training = false) { return call(x, training); }

  virtual std::vector<std::shared_ptr<layers::Layer>> layers() const = 0;
  std::vector<Tensor> trainable_weights() const;
  std::int64_t count_params() const;

  // --- compile ---------------------------------------------------------------
  void compile(std::shared_ptr<optim::Optimizer> optimizer, std::shared_ptr<losses::Loss> loss,
               const std::vector<std::string>& metrics = {});
  // compile(Adam(), SparseCategoricalCrossentropy(), {"accuracy"}) with objects by value
  template <typename O, typename L>
    requires std::derived_from<O, optim::Optimizer> && std::derived_from<L, losses::Loss>
  void compile(O optimizer, L loss, const std::vector<std::string>& metrics = {}) {
    compile(std::make_shared<O>(std::move(optimizer)), std::make_shared<L>(std::move(loss)), metrics);
  }
  // compile("adam", "sparse_categorical_crossentropy", {"accuracy"})
  void compile(const std::string& optimizer, const std::string& loss, const std::vector<std::string>& metrics = {});
  bool compiled() const { return optimizer_ && loss_; }
  optim::Optimizer& optimizer() const;
  const losses::Loss& loss() const;

  // --- training and inference ---------------------------------------------------
  History fit(const data::Dataset& train, const FitOptions& options = {});
  History fit(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  Logs evaluate(const data::Dataset& data, const EvaluateOptions& options = {});
  Logs evaluate(const Tensor& x, const Tensor& y, const EvaluateOptions& options = {});
  Tensor predict(const data::Dataset& data, const PredictOptions& options = {});
  Tensor predict(const Tensor& x, const PredictOptions& options = {});

  // One optimisation step on a batch; returns the batch's loss (the metrics
  // are updated in place). Override for custom training.
  virtual Logs train_step(const data::Batch& batch);
  // Loss and metric updates for one evaluation batch.
  virtual Logs test_step(const data::Batch& batch);

  // Set by a callback to end fit() after the current epoch.
  bool stop_training = false;

  // Keras's summary table: layer (type), output shape, parameter counts.
  virtual void summary(std::ostream& out) const = 0;
  void summary() const;

  // --- saving (kiln/saving.hpp loads models back) -----------------------------
  // Architecture, weights and (once compiled) optimizer settings and state, in one
  // safetensors file written atomically, as Keras's model.save.
  void save(const std::filesystem::path& path) const;
  void save_weights(const std::filesystem::path& path) const;
  // Weights saved from a model of the same architecture (by save or save_weights). Every
  // name, dtype and shape is checked first; an Error lists each difference, and nothing changes.
  void load_weights(const std::filesystem::path& path);
  // The architecture, as Keras's {"class_name": ..., "config": ...}. A model type that can be
  // saved overrides both and has an entry in model_from_config (src/model/registry.cpp).
  virtual std::string class_name() const { return "Model"; }
  virtual nlohmann::json get_config() const;
  // The names compile() was given for metrics, in order.
  std::vector<std::string> metric_names() const;
  // What fit() has done so far (epochs, history, shuffling, callback states), current at
  // each epoch's end: what a checkpoint needs to continue the run.
  const TrainingState& training_state() const;

 protected:
  std::vector<std::shared_ptr<metrics::Metric>>& compiled_metrics() { return metrics_; }
  // Loss first, then the metrics in compile() order (as progress lines show them).
  std::vector<std::pair<std::string, double>> evaluate_in_order(const data::Dataset& data,
                                                                const EvaluateOptions& options);
  void require_compiled(const char* what) const;

 private:
  std::shared_ptr<optim::Optimizer> optimizer_;
  std::shared_ptr<losses::Loss> loss_;
  std::vector<std::shared_ptr<metrics::Metric>> metrics_;
  std::shared_ptr<TrainingState> training_state_;
};

}  // namespace kiln
