// Model's training members (compile, the fit/evaluate/predict loops, the default
// train and test steps): they sit with the losses, optimizers and callbacks they
// drive, so src/model/ describes a model and knows nothing of training.
#include "kiln/model.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>

#include "kiln/autograd.hpp"
#include "kiln/distribution.hpp"
#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "kiln/training_state.hpp"
#include "train/progress.hpp"

namespace kiln {
namespace {

using train_detail::ProgressBar;

void check_batch_size(std::int64_t batch_size, const char* where) {
  if (batch_size <= 0) {
    throw Error(std::string(where) + ": batch_size must be positive, got " + std::to_string(batch_size));
  }
}

std::int64_t steps_for(std::int64_t n, std::int64_t batch_size) { return (n + batch_size - 1) / batch_size; }

// Running mean weighted by batch size, as Keras averages the loss over an epoch.
struct WeightedMean {
  double sum = 0, weight = 0;
  void add(double v, double w) { sum += v * w, weight += w; }
  double value() const { return weight > 0 ? sum / weight : 0.0; }
};

// Keras's losses cast y_true to y_pred's dtype, so float64 targets train a float32 model.
Tensor targets_like(const Tensor& y, const Tensor& y_pred) {
  const bool cast = is_floating(y.dtype()) && is_floating(y_pred.dtype()) && y.dtype() != y_pred.dtype();
  return cast ? y.to(y_pred.dtype()) : y;
}

// Keras's compute_loss: the loss plus every layer's regularization penalties (kernel, bias,
// and activity from the call just made), so the reported loss includes them as in Keras.
Tensor with_regularization(Tensor loss, const Model& model) {
  for (const auto& layer : model.layers()) {
    for (const Tensor& penalty : layer->regularization_losses()) loss = loss + penalty;
  }
  return loss;
}

// Data-parallel fit and evaluate: this rank's rows of a global batch.
data::Batch rank_rows_of(const data::Batch& global, const distribution::Strategy& dist) {
  const auto [begin, end] = distribution::shard_rows(global.x.size(0), dist.rank(), dist.world_size());
  data::Batch local;
  local.x = global.x.slice(begin, end);
  if (global.y.defined()) local.y = global.y.slice(begin, end);
  for (const Tensor& input : global.inputs) local.inputs.push_back(input.slice(begin, end));
  for (const Tensor& target : global.targets) local.targets.push_back(target.slice(begin, end));
  if (global.sample_weight.defined()) local.sample_weight = global.sample_weight.slice(begin, end);
  return local;
}

// A global batch smaller than the world would leave a rank without samples: data-parallel
// fit skips it (docs/distributed.md, "The last batch").
bool too_small_to_share(std::int64_t rows, const distribution::Strategy* dist) {
  return dist && rows < dist->world_size();
}

// Data-parallel: the running means and metric results over every rank's samples. A metric's
// global result is its ranks' results weighted by their samples: exact for the means over samples
// (accuracy, top-k, MAE, MSE), a weighted mean of the ranks' values for precision, recall and F1.
void sum_over_ranks(distribution::Strategy& dist, std::vector<std::pair<std::string, double>>& shown,
                    const std::map<std::string, WeightedMean>& means, double samples) {
  std::vector<double> values{samples};
  for (const auto& [key, value] : shown) {
    const auto it = means.find(key);
    if (it != means.end()) {
      values.insert(values.end(), {it->second.sum, it->second.weight});
    } else {
      values.push_back(value * samples);
    }
  }
  dist.sum(values);
  std::size_t at = 1;
  for (auto& [key, value] : shown) {
    if (means.count(key)) {
      value = WeightedMean{values[at], values[at + 1]}.value();
      at += 2;
    } else {
      value = values[0] > 0 ? values[at] / values[0] : 0.0;
      at += 1;
    }
  }
}

// A model compiled with one loss trains one output on one target.
void check_one_target(const data::Batch& batch, const char* where) {
  if (!batch.targets.empty()) {
    throw Error(std::string(where) + ": the data has " + std::to_string(batch.targets.size()) +
                " targets but the model was compiled with one loss; compile it with a loss per output "
                "(CompileOutputs)");
  }
}

}  // namespace

void Model::compile(const OptimizerArgument& optimizer, const LossArgument& loss, const MetricArguments& metrics,
                    const MetricArguments& weighted_metrics) {
  if (!optimizer.is_name() && !optimizer.object()) throw Error("compile: optimizer is null");
  if (!loss.is_name() && !loss.object()) throw Error("compile: loss is null");
  // Resolved in full before anything changes, so a bad name leaves the model as it was.
  auto new_optimizer = optimizer.is_name() ? optim::get(optimizer.name()) : optimizer.object();
  auto new_loss = loss.is_name() ? losses::get(loss.name()) : loss.object();
  auto resolve = [&](const MetricArguments& arguments, const std::string& what) {
    std::vector<std::shared_ptr<metrics::Metric>> out;
    for (const auto& m : arguments.items()) {
      if (!m.is_name() && !m.object()) {
        throw Error("compile: " + what + " " + std::to_string(out.size() + 1) + " is null");
      }
      out.push_back(m.is_name() ? metrics::get(m.name(), new_loss->name()) : m.object());
    }
    return out;
  };
  auto new_metrics = resolve(metrics, "metric");
  auto new_weighted = resolve(weighted_metrics, "weighted metric");
  // Keras's CompileMetrics.result(): a weighted metric whose name is taken is "weighted_<name>",
  // then "weighted_<name>_1", ...
  std::map<std::string, int> taken;
  for (const auto& m : new_metrics) ++taken[m->name()];
  std::vector<std::string> weighted_names;
  for (const auto& m : new_weighted) {
    std::string name = m->name();
    if (taken.count(name)) {
      name = std::string("weighted_").append(m->name());  // not "..." + name: GCC 12's -Wrestrict misfires
      if (const int seen = taken[name]++) name.append("_").append(std::to_string(seen));
    } else {
      ++taken[name];
    }
    weighted_names.push_back(name);
  }
  optimizer_ = std::move(new_optimizer);
  loss_ = std::move(new_loss);
  metrics_ = std::move(new_metrics);
  weighted_metrics_ = std::move(new_weighted);
  weighted_metric_names_ = std::move(weighted_names);
  compiled_outputs_.clear();
  output_metric_names_.clear();
}

std::vector<std::pair<std::string, double>> Model::metric_results() const {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& m : metrics_) out.emplace_back(m->name(), m->result());
  for (std::size_t i = 0; i < weighted_metrics_.size(); ++i) {
    out.emplace_back(weighted_metric_names_[i], weighted_metrics_[i]->result());
  }
  // Per-output metrics: every output's metrics, then every output's weighted metrics.
  std::size_t k = 0;
  for (const auto& c : compiled_outputs_) {
    for (const auto& m : c.metrics) out.emplace_back(output_metric_names_[k++], m->result());
  }
  for (const auto& c : compiled_outputs_) {
    for (const auto& m : c.weighted_metrics) out.emplace_back(output_metric_names_[k++], m->result());
  }
  return out;
}

