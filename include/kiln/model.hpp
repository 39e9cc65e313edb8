// Model: compile / fit / evaluate / predict, as in Keras.
//
// Three ways to make one, all sharing compile/fit/evaluate/predict:
//   * Sequential (kiln/sequential.hpp): a stack of layers;
//   * functional: kiln::Model(inputs, outputs) from symbolic tensors (kiln/symbolic.hpp),
//     with several inputs or outputs, shared layers and nested models;
//   * a subclass that overrides call() (the forward pass).
// fit() runs train_step() on each batch, which a subclass may override for
// custom training (GANs) and still get progress bars, history and callbacks:
// fit shows, and records in the History, the epoch's running mean of every
// value train_step returns.
#pragma once
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <map>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kiln/callbacks.hpp"
#include "kiln/compile_arguments.hpp"
#include "kiln/data/dataset.hpp"
#include "kiln/data/pipeline.hpp"
#include "kiln/layers/layer.hpp"
#include "kiln/losses.hpp"
#include "kiln/metrics.hpp"
#include "kiln/optimizers.hpp"
#include "kiln/symbolic.hpp"
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
  // Data to score after each epoch: an in-memory Dataset or any Pipeline (batched by batch_size
  // unless it is batched already).
  std::optional<data::Pipeline> validation_data;
  bool shuffle = true;
  // Seeds the shuffling; by default drawn from kiln's default generator.
  std::optional<std::uint64_t> seed;
  std::vector<std::shared_ptr<Callback>> callbacks;
  int initial_epoch = 0;
  // Keras's sample_weight: one finite, non-negative weight per training sample ([n] or [n, 1]),
  // scaling its loss as sum_i(w_i l_i) / batch_size and the compile()'s weighted_metrics. For
  // in-memory data (a validation_split takes its share along); a pipeline's elements carry
  // their own (data::Batch::sample_weight).
  Tensor sample_weight;
  // Keras's class_weight: class -> weight, each training sample weighted by its label's class
  // (integer labels, [n] or [n, 1], or one-hot rows; classes not listed weigh 1). Not with
  // sample weights; validation data stays unweighted by it.
  std::map<std::int64_t, double> class_weight;
  // Batches per epoch. Unset: one pass over the data. Set: an epoch takes this many batches,
  // continuing the pass the previous epoch left off (so a pipeline that repeats forever
  // trains); when a finite input runs out mid-epoch, the epoch ends early with a warning, as
  // in Keras, and the next epoch starts a new pass.
  std::optional<std::int64_t> steps_per_epoch;
  // Validate after every validation_freq-th epoch (Keras's int form); the history then holds
  // the val_ values of those epochs only.
  int validation_freq = 1;
  // Continue a checkpointed run (kiln::load_checkpoint): its epochs, history, shuffling
  // and callback states carry on, so the run ends as if it had never stopped.
  std::shared_ptr<const TrainingState> resume;
};

struct EvaluateOptions {
  std::int64_t batch_size = 32;
  int verbose = -1;
  // One weight per sample (in-memory data), as FitOptions::sample_weight.
  Tensor sample_weight;
};

struct PredictOptions {
  std::int64_t batch_size = 32;
  int verbose = 0;
};

struct History {
  std::vector<int> epoch;
  std::map<std::string, std::vector<double>> history;  // "loss", "accuracy", "val_loss", ...
};

namespace functional {
struct Graph;
}

class Model : public std::enable_shared_from_this<Model> {
 public:
  // A model to subclass (override call() and layers()), named "model", "model_1", ...
  Model();
  explicit Model(std::string name);
  // A functional model from symbolic inputs to outputs (keras.Model(inputs, outputs)).
  // Throws an Error naming the layer when an output depends on an Input that is
  // not among `inputs`. Nameless: "model", "model_1", ...
  Model(std::vector<SymbolicTensor> inputs, std::vector<SymbolicTensor> outputs, std::string name = "");
  Model(const SymbolicTensor& input, const SymbolicTensor& output, std::string name = "");
  virtual ~Model() = default;

