#include "kiln/layers/bidirectional.hpp"

#include <nlohmann/json.hpp>
#include <optional>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"

namespace kiln::layers {
namespace {

std::string without_prefix(const std::string& name, const std::string& prefix) {
  return name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
}

// A fresh copy of `layer` from its config (no weights, no state), renamed and adjusted as Keras does.
std::shared_ptr<RNNLayer> recreate(const RNNLayer& layer, const std::string& name, std::optional<bool> go_backwards) {
  nlohmann::json config = layer.get_config();
  config["name"] = name;
  if (go_backwards) config["go_backwards"] = *go_backwards;
  // Keras makes both directions output zeros at masked steps when they return sequences.
  config["zero_output_for_mask"] = config.at("return_sequences");
  return std::dynamic_pointer_cast<RNNLayer>(layer_from_config(layer.type(), config));
}

nlohmann::json serialize(const Layer& layer) {
  return {{"module", "keras.layers"},
          {"class_name", layer.type()},
          {"config", layer.get_config()},
          {"registered_name", nullptr}};
}

// x [batch, time, ...] with its time axis reversed.
Tensor reverse_time(const Tensor& x) {
  std::vector<Tensor> steps;
  for (std::int64_t t = x.size(1) - 1; t >= 0; --t) steps.push_back(narrow(x, 1, t, 1));
  return steps.size() == 1 ? steps[0] : concat(steps, 1);
}

}  // namespace

Bidirectional::Bidirectional(const RNNLayer& layer, std::string merge_mode, const RNNLayer* backward_layer,
                             std::string name)
    : Layer(name.empty() ? unique_name("bidirectional") : name, "Bidirectional"), merge_mode_(std::move(merge_mode)) {
  if (merge_mode_ != "concat" && merge_mode_ != "sum" && merge_mode_ != "mul" && merge_mode_ != "ave" &&
      !merge_mode_.empty()) {
    throw Error(describe() + ": merge_mode must be \"concat\", \"sum\", \"mul\", \"ave\" or \"\" (None), got \"" +
                merge_mode_ + "\"");
  }
  forward_ = recreate(layer, "forward_" + without_prefix(layer.name(), "forward_"), std::nullopt);
  backward_ = backward_layer ? recreate(*backward_layer, backward_layer->name(), std::nullopt)
                             : recreate(layer, "backward_" + without_prefix(layer.name(), "backward_"), true);
  const RNNOptions &f = forward_->options(), &b = backward_->options();
  if (f.go_backwards == b.go_backwards) {
    throw Error(describe() + ": the forward and backward layers must have different go_backwards, both have " +
                (f.go_backwards ? "true" : "false"));
  }
  if (f.return_sequences != b.return_sequences || f.return_state != b.return_state) {
    throw Error(describe() + ": the forward and backward layers must agree on return_sequences and return_state");
  }
  if (merge_mode_ != "concat" && !merge_mode_.empty() && forward_->units() != backward_->units()) {
    throw Error(describe() + ": merge_mode \"" + merge_mode_ + "\" needs both layers to have the same units, got " +
                std::to_string(forward_->units()) + " and " + std::to_string(backward_->units()));
  }
  if (const auto& shape = layer.declared_input_shape()) set_declared_input_shape(*shape);
}

Shape Bidirectional::compute_output_shape(const Shape& in) const {
  Shape out = forward_->compute_output_shape(in);
  const Shape back = backward_->compute_output_shape(in);
  if (merge_mode_ == "concat") {
    out.back() += back.back();
  } else if (!merge_mode_.empty() && out != back) {
    throw Error(describe() + ": merge_mode \"" + merge_mode_ + "\" needs outputs of one shape, got " + shape_str(out) +
                " and " + shape_str(back));
  }
  return out;
}

bool Bidirectional::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == 2 && actual[1] == built[1];
}

void Bidirectional::build_weights(const Shape& in, Generator&) {
  for (RNNLayer* l : {forward_.get(), backward_.get()}) {
    if (!l->built()) {
      l->set_dtype(dtype());
      l->build(in);
    }
    for (const auto& w : l->weights()) track_weight(l->name() + "/" + w.name, w.value, w.trainable);
  }
}

std::vector<Tensor> Bidirectional::call(const Tensor& x_in, bool training) {
  const Tensor x = prepare(x_in);
  RecurrentResult f = forward_->call(x, {.training = training}), b = backward_->call(x, {.training = training});
  std::vector<Tensor> out{f.output, forward_->options().return_sequences ? reverse_time(b.output) : b.output};
  out.insert(out.end(), f.states.begin(), f.states.end());
  out.insert(out.end(), b.states.begin(), b.states.end());
  return out;
}

std::vector<Tensor> Bidirectional::call_merged(const Tensor& x, bool training) {
  std::vector<Tensor> out = call(x, training);
  if (merge_mode_.empty()) return out;
  const Tensor &y = out[0], &y_rev = out[1];
  Tensor merged = merge_mode_ == "concat" ? concat({y, y_rev}, -1)
                  : merge_mode_ == "sum"  ? y + y_rev
                  : merge_mode_ == "mul"  ? y * y_rev
                                          : (y + y_rev) * 0.5;
  out.erase(out.begin(), out.begin() + 2);
  out.insert(out.begin(), merged);
  return out;
}

Tensor Bidirectional::forward(const Tensor& x, bool training) {
  if (merge_mode_.empty()) {
    throw Error(describe() + ": merge_mode None gives two outputs; use call() to get them");
  }
  return call_merged(x, training)[0];
}

nlohmann::json Bidirectional::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["merge_mode"] = merge_mode_.empty() ? nlohmann::json(nullptr) : nlohmann::json(merge_mode_);
  c["layer"] = serialize(*forward_);
  c["backward_layer"] = serialize(*backward_);
  return c;
}

std::vector<Tensor> Bidirectional::regularization_losses() const {
  std::vector<Tensor> losses = forward_->regularization_losses();
  for (const Tensor& loss : backward_->regularization_losses()) losses.push_back(loss);
  return losses;
}

void Bidirectional::apply_constraints() {
  forward_->apply_constraints();
  backward_->apply_constraints();
}

}  // namespace kiln::layers