void Model::update_metrics(const Tensor& y_true, const Tensor& y_pred, const Tensor& sample_weight) {
  for (auto& m : metrics_) m->update(y_true, y_pred);
  for (auto& m : weighted_metrics_) m->update_weighted(y_true, y_pred, sample_weight);
}

void Model::reset_metrics() {
  for (auto& m : metrics_) m->reset();
  for (auto& m : weighted_metrics_) m->reset();
  for (auto& c : compiled_outputs_) {
    for (auto& m : c.metrics) m->reset();
    for (auto& m : c.weighted_metrics) m->reset();
  }
}

optim::Optimizer& Model::optimizer() const {
  require_compiled("optimizer");
  return *optimizer_;
}

const losses::Loss& Model::loss() const {
  require_compiled("loss");
  return *loss_;
}

void Model::require_compiled(const char* what) const {
  if (!compiled()) throw Error(std::string(what) + ": the model must be compiled first (call compile())");
}

const TrainingState& Model::training_state() const {
  static const TrainingState none;
  return training_state_ ? *training_state_ : none;
}

Tensor Model::call_on(const data::Batch& batch, bool training) {
  if (batch.inputs.empty()) return call(batch.x, training);
  const std::vector<Tensor> outputs = call_multi(batch.inputs, training);
  if (outputs.size() != 1) {
    throw Error("model '" + name() + "' has " + std::to_string(outputs.size()) +
                " outputs; compile it with a loss per output (CompileOutputs) to fit and evaluate it "
                "(predict gives one output: use call_multi for all)");
  }
  return outputs[0];
}