  const std::string& name() const { return name_; }
  void set_name(std::string name) { name_ = std::move(name); }

  // The forward pass on a batch. A functional model runs its graph (one input
  // and one output); a subclass overrides this.
  virtual Tensor call(const Tensor& x, bool training);
  // For several inputs or outputs: one tensor per input, one per output. The
  // default passes a single input to call().
  virtual std::vector<Tensor> call_multi(const std::vector<Tensor>& inputs, bool training);
  Tensor operator()(const Tensor& x, bool training = false) { return call(x, training); }
  std::vector<Tensor> operator()(const std::vector<Tensor>& inputs, bool training = false) {
    return call_multi(inputs, training);
  }
  // Nesting: this model as one node of a functional graph. The model must be
  // owned by a std::shared_ptr; its input shapes are checked at once, with an
  // Error naming it and the tensor it was called on.
  SymbolicTensor operator()(const SymbolicTensor& x);
  std::vector<SymbolicTensor> operator()(const std::vector<SymbolicTensor>& inputs);
  // Per-sample output shapes for inputs of these shapes (building the model if
  // needed); throws an Error naming the model or layer that cannot take them.
  // The default runs call_multi() on one zero sample.
  virtual std::vector<Shape> compute_output_shapes(const std::vector<Shape>& input_shapes);

  // Functional models: the symbolic inputs and outputs (empty otherwise).
  bool is_functional() const { return graph_ != nullptr; }
  const std::vector<SymbolicTensor>& inputs() const;
  const std::vector<SymbolicTensor>& outputs() const;

  // Every layer, once each, nested models' layers included. A subclass that
  // holds layers or models overrides this so that weights and freezing reach them.
  virtual std::vector<std::shared_ptr<layers::Layer>> layers() const;
  std::vector<Tensor> trainable_weights() const;
  // Keras's model.get_layer: by name (an Error lists the names there are), or by position in
  // layers() (negative from the end; a functional model's Inputs are not layers here).
  std::shared_ptr<layers::Layer> get_layer(const std::string& name) const;
  std::shared_ptr<layers::Layer> get_layer(std::int64_t index) const;
  // Every layer's get_weights(), in layers() order, as Keras's model.get_weights(); set_weights
  // takes the same list back, checking the count and each shape (naming layer and weight) before
  // anything changes.
  std::vector<Tensor> get_weights() const;
  void set_weights(const std::vector<Tensor>& values);
  std::int64_t count_params() const;
  // Freezing (Keras's model.trainable = False): every layer's weights stop
  // requiring gradients, so training the models it is part of leaves them alone.
  bool trainable() const { return trainable_; }
  void set_trainable(bool trainable);

  // Layer fusion, on by default: a Conv2D (linear or ReLU) whose output only a
  // MaxPooling2D reads runs together with it as one op, with the same outputs
  // and gradients and less memory traffic (layers of exactly these types: a
  // subclass keeps its own forward). Off runs every layer by itself, to compare
  // or to debug. A nested model follows its own setting.
  bool layer_fusion() const { return layer_fusion_; }
  void set_layer_fusion(bool enabled) { layer_fusion_ = enabled; }

