// Models of several outputs trained with compile(optimizer, CompileOutputs), as Keras's
// compile(loss={...}, loss_weights={...}, metrics={...}): a loss, a weight and metrics per
// output, the weighted sum minimised, and every value reported under Keras's names.
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "kiln/autograd.hpp"
#include "kiln/error.hpp"
#include "kiln/model.hpp"
#include "kiln/ops.hpp"

namespace kiln {
namespace {

std::string multi_output_name_list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
  return out;
}

// One value per output from a list (exactly one each) or a map (names must be outputs; the
// outputs it leaves out get nothing unless `every_output`).
template <typename T>
std::vector<std::optional<T>> multi_output_resolve(const PerOutput<T>& given, const std::vector<std::string>& names,
                                                   const char* argument, bool every_output) {
  std::vector<std::optional<T>> out(names.size());
  if (given.empty()) return out;
  if (!given.named()) {
    if (given.in_order().size() != names.size()) {
      throw Error(std::string("compile: ") + argument + " lists " + std::to_string(given.in_order().size()) +
                  " entries for a model of " + std::to_string(names.size()) + " outputs (" +
                  multi_output_name_list(names) + ")");
    }
    for (std::size_t i = 0; i < names.size(); ++i) out[i] = given.in_order()[i];
    return out;
  }
  for (const auto& [name, value] : given.by_name()) {
    const auto at = std::find(names.begin(), names.end(), name);
    if (at == names.end()) {
      throw Error(std::string("compile: ") + argument + " names output '" + name +
                  "', which the model does not have; its outputs are " + multi_output_name_list(names));
    }
    out[static_cast<std::size_t>(at - names.begin())] = value;
  }
  if (every_output) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (!out[i]) {
        throw Error(std::string("compile: ") + argument + " has no entry for output '" + names[i] +
                    "'; expected keys " + multi_output_name_list(names));
      }
    }
  }
  return out;
}

// Keras's casting of targets to the prediction's float dtype (as the single-output step does).
Tensor multi_output_targets_like(const Tensor& y, const Tensor& y_pred) {
  const bool cast = is_floating(y.dtype()) && is_floating(y_pred.dtype()) && y.dtype() != y_pred.dtype();
  return cast ? y.to(y_pred.dtype()) : y;
}

}  // namespace

void Model::compile(const OptimizerArgument& optimizer, const CompileOutputs& outputs) {
  if (!is_functional()) {
    throw Error(
        "compile: per-output losses need a functional model (kiln::Model(inputs, outputs)), whose outputs "
        "have names; model '" +
        name() + "' is not one");
  }
  if (!optimizer.is_name() && !optimizer.object()) throw Error("compile: optimizer is null");
  const std::vector<std::string> names = output_names();
  const auto loss_args = multi_output_resolve(outputs.loss, names, "loss", outputs.loss.named());
  const auto weights = multi_output_resolve(outputs.loss_weights, names, "loss_weights", outputs.loss_weights.named());
  const auto metric_lists = multi_output_resolve(outputs.metrics, names, "metrics", false);
  const auto weighted_lists = multi_output_resolve(outputs.weighted_metrics, names, "weighted_metrics", false);
  std::vector<CompiledOutput> compiled(names.size());
  std::shared_ptr<losses::Loss> first_loss;
  for (std::size_t i = 0; i < names.size(); ++i) {
    CompiledOutput& c = compiled[i];
    c.name = names[i];
    if (loss_args[i]) {
      const LossArgument& l = *loss_args[i];
      if (!l.is_name() && !l.object()) throw Error("compile: the loss for output '" + c.name + "' is null");
      c.loss = l.is_name() ? losses::get(l.name()) : l.object();
      if (!first_loss) first_loss = c.loss;
    }
    if (weights[i]) c.loss_weight = *weights[i];
    if (!std::isfinite(c.loss_weight)) {
      throw Error("compile: loss_weights for output '" + c.name + "' is " + std::to_string(c.loss_weight));
    }
    const std::string loss_name = c.loss ? c.loss->name() : std::string("none");
    auto resolve = [&](const std::optional<MetricArguments>& given, std::vector<std::shared_ptr<metrics::Metric>>& to) {
      if (!given) return;
      for (const auto& m : given->items()) {
        if (!m.is_name() && !m.object()) throw Error("compile: a metric for output '" + c.name + "' is null");
        to.push_back(m.is_name() ? metrics::get(m.name(), loss_name) : m.object());
      }
    };
    resolve(metric_lists[i], c.metrics);
    resolve(weighted_lists[i], c.weighted_metrics);
  }
  if (!first_loss) throw Error("compile: no output has a loss; give `loss` for at least one output");
  // Keras's CompileMetrics.result(): "<output>_<metric>", a weighted one that clashes
  // "<output>_weighted_<metric>", further clashes numbered "_1", "_2", ...
  std::vector<std::string> reported;
  std::map<std::string, int> seen;
  for (const auto& c : compiled) {
    for (const auto& m : c.metrics) {
      std::string name = c.name + "_" + m->name();
      if (const int k = seen[name]++) name.append("_").append(std::to_string(k));
      reported.push_back(name);
    }
  }
  for (const auto& c : compiled) {
    for (const auto& m : c.weighted_metrics) {
      std::string name = c.name + "_" + m->name();
      if (seen.count(name)) {
        name = c.name + "_weighted_" + m->name();
        if (const int k = seen[name]++) name.append("_").append(std::to_string(k));
      } else {
        ++seen[name];
      }
      reported.push_back(name);
    }
  }
  optimizer_ = optimizer.is_name() ? optim::get(optimizer.name()) : optimizer.object();
  loss_ = first_loss;
  metrics_.clear();
  weighted_metrics_.clear();
  weighted_metric_names_.clear();
  compiled_outputs_ = std::move(compiled);
  output_metric_names_ = std::move(reported);
}