Logs Model::train_step(const data::Batch& batch) {
  require_compiled("fit");
  if (!batch.y.defined()) {
    throw Error("fit: the training data has no targets; pass them, or override train_step() to train without");
  }
  if (compiled_per_output()) return outputs_step(batch, true);
  check_one_target(batch, "fit");
  const Tensor y_pred = call_on(batch, true);
  const Tensor y = targets_like(batch.y, y_pred);
  const Tensor loss = with_regularization(loss_->weighted(y, y_pred, batch.sample_weight), *this);
  const double value = loss.item();
  if (!std::isfinite(value)) return {{"loss", value}};  // fit() reports it; weights stay as they were
  loss.backward();
  optimizer_->apply_gradients(trainable_weights());
  for (const auto& layer : layers()) layer->apply_constraints();
  update_metrics(y, y_pred.detach(), batch.sample_weight);
  return {{"loss", value}};
}

Logs Model::test_step(const data::Batch& batch) {
  if (compiled_per_output()) return outputs_step(batch, false);
  check_one_target(batch, "evaluate");
  NoGradGuard no_grad;
  const Tensor y_pred = call_on(batch, false);
  const Tensor y = targets_like(batch.y, y_pred);
  const double value = with_regularization(loss_->weighted(y, y_pred, batch.sample_weight), *this).item();
  update_metrics(y, y_pred, batch.sample_weight);
  return {{"loss", value}};
}

History Model::fit(const Tensor& x, const Tensor& y, const FitOptions& options) {
  return fit(data::Dataset(x, y), options);
}