  // --- compile ---------------------------------------------------------------
  // Each of optimizer, loss and metrics by name, as an object or as a shared_ptr, in any
  // mix (kiln/compile_arguments.hpp): compile(Adam(1e-3), "sparse_categorical_crossentropy",
  // {"accuracy"}). "accuracy" picks the accuracy that matches the loss, as in Keras.
  // weighted_metrics (Keras's) are updated with the samples' weights (sample_weight,
  // class_weight); `metrics` ignore them. A weighted metric named as an unweighted one is
  // reported as "weighted_<name>", as Keras does.
  void compile(const OptimizerArgument& optimizer, const LossArgument& loss, const MetricArguments& metrics = {},
               const MetricArguments& weighted_metrics = {});
  // A functional model of several outputs: a loss, a loss weight and metrics per output, by
  // output name or in output order (kiln/compile_arguments.hpp), as Keras's
  //   compile(optimizer, loss={"digit": ..., "size": ...}, loss_weights={...}, metrics={...}).
  // Training minimises sum_k loss_weight_k loss_k (plus regularization), reported as "loss";
  // each output's unweighted loss as "<output>_loss", its metrics as "<output>_<metric>".
  // An Error names any output a map does not know, or a list of the wrong length.
  void compile(const OptimizerArgument& optimizer, const CompileOutputs& outputs);
  // The outputs' names, as Keras's model.output_names: the layers (or Inputs) that produce them.
  std::vector<std::string> output_names() const;
  bool compiled() const { return optimizer_ && loss_; }
  optim::Optimizer& optimizer() const;
  const losses::Loss& loss() const;

  // --- training and inference ---------------------------------------------------
  History fit(const data::Dataset& train, const FitOptions& options = {});
  History fit(const Tensor& x, const Tensor& y, const FitOptions& options = {});
  // Several outputs: one target per output, in output order ({y1, y2}) or by output name
  // ({{"digit", y1}, {"size", y2}}). (The initializer_list form keeps {y1, y2} unambiguous.)
  History fit(const Tensor& x, const std::vector<Tensor>& targets, const FitOptions& options = {});
  History fit(const Tensor& x, std::initializer_list<Tensor> targets, const FitOptions& options = {});
  History fit(const Tensor& x, const std::map<std::string, Tensor>& targets, const FitOptions& options = {});
  // A streaming pipeline (kiln/data/pipeline.hpp): epoch e trains on its iteration e, while
  // its workers prepare the next batches. A pipeline of single examples is batched by
  // batch_size; a batched one as it is (batch_size then only sizes validation batches).
  // shuffle and seed do not apply: the pipeline shuffles itself.
  History fit(const data::Pipeline& train, const FitOptions& options = {});
  Logs evaluate(const data::Dataset& data, const EvaluateOptions& options = {});
  Logs evaluate(const data::Pipeline& data, const EvaluateOptions& options = {});
  Logs evaluate(const Tensor& x, const Tensor& y, const EvaluateOptions& options = {});
  Logs evaluate(const Tensor& x, const std::vector<Tensor>& targets, const EvaluateOptions& options = {});
  Logs evaluate(const Tensor& x, std::initializer_list<Tensor> targets, const EvaluateOptions& options = {});
  Logs evaluate(const Tensor& x, const std::map<std::string, Tensor>& targets, const EvaluateOptions& options = {});
  Tensor predict(const data::Dataset& data, const PredictOptions& options = {});
  Tensor predict(const data::Pipeline& data, const PredictOptions& options = {});
  Tensor predict(const Tensor& x, const PredictOptions& options = {});

  // One optimisation step on a batch; returns the batch's loss (the metrics
  // are updated in place). Override for custom training: return this batch's
  // values ({"d_loss", ...}); fit() averages each over the epoch. The default
  // needs compile() and targets; an override needs neither.
  virtual Logs train_step(const data::Batch& batch);
  // Loss and metric updates for one evaluation batch.
  virtual Logs test_step(const data::Batch& batch);

  // Set by a callback to end fit() after the current epoch.
  bool stop_training = false;

  // Keras's summary table: layer (type), output shape, parameter counts.
  virtual void summary(std::ostream& out) const;
  void summary() const;

