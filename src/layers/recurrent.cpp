#include "kiln/layers/recurrent.hpp"

#include <cstring>
#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/ops.hpp"
#include "layers/weight_regularization.hpp"

namespace kiln::layers {

RNNLayer::RNNLayer(std::int64_t units, RNNOptions options, const char* type, const char* base_name, int gates)
    : Layer(options.name.empty() ? unique_name(base_name) : options.name, type),
      units_(units),
      options_(std::move(options)),
      gates_(gates) {
  if (units_ <= 0) throw Error(describe() + ": units must be positive, got " + std::to_string(units_));
  const bool simple = gates_ == 1;
  if (simple ? (options_.activation != "tanh" && options_.activation != "relu") : options_.activation != "tanh") {
    throw Error(describe() + ": activation \"" + options_.activation + "\" is not supported; " +
                (simple ? "use \"tanh\" or \"relu\"" : "LSTM and GRU use tanh with sigmoid gates, Keras's defaults"));
  }
  if (!(options_.dropout >= 0.0 && options_.dropout < 1.0)) {
    throw Error(describe() + ": dropout must be in [0, 1), got " + std::to_string(options_.dropout));
  }
  if (!(options_.recurrent_dropout >= 0.0 && options_.recurrent_dropout < 1.0)) {
    throw Error(describe() + ": recurrent_dropout must be in [0, 1), got " +
                std::to_string(options_.recurrent_dropout));
  }
  set_declared_input_shape(options_.input_shape);
}

Shape RNNLayer::compute_output_shape(const Shape& in) const {
  if (in.size() != 2) {
    throw Error(describe() + ": expected inputs of shape [batch, time, features], got [batch" +
                (in.empty() ? std::string("]") : ", " + shape_str(in).substr(1)));
  }
  if (built() && in[1] != input_shape()[1]) {
    throw Error(describe() + ": expected " + std::to_string(input_shape()[1]) + " features per step, got " +
                std::to_string(in[1]));
  }
  return options_.return_sequences ? Shape{in[0], units_} : Shape{units_};
}

bool RNNLayer::accepts(const Shape& built, const Shape& actual) const {
  return actual.size() == 2 && actual[1] == built[1] && actual[0] > 0;
}

void RNNLayer::build_weights(const Shape& in, Generator& gen) {
  const std::int64_t gh = gates_ * units_;
  kernel_ = add_weight("kernel", {in[1], gh}, options_.kernel_initializer, gen);
  recurrent_kernel_ = add_weight("recurrent_kernel", {units_, gh}, options_.recurrent_initializer, gen);
  if (options_.use_bias) {
    bias_ = add_weight("bias", gates_ == 3 ? Shape{2, gh} : Shape{gh}, options_.bias_initializer, gen);
  }
  // Only a layer with dropout draws its seed, so that adding this left other layers' weights unchanged.
  if (draws_masks()) generator_.seed_with(options_.seed ? *options_.seed : gen.next_u64());
}

RecurrentOptions RNNLayer::op_options() const {
  return {.return_sequences = options_.return_sequences,
          .return_state = options_.return_state,
          .go_backwards = options_.go_backwards,
          .zero_output_for_mask = options_.zero_output_for_mask,
          .activation = options_.activation,
          .recurrent_dropout_mask = state_mask_,
          .compute = compute_type()};
}

RecurrentResult RNNLayer::call(const Tensor& input, const RNNCallArgs& args) {
  const Tensor x = prepare(input);  // builds on first use; names this layer when x's shape or dtype is wrong
  const std::int64_t B = x.size(0), T = x.size(1);
  if (args.mask.defined() && args.mask.shape() != Shape{B, T}) {
    throw Error(describe() + ": mask must have shape [" + std::to_string(B) + ", " + std::to_string(T) +
                "] (batch, time) for input " + shape_str(x.shape()) + ", got " + shape_str(args.mask.shape()));
  }
  const auto& init = args.initial_state;
  if (!init.empty()) {
    if (init.size() != state_count()) {
      throw Error(describe() + ": initial_state needs " + std::to_string(state_count()) + " tensor(s) (" +
                  (state_count() == 2 ? "h and c" : "h") + "), got " + std::to_string(init.size()));
    }
    for (std::size_t i = 0; i < init.size(); ++i) {
      if (!init[i].defined() || init[i].shape() != Shape{B, units_} || init[i].dtype() != dtype()) {
        throw Error(describe() + ": initial state " + (i == 0 ? "h" : "c") + " must be " + dtype_name(dtype()) +
                    " of shape [" + std::to_string(B) + ", " + std::to_string(units_) + "] (batch, units), got " +
                    (init[i].defined() ? std::string(dtype_name(init[i].dtype())) + " " + shape_str(init[i].shape())
                                       : std::string("an undefined tensor")));
      }
    }
  }
  // One keep/drop draw per sample and input feature (dropout) or unit of the state (recurrent_dropout),
  // shared by every time step, as Keras's RNN cells do. The input mask is drawn first.
  auto draw = [&](const Shape& shape, double rate) {
    Tensor mask = Tensor::empty(shape, DType::Float64);
    double* m = mask.data<double>();
    const double scale = 1.0 / (1.0 - rate);
    for (std::int64_t i = 0; i < mask.numel(); ++i) m[i] = generator_.uniform() < rate ? 0.0 : scale;
    return mask;
  };
  const bool drop_inputs = args.training && options_.dropout > 0.0;
  const Tensor input_mask = drop_inputs ? draw({B, 1, x.size(2)}, options_.dropout) : Tensor();
  state_mask_ =
      args.training && options_.recurrent_dropout > 0.0 ? draw({B, units_}, options_.recurrent_dropout) : Tensor();
  RecurrentResult result = run(drop_inputs ? x * input_mask.to(x.dtype()) : x, args.mask, init);
  state_mask_ = Tensor();
  if (options_.activity_regularizer) {
    activity_ = {result.output};
    activity_.insert(activity_.end(), result.states.begin(), result.states.end());
  }
  return result;
}

std::vector<Tensor> RNNLayer::regularization_losses() const {
  return layers_detail::penalties({{options_.kernel_regularizer, options_.kernel_constraint, kernel_},
                                   {options_.recurrent_regularizer, options_.recurrent_constraint, recurrent_kernel_},
                                   {options_.bias_regularizer, options_.bias_constraint, bias_}},
                                  options_.activity_regularizer, activity_);
}

void RNNLayer::apply_constraints() {
  layers_detail::constrain({{options_.kernel_regularizer, options_.kernel_constraint, kernel_},
                            {options_.recurrent_regularizer, options_.recurrent_constraint, recurrent_kernel_},
                            {options_.bias_regularizer, options_.bias_constraint, bias_}});
}

Tensor RNNLayer::forward(const Tensor& x, bool training) { return call(x, {.training = training}).output; }

Tensor RNNLayer::kernel() const {
  input_shape();  // throws, naming the layer, when it is not built
  return kernel_;
}

Tensor RNNLayer::recurrent_kernel() const {
  input_shape();
  return recurrent_kernel_;
}

Tensor RNNLayer::bias() const {
  input_shape();
  return bias_;
}

nlohmann::json RNNLayer::get_config() const {
  nlohmann::json c = Layer::get_config();
  c["units"] = units_;
  c["activation"] = options_.activation;
  c["use_bias"] = options_.use_bias;
  c["kernel_initializer"] = to_json(options_.kernel_initializer);
  c["recurrent_initializer"] = to_json(options_.recurrent_initializer);
  c["bias_initializer"] = to_json(options_.bias_initializer);
  c["unit_forget_bias"] = options_.unit_forget_bias;
  c["dropout"] = options_.dropout;
  c["recurrent_dropout"] = options_.recurrent_dropout;
  c["seed"] = options_.seed ? nlohmann::json(*options_.seed) : nlohmann::json(nullptr);
  c["return_sequences"] = options_.return_sequences;
  c["return_state"] = options_.return_state;
  c["go_backwards"] = options_.go_backwards;
  c["zero_output_for_mask"] = options_.zero_output_for_mask;
  layers_detail::put_regularization_config(c, options_);
  return c;
}

// --- the three cells ------------------------------------------------------------------

SimpleRNN::SimpleRNN(std::int64_t units, RNNOptions options)
    : RNNLayer(units, std::move(options), "SimpleRNN", "simple_rnn", 1) {}

RecurrentResult SimpleRNN::run(const Tensor& x, const Tensor& mask, const std::vector<Tensor>& init) {
  return simple_rnn(x, kernel_, recurrent_kernel_, bias_, init, mask, op_options());
}

LSTM::LSTM(std::int64_t units, RNNOptions options) : RNNLayer(units, std::move(options), "LSTM", "lstm", 4) {}

void LSTM::build_weights(const Shape& in, Generator& gen) {
  RNNLayer::build_weights(in, gen);
  if (bias_.defined() && options().unit_forget_bias) {
    // Keras's unit_forget_bias: the forget gate's block [units, 2 * units) starts at 1.
    Tensor forget = Tensor::ones({units()}, dtype());
    const std::size_t bytes = dtype_size(dtype()) * static_cast<std::size_t>(units());
    std::memcpy(static_cast<char*>(bias_.raw_data()) + bytes, forget.raw_data(), bytes);
    bias_.bump_version();
  }
}

RecurrentResult LSTM::run(const Tensor& x, const Tensor& mask, const std::vector<Tensor>& init) {
  return lstm(x, kernel_, recurrent_kernel_, bias_, init, mask, op_options());
}

GRU::GRU(std::int64_t units, RNNOptions options) : RNNLayer(units, std::move(options), "GRU", "gru", 3) {}

RecurrentResult GRU::run(const Tensor& x, const Tensor& mask, const std::vector<Tensor>& init) {
  return gru(x, kernel_, recurrent_kernel_, bias_, init, mask, op_options());
}

}  // namespace kiln::layers