namespace {

void check_fit_options(const FitOptions& options) {
  if (options.epochs < 0) throw Error("fit: epochs must be non-negative, got " + std::to_string(options.epochs));
  if (options.validation_freq < 1) {
    throw Error("fit: validation_freq must be at least 1, got " + std::to_string(options.validation_freq));
  }
  if (options.steps_per_epoch && *options.steps_per_epoch < 1) {
    throw Error("fit: steps_per_epoch must be positive, got " + std::to_string(*options.steps_per_epoch));
  }
  if (options.steps_per_epoch && options.resume) {
    throw Error("fit: resuming a run with steps_per_epoch is not supported (where its pass over the data stood is "
                "not saved); resume without steps_per_epoch");
  }
  for (const auto& [label, weight] : options.class_weight) {
    if (label < 0) throw Error("fit: class_weight has class " + std::to_string(label) + "; classes start at 0");
    if (!std::isfinite(weight) || weight < 0) {
      throw Error("fit: class_weight for class " + std::to_string(label) + " is " + std::to_string(weight) +
                  "; weights must be finite and non-negative");
    }
  }
  if (!options.class_weight.empty() && options.sample_weight.defined()) {
    throw Error("fit: give class_weight or sample_weight, not both");
  }
  if (!(options.validation_split >= 0.0 && options.validation_split < 1.0)) {
    throw Error("fit: validation_split must be in [0, 1), got " + std::to_string(options.validation_split));
  }
  if (options.validation_split > 0 && options.validation_data) {
    throw Error("fit: give validation_split or validation_data, not both");
  }
}

// Keras's class_weight_to_sample_weights: each sample weighs its class's weight (1 for classes
// not listed). Labels are integers ([n] or [n, 1], rounded) or one-hot rows (their argmax).
Tensor class_weight_sample_weights(const Tensor& y, const std::map<std::int64_t, double>& class_weight) {
  if (!y.defined()) throw Error("fit: class_weight needs targets to read the classes from");
  if (y.ndim() > 2) {
    throw Error("fit: class_weight needs one label per sample ([n] or [n, 1]) or one-hot rows ([n, classes]); "
                "the targets have shape " + shape_str(y.shape()));
  }
  const std::int64_t n = y.ndim() ? y.size(0) : 1;
  const bool one_hot = y.ndim() == 2 && y.size(1) != 1;
  const auto values = y.to_vector<double>();
  std::vector<double> weights(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    std::int64_t label = 0;
    if (one_hot) {
      const std::int64_t classes = y.size(1);
      const auto row = values.begin() + i * classes;
      label = std::max_element(row, row + classes) - row;
      if (const std::int64_t top = class_weight.rbegin()->first; top >= classes) {
        throw Error("fit: class_weight has class " + std::to_string(top) + " but the one-hot targets have " +
                    std::to_string(classes) + " classes (0 to " + std::to_string(classes - 1) + ")");
      }
    } else {
      label = std::llround(values[static_cast<std::size_t>(i)]);
      if (label < 0) {
        throw Error("fit: class_weight: sample " + std::to_string(i) + " of a batch has label " +
                    std::to_string(label) + ", which is not a class (classes start at 0)");
      }
    }
    const auto found = class_weight.find(label);
    weights[static_cast<std::size_t>(i)] = found == class_weight.end() ? 1.0 : found->second;
  }
  return Tensor::from_vector(weights);
}

// The batch fit trains on: class weights become its sample weights, as Keras's data adapters do.
data::Batch weigh_training_batch(data::Batch batch, const FitOptions& options) {
  if (options.class_weight.empty()) return batch;
  if (batch.sample_weight.defined()) {
    throw Error("fit: the training data has sample weights and class_weight was given; use one or the other");
  }
  if (!batch.targets.empty()) throw Error("fit: class_weight is only supported for models of one output, as in Keras");
  batch.sample_weight = class_weight_sample_weights(batch.y, options.class_weight);
  return batch;
}

// Keras's EpochIterator warning, when steps_per_epoch asks for more batches than a pass has left.
void warn_input_ran_out(int epoch, std::int64_t step, std::int64_t steps_per_epoch, int verbose) {
  if (verbose == 1) std::cout << "\n";
  std::cerr << "fit: warning: the input ran out of data after " << step << " of steps_per_epoch=" << steps_per_epoch
            << " steps in epoch " << epoch + 1
            << "; the epoch ends here and the next starts a new pass. Make sure the data can give at least "
               "steps_per_epoch * epochs batches (repeat() the pipeline).\n";
}

// Keras's _should_eval for an int validation_freq.
bool validates_after(int epoch, const FitOptions& options) { return (epoch + 1) % options.validation_freq == 0; }

// A pipeline of single examples is batched by batch_size (an in-memory dataset becomes one);
// a batched pipeline is taken as it is, as Keras takes a batched tf.data.Dataset.
data::Pipeline batched(const data::Pipeline& p, std::int64_t batch_size) {
  return p.batched() ? p : p.batch(batch_size);
}

}  // namespace