  // --- saving (kiln/saving.hpp loads models back) -----------------------------
  // Architecture, weights and (once compiled) optimizer settings and state, in one
  // safetensors file written atomically, as Keras's model.save.
  void save(const std::filesystem::path& path) const;
  void save_weights(const std::filesystem::path& path) const;
  // Weights saved from a model of the same architecture (by save or save_weights). Every
  // name, dtype and shape is checked first; an Error lists each difference, and nothing changes.
  void load_weights(const std::filesystem::path& path);
  // The architecture, as Keras's {"class_name": ..., "config": ...}: what rebuilds the model
  // (no weights). A functional model's config lists its layers' configs and how they connect
  // ("inbound_nodes"); "Functional" and "Sequential" are rebuilt by model_from_config
  // (kiln/model_config.hpp). A subclass with its own call() cannot describe itself.
  virtual std::string class_name() const;
  virtual nlohmann::json get_config() const;
  // The names compile() was given for metrics, in order.
  std::vector<std::string> metric_names() const;
  // What fit() has done so far (epochs, history, shuffling, callback states), current at
  // each epoch's end: what a checkpoint needs to continue the run.
  const TrainingState& training_state() const;

 protected:
  std::vector<std::shared_ptr<metrics::Metric>>& compiled_metrics() { return metrics_; }
  // Every compiled metric's reported name and value: the metrics, then the weighted metrics.
  std::vector<std::pair<std::string, double>> metric_results() const;
  // Each compiled metric takes a batch: the weighted ones with the samples' weights.
  void update_metrics(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight);
  void reset_metrics();
  // Loss first, then the metrics in compile() order (as progress lines show them).
  std::vector<std::pair<std::string, double>> evaluate_in_order(const data::Pipeline& data,
                                                                const EvaluateOptions& options);
  void require_compiled(const char* what) const;
  // Whether compile() was given per-output losses (CompileOutputs).
  bool compiled_per_output() const { return !compiled_outputs_.empty(); }
  // The default train/test step of a model compiled per output: the weighted sum of the
  // outputs' losses, each output's loss and metrics.
  Logs outputs_step(const data::Batch& batch, bool training);
  // Targets by output name, in output order (an Error names a missing or unknown one).
  std::vector<Tensor> targets_in_output_order(const std::map<std::string, Tensor>& targets, const char* where) const;
  // The model's output for a batch: call(x), or call_multi(inputs) for a dataset of several
  // inputs (which must give one output).
  Tensor call_on(const data::Batch& batch, bool training);

 private:
  // The epoch loop of both fits: pass_batches(p) gives pass p over the data (pass e is epoch e
  // unless steps_per_epoch is set); `steps` is a pass's length (INFINITE_CARDINALITY: endless).
  // shuffle_gen (the in-memory fit's) is saved in and restored from the training state.
  History fit_loop(const std::function<std::function<std::optional<data::Batch>()>(int)>& pass_batches,
                   std::int64_t steps, const std::optional<data::Pipeline>& validation, const FitOptions& options,
                   Generator* shuffle_gen);

  std::string name_;
  bool trainable_ = true;
  bool layer_fusion_ = true;
  std::shared_ptr<const functional::Graph> graph_;
  std::shared_ptr<optim::Optimizer> optimizer_;
  std::shared_ptr<losses::Loss> loss_;
  std::vector<std::shared_ptr<metrics::Metric>> metrics_;
  std::vector<std::shared_ptr<metrics::Metric>> weighted_metrics_;
  std::vector<std::string> weighted_metric_names_;  // as reported ("weighted_accuracy" on a clash)
  // compile(optimizer, CompileOutputs): one entry per output, in output order.
  struct CompiledOutput {
    std::string name;
    std::shared_ptr<losses::Loss> loss;  // null: the output is not trained
    double loss_weight = 1.0;
    std::vector<std::shared_ptr<metrics::Metric>> metrics, weighted_metrics;
  };
  std::vector<CompiledOutput> compiled_outputs_;
  std::vector<std::string> output_metric_names_;  // as reported, metrics then weighted ones
  std::shared_ptr<TrainingState> training_state_;
};

}  // namespace kiln