std::vector<Tensor> Model::targets_in_output_order(const std::map<std::string, Tensor>& targets,
                                                   const char* where) const {
  const std::vector<std::string> names = output_names();
  for (const auto& [name, t] : targets) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      throw Error(std::string(where) + ": a target is given for output '" + name +
                  "', which the model does not have; its outputs are " + multi_output_name_list(names));
    }
  }
  std::vector<Tensor> out;
  for (const auto& name : names) {
    const auto found = targets.find(name);
    if (found == targets.end()) {
      throw Error(std::string(where) + ": no target for output '" + name + "'; the outputs are " +
                  multi_output_name_list(names));
    }
    out.push_back(found->second);
  }
  return out;
}

History Model::fit(const Tensor& x, const std::vector<Tensor>& targets, const FitOptions& options) {
  return fit(data::Dataset(std::vector<Tensor>{x}, targets), options);
}

History Model::fit(const Tensor& x, std::initializer_list<Tensor> targets, const FitOptions& options) {
  return fit(x, std::vector<Tensor>(targets), options);
}

History Model::fit(const Tensor& x, const std::map<std::string, Tensor>& targets, const FitOptions& options) {
  return fit(x, targets_in_output_order(targets, "fit"), options);
}

Logs Model::evaluate(const Tensor& x, const std::vector<Tensor>& targets, const EvaluateOptions& options) {
  return evaluate(data::Dataset(std::vector<Tensor>{x}, targets), options);
}

Logs Model::evaluate(const Tensor& x, std::initializer_list<Tensor> targets, const EvaluateOptions& options) {
  return evaluate(x, std::vector<Tensor>(targets), options);
}

Logs Model::evaluate(const Tensor& x, const std::map<std::string, Tensor>& targets, const EvaluateOptions& options) {
  return evaluate(x, targets_in_output_order(targets, "evaluate"), options);
}

Logs Model::outputs_step(const data::Batch& batch, bool training) {
  const char* where = training ? "fit" : "evaluate";
  std::optional<NoGradGuard> no_grad;
  if (!training) no_grad.emplace();
  const std::vector<Tensor> predictions =
      call_multi(batch.inputs.empty() ? std::vector<Tensor>{batch.x} : batch.inputs, training);
  const std::vector<Tensor> targets = batch.targets.empty() ? std::vector<Tensor>{batch.y} : batch.targets;
  if (predictions.size() != compiled_outputs_.size()) {
    throw Error(std::string(where) + ": model '" + name() + "' gave " + std::to_string(predictions.size()) +
                " outputs but was compiled for " + std::to_string(compiled_outputs_.size()));
  }
  if (targets.size() != predictions.size() || !targets[0].defined()) {
    throw Error(std::string(where) + ": model '" + name() + "' has " + std::to_string(predictions.size()) +
                " outputs but the data has " + std::to_string(targets[0].defined() ? targets.size() : 0) +
                " targets; give one per output (a list in output order, or a map by output name)");
  }
  Logs logs;
  Tensor total;
  for (std::size_t i = 0; i < predictions.size(); ++i) {
    CompiledOutput& c = compiled_outputs_[i];
    const Tensor y = multi_output_targets_like(targets[i], predictions[i]);
    if (c.loss) {
      const Tensor value = c.loss->weighted(y, predictions[i], batch.sample_weight);
      // Keras records each output's loss before its weight.
      logs.insert_or_assign(c.name + "_loss", value.item());
      const Tensor weighted = value * c.loss_weight;
      total = total.defined() ? total + weighted : weighted;
    }
    const Tensor detached = predictions[i].detach();
    for (auto& m : c.metrics) m->update(y, detached);
    for (auto& m : c.weighted_metrics) m->update_weighted(y, detached, batch.sample_weight);
  }
  for (const auto& layer : layers()) {
    for (const Tensor& penalty : layer->regularization_losses()) total = total + penalty;
  }
  const double value = total.item();
  logs.insert_or_assign("loss", value);
  if (training && std::isfinite(value)) {
    total.backward();
    optimizer_->apply_gradients(trainable_weights());
    for (const auto& layer : layers()) layer->apply_constraints();
  }
  return logs;
}

}  // namespace kiln