History Model::fit(const data::Dataset& all, const FitOptions& options) {
  // compile() and targets are checked by the default train_step: a custom one may need neither.
  check_batch_size(options.batch_size, "fit");
  check_fit_options(options);
  if (options.sample_weight.defined() && all.sample_weight().defined()) {
    throw Error("fit: the dataset has sample weights and sample_weight was given too; give them once");
  }
  const data::Dataset weighted = options.sample_weight.defined() ? all.with_sample_weight(options.sample_weight) : all;
  // Keras holds out the last samples, before any shuffling.
  data::Dataset train = weighted;
  std::optional<data::Pipeline> validation = options.validation_data;
  if (options.validation_split > 0) {
    const auto split_at = static_cast<std::int64_t>(double(all.size()) * (1.0 - options.validation_split));
    if (split_at == 0 || split_at == all.size()) {
      throw Error("fit: validation_split " + std::to_string(options.validation_split) + " of " +
                  std::to_string(all.size()) + " samples leaves an empty training or validation set");
    }
    train = weighted.subset(0, split_at);
    validation = data::Pipeline(weighted.subset(split_at, all.size()));
  }
  const std::int64_t n = train.size();
  if (n == 0) throw Error("fit: the training data is empty");
  // A resumed run takes the shuffling generator as it was, rather than drawing a seed.
  Generator shuffle_gen(options.seed ? *options.seed : options.resume ? 0 : default_generator().next_u64());
  // Every rank shuffles alike and takes its rows of each global batch, so the global order is the same
  // whatever the number of ranks.
  distribution::Strategy* dist = distribution::strategy_for(*this);
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  auto pass_batches = [&](int) -> std::function<std::optional<data::Batch>()> {
    std::iota(order.begin(), order.end(), 0);
    if (options.shuffle) {
      for (std::int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[shuffle_gen.below(std::uint64_t(i + 1))]);
    }
    return [&, begin = std::int64_t(0)]() mutable -> std::optional<data::Batch> {
      if (begin >= n) return std::nullopt;
      const std::int64_t end = std::min(n, begin + options.batch_size);
      if (too_small_to_share(end - begin, dist)) return std::nullopt;
      std::int64_t first = begin, last = end;
      if (dist) {
        const auto [b, e] = distribution::shard_rows(end - begin, dist->rank(), dist->world_size());
        first = begin + b, last = begin + e;
        dist->on_step_begin(last - first, end - begin);
      }
      data::Batch batch = train.gather(std::span(order).subspan(first, last - first));
      begin = end;
      return batch;
    };
  };
  return fit_loop(pass_batches, steps_for(n, options.batch_size), validation, options, &shuffle_gen);
}

History Model::fit(const data::Pipeline& pipeline, const FitOptions& options) {
  check_batch_size(options.batch_size, "fit");
  check_fit_options(options);
  if (options.validation_split > 0) {
    throw Error(
        "fit: validation_split needs data held in memory; split a pipeline with take()/skip() or "
        "image_dataset_from_directory's validation_split, and pass validation_data");
  }
  if (options.sample_weight.defined()) {
    throw Error("fit: sample_weight applies to in-memory data; a pipeline's elements carry their own "
                "(Batch::sample_weight)");
  }
  if (pipeline.cardinality() == data::INFINITE_CARDINALITY && !options.steps_per_epoch) {
    throw Error(
        "fit: the pipeline repeats forever, so an epoch would never end; give steps_per_epoch, or use "
        "repeat(count) or take(n)");
  }
  const data::Pipeline train = batched(pipeline, options.batch_size);
  if (train.cardinality() == 0) throw Error("fit: the training data is empty");
  // Pass p is the pipeline's iteration p (epoch e's without steps_per_epoch): its shuffle orders
  // and random draws depend on nothing else, so a run resumed at epoch e continues exactly.
  std::optional<data::Pipeline::Iterator> it;
  auto pass_batches = [&](int pass) -> std::function<std::optional<data::Batch>()> {
    it.reset();  // ends the previous pass's workers before starting this one's
    it.emplace(train.iterate(static_cast<std::uint64_t>(pass)));
    return [&]() -> std::optional<data::Batch> {
      std::optional<data::Batch> batch = it->next();
      distribution::Strategy* dist = distribution::strategy_for(*this);
      if (!batch || !dist) return batch;
      const std::int64_t global = batch->x.size(0);
      if (too_small_to_share(global, dist)) return std::nullopt;
      data::Batch local = rank_rows_of(*batch, *dist);
      dist->on_step_begin(local.x.size(0), global);
      return local;
    };
  };
  return fit_loop(pass_batches, train.cardinality(), options.validation_data, options, nullptr);
}

History Model::fit_loop(const std::function<std::function<std::optional<data::Batch>()>(int)>& pass_batches,
                        std::int64_t steps, const std::optional<data::Pipeline>& validation, const FitOptions& options,
                        Generator* shuffle_gen) {
  distribution::Strategy* dist = distribution::strategy_for(*this);
  // Data-parallel: rank 0 alone shows progress.
  const int verbose = distribution::is_chief() ? train_detail::resolve_verbosity(options.verbose) : 0;
  History history;
  int first_epoch = options.initial_epoch;
  stop_training = false;
  training_state_ = std::make_shared<TrainingState>();
  if (options.resume) {
    const TrainingState& r = *options.resume;
    if (r.callbacks.size() != options.callbacks.size()) {
      throw Error("fit: the checkpoint holds the state of " + std::to_string(r.callbacks.size()) +
                  " callbacks, but fit was given " + std::to_string(options.callbacks.size()) +
                  "; resume with the callbacks the run had");
    }
    *training_state_ = r;
    history = r.history;
    first_epoch = r.epochs_done;
    if (shuffle_gen) shuffle_gen->set_state(r.shuffle);
    stop_training = r.stopped;
  }
  if (dist) dist->on_fit_begin(*this);
  struct TrainingFlag {
    distribution::Strategy* dist;
    explicit TrainingFlag(distribution::Strategy* d) : dist(d) {
      if (dist) dist->training = true;
    }
    ~TrainingFlag() {
      if (dist) dist->training = false;
    }
  } training_flag(dist);
  for (auto& cb : options.callbacks) cb->on_train_begin(*this);
  if (options.resume) {
    for (std::size_t i = 0; i < options.callbacks.size(); ++i) {
      if (!options.resume->callbacks[i]) continue;
      try {
        options.callbacks[i]->set_state(*options.resume->callbacks[i]);
      } catch (const nlohmann::json::exception& e) {
        throw Error("fit: the saved state of callback " + std::to_string(i + 1) + " is malformed (" + e.what() + ")");
      }
    }
  }
  // With steps_per_epoch an epoch continues the pass the previous one left (Keras's EpochIterator).
  const std::optional<std::int64_t> per_epoch = options.steps_per_epoch;
  const std::int64_t epoch_steps = per_epoch ? *per_epoch : steps;
  std::function<std::optional<data::Batch>()> next_batch;
  int next_pass = first_epoch;
  std::int64_t pass_seen = 0;  // batches drawn from the current pass
  for (int epoch = first_epoch; epoch < options.epochs && !stop_training; ++epoch) {
    for (auto& cb : options.callbacks) cb->on_epoch_begin(*this, epoch);
    if (verbose) std::cout << "Epoch " << epoch + 1 << "/" << options.epochs << "\n" << std::flush;
    if (!per_epoch || !next_batch) {
      next_batch = pass_batches(per_epoch ? next_pass++ : epoch);
      pass_seen = 0;
    }
    reset_metrics();
    // Every value train_step returns, averaged over the epoch: "loss" first, then the rest by name.
    std::vector<std::string> keys;
    std::map<std::string, WeightedMean> means;
    ProgressBar bar(std::cout, epoch_steps, verbose);
    std::vector<std::pair<std::string, double>> shown;
    double epoch_samples = 0;
    for (std::int64_t step = 0; !per_epoch || step < *per_epoch; ++step) {
      // A pass of known length that is used up is not drawn from again (Keras checks the count).
      std::optional<data::Batch> batch;
      if (!per_epoch || steps == data::INFINITE_CARDINALITY || pass_seen < steps) batch = next_batch();
      if (!batch) {
        if (per_epoch) {
          warn_input_ran_out(epoch, step, *per_epoch, verbose);
          next_batch = nullptr;
        }
        break;
      }
      ++pass_seen;
      const double batch_size = double(batch->x.ndim() ? batch->x.size(0) : 1);
      epoch_samples += batch_size;
      const Logs logs = train_step(weigh_training_batch(*std::move(batch), options));
      for (const auto& [key, value] : logs) {
        if (!std::isfinite(value)) {
          if (verbose == 1) std::cout << "\n";
          throw Error("fit: the " + key + " became " + std::string(std::isnan(value) ? "nan" : "inf") +
                      " at epoch " + std::to_string(epoch + 1) + ", step " + std::to_string(step + 1) + " of " +
                      std::to_string(epoch_steps) +
                      "; training stopped. Lower the learning rate or check the data for nan/inf values.");
        }
        if (!means.count(key)) {
          keys.insert(key == "loss" ? keys.begin() : keys.end(), key);
        }
        means[key].add(value, batch_size);
      }
      shown.clear();
      for (const auto& key : keys) shown.emplace_back(key, means[key].value());
      for (auto& value : metric_results()) shown.push_back(std::move(value));
      for (auto& cb : options.callbacks) cb->on_train_batch_end(*this, step, Logs(shown.begin(), shown.end()));
      bar.update(std::min(step + 1, epoch_steps), shown);
    }
    if (dist) sum_over_ranks(*dist, shown, means, epoch_samples);
    // A pass of known length used up exactly at the epoch's end: the next epoch starts a new one.
    if (per_epoch && steps != data::INFINITE_CARDINALITY && pass_seen >= steps) next_batch = nullptr;
    Logs epoch_logs(shown.begin(), shown.end());
    if (validation && validates_after(epoch, options)) {
      // Keras's order: loss, metrics, val_loss, val_metrics.
      const auto val = evaluate_in_order(*validation, {.batch_size = options.batch_size, .verbose = 0});
      for (const auto& [k, v] : val) {
        epoch_logs.insert_or_assign("val_" + k, v);
        shown.emplace_back("val_" + k, v);
      }
    }
    bar.finish(shown);
    // The rate this epoch trained with (schedules change it between epochs); kept, not shown.
    // A custom train_step may use optimizers of its own and compile none.
    if (optimizer_) epoch_logs.insert_or_assign("learning_rate", optimizer_->learning_rate());
    history.epoch.push_back(epoch);
    for (const auto& [k, v] : epoch_logs) history.history[k].push_back(v);
    for (auto& cb : options.callbacks) cb->on_epoch_end(*this, epoch, epoch_logs);
    // The epoch is complete: record what continuing from here takes, then let checkpoints save it.
    TrainingState& state = *training_state_;
    state.epochs_done = epoch + 1;
    state.stopped = stop_training;
    if (shuffle_gen) state.shuffle = shuffle_gen->state();
    state.history = history;
    state.callbacks.clear();
    for (auto& cb : options.callbacks) {
      CallbackState cs;
      state.callbacks.push_back(cb->get_state(cs) ? std::optional<CallbackState>(std::move(cs)) : std::nullopt);
    }
    for (auto& cb : options.callbacks) cb->after_epoch_end(*this, epoch, epoch_logs);
  }
  // Keras swaps the weights' moving averages in (use_ema) before on_train_end.
  if (optimizer_ && options.epochs > 0) optimizer_->finalize_variable_values(trainable_weights());
  for (auto& cb : options.callbacks) cb->on_train_end(*this);
  return history;
}

Logs Model::evaluate(const Tensor& x, const Tensor& y, const EvaluateOptions& options) {
  return evaluate(data::Dataset(x, y), options);
}

Logs Model::evaluate(const data::Dataset& data, const EvaluateOptions& options) {
  if (!options.sample_weight.defined()) return evaluate(data::Pipeline(data), options);
  if (data.sample_weight().defined()) {
    throw Error("evaluate: the dataset has sample weights and sample_weight was given too; give them once");
  }
  EvaluateOptions rest = options;
  rest.sample_weight = Tensor();
  return evaluate(data::Pipeline(data.with_sample_weight(options.sample_weight)), rest);
}

Logs Model::evaluate(const data::Pipeline& data, const EvaluateOptions& options) {
  if (options.sample_weight.defined()) {
    throw Error("evaluate: sample_weight applies to in-memory data; a pipeline's elements carry their own "
                "(Batch::sample_weight)");
  }
  const auto values = evaluate_in_order(data, options);
  return Logs(values.begin(), values.end());
}

std::vector<std::pair<std::string, double>> Model::evaluate_in_order(const data::Pipeline& data,
                                                                     const EvaluateOptions& options) {
  require_compiled("evaluate");
  check_batch_size(options.batch_size, "evaluate");
  if (data.cardinality() == data::INFINITE_CARDINALITY) throw Error("evaluate: the pipeline repeats forever");
  const data::Pipeline batches = batched(data, options.batch_size);
  const int verbose = distribution::is_chief() ? train_detail::resolve_verbosity(options.verbose) : 0;
  const std::int64_t steps = batches.cardinality();
  reset_metrics();
  // Every value test_step returns, averaged by batch size: "loss" first, then the rest by name.
  std::vector<std::string> keys{"loss"};
  std::map<std::string, WeightedMean> means;
  ProgressBar bar(std::cout, steps, verbose);
  std::vector<std::pair<std::string, double>> shown;
  auto it = batches.iterate();
  std::int64_t step = 0;
  // Data-parallel: each rank scores its rows of every batch; the results are summed over ranks.
  distribution::Strategy* dist = distribution::strategy_for(*this);
  double samples = 0;
  while (const auto global_batch = it.next()) {
    if (!global_batch->y.defined()) throw Error("evaluate: the data has no targets");
    const data::Batch batch = dist ? rank_rows_of(*global_batch, *dist) : *global_batch;
    if (batch.x.size(0) > 0) {
      const Logs logs = test_step(batch);
      for (const auto& [key, value] : logs) {
        if (!means.count(key) && key != "loss") keys.push_back(key);
        means[key].add(value, double(batch.x.size(0)));
      }
      samples += double(batch.x.size(0));
    }
    shown.clear();
    for (const auto& key : keys) shown.emplace_back(key, means[key].value());
    for (auto& value : metric_results()) shown.push_back(std::move(value));
    bar.update(std::min(++step, steps), shown);
  }
  if (step == 0) throw Error("evaluate: the data is empty");
  if (dist) sum_over_ranks(*dist, shown, means, samples);
  bar.finish(shown);
  return shown;
}

Tensor Model::predict(const Tensor& x, const PredictOptions& options) { return predict(data::Dataset(x), options); }

Tensor Model::predict(const data::Dataset& data, const PredictOptions& options) {
  check_batch_size(options.batch_size, "predict");
  NoGradGuard no_grad;
  const std::int64_t n = data.size();
  const std::int64_t steps = steps_for(n, options.batch_size);
  ProgressBar bar(std::cout, steps, train_detail::resolve_verbosity(options.verbose));
  std::vector<Tensor> parts;
  for (std::int64_t step = 0; step < steps; ++step) {
    const std::int64_t begin = step * options.batch_size, end = std::min(n, begin + options.batch_size);
    parts.push_back(call_on(data.batch(begin, end), false));
    bar.update(step + 1, {});
  }
  bar.finish({});
  if (parts.empty()) throw Error("predict: the data is empty");
  return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

Tensor Model::predict(const data::Pipeline& data, const PredictOptions& options) {
  check_batch_size(options.batch_size, "predict");
  if (data.cardinality() == data::INFINITE_CARDINALITY) throw Error("predict: the pipeline repeats forever");
  NoGradGuard no_grad;
  const data::Pipeline batches = batched(data, options.batch_size);
  ProgressBar bar(std::cout, batches.cardinality(), train_detail::resolve_verbosity(options.verbose));
  std::vector<Tensor> parts;
  auto it = batches.iterate();
  while (const auto batch = it.next()) {
    parts.push_back(call_on(*batch, false));
    bar.update(std::min<std::int64_t>(static_cast<std::int64_t>(parts.size()), batches.cardinality()), {});
  }
  bar.finish({});
  if (parts.empty()) throw Error("predict: the data is empty");
  return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

}  // namespace kiln
