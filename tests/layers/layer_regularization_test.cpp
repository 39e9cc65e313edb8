// Regularizers and constraints on every layer whose Keras 3 counterpart takes them (issue 13):
// one table of layers, each built from a config with Keras's keys, checked for the penalty
// l1 * sum(|w|) + l2 * sum(w^2) on each weight (and Keras's activity penalty, the same on the
// outputs over the batch size), the penalties' gradients, fit() reporting them in its loss,
// constraints holding after an optimizer step, and configs and model files keeping them.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kiln/kiln.hpp"
#include "support/common.hpp"
#include "support/errors.hpp"
#include "support/gradcheck.hpp"
#include "support/process.hpp"

namespace kiln::layer_regularization_test {

using namespace kiln::layers;
using nlohmann::json;
using testing::contains;
using testing::error_of;

// What Keras's serialize() writes for a regularizer or constraint.
json keras_object(const std::string& module, const std::string& class_name, const json& config) {
  return {{"module", module}, {"class_name", class_name}, {"config", config}, {"registered_name", nullptr}};
}

struct Factors {
  double l1, l2;
};

// Each weight rule i of a case gets its own factors, so a penalty put on the wrong weight shows.
Factors factors_of_rule(std::size_t i) { return {0.01 * double(i + 1), 0.03 * double(i + 2)}; }
constexpr Factors kActivityFactors{0.05, 0.07};

struct RegularizationCase {
  std::string type;
  std::function<std::shared_ptr<Layer>()> make;  // without regularizers or constraints
  Shape input;                                   // with the batch axis
  // Keras's weight names (the W of W_regularizer) and the names of the Kiln weights each covers.
  std::vector<std::pair<std::string, std::vector<std::string>>> rules;
  bool activity = true;  // takes an activity_regularizer
  bool ids = false;      // integer token ids in
};

inline void PrintTo(const RegularizationCase& c, std::ostream* os) { *os << c.type; }

const std::vector<RegularizationCase>& regularization_cases() {
  using Rules = std::vector<std::pair<std::string, std::vector<std::string>>>;
  const Rules kernel_bias = {{"kernel", {"kernel"}}, {"bias", {"bias"}}};
  const Rules recurrent = {{"kernel", {"kernel"}}, {"recurrent", {"recurrent_kernel"}}, {"bias", {"bias"}}};
  const Rules scale_offset = {{"beta", {"beta"}}, {"gamma", {"gamma"}}};
  static const std::vector<RegularizationCase> cases = {
      {"Dense", [] { return std::make_shared<Dense>(3); }, {2, 4}, kernel_bias},
      {"Conv1D", [] { return std::make_shared<Conv1D>(2, 2); }, {2, 4, 3}, kernel_bias},
      {"Conv2D", [] { return std::make_shared<Conv2D>(2, 2); }, {2, 3, 3, 2}, kernel_bias},
      {"Conv2DTranspose", [] { return std::make_shared<Conv2DTranspose>(2, 2); }, {2, 2, 2, 3}, kernel_bias},
      {"DepthwiseConv2D",
       [] { return std::make_shared<DepthwiseConv2D>(2, DepthwiseConv2DOptions{.depth_multiplier = 2}); },
       {2, 3, 3, 2},
       {{"depthwise", {"kernel"}}, {"bias", {"bias"}}}},
      {"SeparableConv2D",
       [] { return std::make_shared<SeparableConv2D>(3, 2); },
       {2, 3, 3, 2},
       {{"depthwise", {"depthwise_kernel"}}, {"pointwise", {"pointwise_kernel"}}, {"bias", {"bias"}}}},
      {"Embedding",
       [] { return std::make_shared<Embedding>(5, 3); },
       {2, 4},
       {{"embeddings", {"embeddings"}}},
       true,
       true},
      {"SimpleRNN", [] { return std::make_shared<SimpleRNN>(3); }, {2, 3, 2}, recurrent},
      {"LSTM", [] { return std::make_shared<LSTM>(2, RNNOptions{.return_sequences = true}); }, {2, 3, 2}, recurrent},
      {"GRU", [] { return std::make_shared<GRU>(2); }, {2, 3, 2}, recurrent},
      {"BatchNormalization", [] { return std::make_shared<BatchNormalization>(); }, {4, 3}, scale_offset, false},
      {"LayerNormalization", [] { return std::make_shared<LayerNormalization>(); }, {2, 3, 4}, scale_offset, false},
      {"GroupNormalization",
       [] { return std::make_shared<GroupNormalization>(GroupNormalizationOptions{.groups = 2}); },
       {2, 3, 4},
       scale_offset,
       false},
      {"PReLU", [] { return std::make_shared<PReLU>(); }, {2, 3}, {{"alpha", {"alpha"}}}, false},
      {"MultiHeadAttention",
       [] { return std::make_shared<MultiHeadAttention>(2, 2); },
       {2, 3, 4},
       {{"kernel", {"query/kernel", "key/kernel", "value/kernel", "attention_output/kernel"}},
        {"bias", {"query/bias", "key/bias", "value/bias", "attention_output/bias"}}}},
  };
  return cases;
}

// The case's layer in float64, from its config with the given Keras keys set.
std::shared_ptr<Layer> layer_with(const RegularizationCase& c, const json& keys) {
  json config = c.make()->get_config();
  config["dtype"] = "float64";
  for (const auto& [key, value] : keys.items()) config[key] = value;
  return layer_from_config(c.type, config);
}

// Every rule's L1L2 regularizer (and the activity one) as Keras writes them.
json regularizer_keys(const RegularizationCase& c) {
  json keys = json::object();
  for (std::size_t i = 0; i < c.rules.size(); ++i) {
    const Factors f = factors_of_rule(i);
    keys[c.rules[i].first + "_regularizer"] = keras_object("keras.regularizers", "L1L2", {{"l1", f.l1}, {"l2", f.l2}});
  }
  if (c.activity) {
    keys["activity_regularizer"] =
        keras_object("keras.regularizers", "L1L2", {{"l1", kActivityFactors.l1}, {"l2", kActivityFactors.l2}});
  }
  return keys;
}

json constraint_keys(const RegularizationCase& c, const json& constraint) {
  json keys = json::object();
  for (const auto& rule : c.rules) keys[rule.first + "_constraint"] = constraint;
  return keys;
}

Tensor input_of(const RegularizationCase& c, std::uint64_t seed) {
  if (!c.ids) return testing::random_tensor(c.input, seed, DType::Float64);
  std::vector<std::int64_t> ids;
  for (std::int64_t i = 0; i < c.input[0] * c.input[1]; ++i) ids.push_back((i * 3 + std::int64_t(seed)) % 5);
  return Tensor::from_vector(ids, c.input);
}

void build_for(Layer& layer, const RegularizationCase& c) { layer.build(Shape(c.input.begin() + 1, c.input.end())); }

// Trainable weights of random size in [0, 1) and alternating sign, starting negative, so that every
// weight has negative values for a constraint to act on; the others (moving statistics) kept.
void randomize_weights(Layer& layer, std::uint64_t seed) {
  std::vector<Tensor> values;
  for (const auto& w : layer.weights_in_keras_order()) {
    if (!w.trainable) {
      values.push_back(w.value.clone());
      continue;
    }
    auto v = testing::random_tensor(w.value.shape(), seed++, DType::Float64).to_vector<double>();
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = (i % 2 ? 1.0 : -1.0) * std::abs(v[i]);
    values.push_back(Tensor::from_vector(v, w.value.shape()));
  }
  layer.set_weights(values);
}

double l1l2_sum(const std::vector<double>& v, Factors f) {
  double a = 0, s = 0;
  for (double x : v) a += std::abs(x), s += x * x;
  return f.l1 * a + f.l2 * s;
}

// Keras's activity penalty on one output: the L1L2 penalty over the batch size.
double activity_formula(const Tensor& output) {
  return l1l2_sum(output.to_vector<double>(), kActivityFactors) / double(output.size(0));
}

// The sum of every rule's penalty on the weights it covers, from the weights' values.
double weight_formula(const RegularizationCase& c, const Layer& layer) {
  double total = 0;
  for (std::size_t i = 0; i < c.rules.size(); ++i) {
    for (const auto& name : c.rules[i].second) {
      bool found = false;
      for (const auto& w : layer.weights()) {
        if (w.name != name) continue;
        total += l1l2_sum(w.value.to_vector<double>(), factors_of_rule(i));
        found = true;
      }
      EXPECT_TRUE(found) << c.type << " has no weight " << name;
    }
  }
  return total;
}

// x [B, T, E] projected as Keras's EinsumDense does, by hand: x W + b with W [E, heads * width].
Tensor projection_by_hand(const Tensor& x, const Layer& layer, const std::string& projection) {
  std::vector<double> kernel, bias;
  std::int64_t width = 0;
  for (const auto& w : layer.weights()) {
    if (w.name == projection + "/kernel") kernel = w.value.to_vector<double>(), width = w.value.numel() / x.size(2);
    if (w.name == projection + "/bias") bias = w.value.to_vector<double>();
  }
  const auto in = x.to_vector<double>();
  const std::int64_t rows = x.size(0) * x.size(1), E = x.size(2);
  std::vector<double> out(rows * width);
  for (std::int64_t r = 0; r < rows; ++r) {
    for (std::int64_t j = 0; j < width; ++j) {
      double v = bias.empty() ? 0.0 : bias[j];
      for (std::int64_t e = 0; e < E; ++e) v += in[r * E + e] * kernel[e * width + j];
      out[r * width + j] = v;
    }
  }
  return Tensor::from_vector(out, {x.size(0), x.size(1), width});
}

// The activity penalties a call on x that returned y adds: on y, and for MultiHeadAttention (as
// Keras's, whose activity_regularizer goes to its four projections) on the query, key and value
// projections of the self-attention input too.
double activity_of_call(const RegularizationCase& c, const Layer& layer, const Tensor& x, const Tensor& y) {
  if (!c.activity) return 0.0;
  double total = activity_formula(y);
  if (c.type == "MultiHeadAttention") {
    for (const char* p : {"query", "key", "value"}) total += activity_formula(projection_by_hand(x, layer, p));
  }
  return total;
}

double total_of(const std::vector<Tensor>& penalties) {
  double total = 0;
  for (const Tensor& p : penalties) total += p.item();
  return total;
}

class LayerRegularization : public ::testing::TestWithParam<RegularizationCase> {};

TEST_P(LayerRegularization, PenaltiesAreTheFormulaOnEachWeightAndOutput) {
  const RegularizationCase& c = GetParam();
  auto layer = layer_with(c, regularizer_keys(c));
  build_for(*layer, c);
  randomize_weights(*layer, 11);
  const double weights = weight_formula(c, *layer);
  EXPECT_GT(weights, 0.0);
  EXPECT_NEAR(total_of(layer->regularization_losses()), weights, 1e-12) << "before a call: the weights' alone";
  const Tensor x = input_of(c, 3);
  const Tensor y = (*layer)(x, false);
  const double activity = activity_of_call(c, *layer, x, y);
  EXPECT_EQ(activity > 0.0, c.activity);
  EXPECT_NEAR(total_of(layer->regularization_losses()), weights + activity, 1e-10 * (1 + weights + activity));
  // Without regularizers the layer adds nothing.
  auto plain = layer_with(c, json::object());
  (*plain)(x, false);
  EXPECT_TRUE(plain->regularization_losses().empty());
}

TEST_P(LayerRegularization, PenaltiesHaveTheGradientsOfTheirFormula) {
  const RegularizationCase& c = GetParam();
  auto layer = layer_with(c, regularizer_keys(c));
  build_for(*layer, c);
  randomize_weights(*layer, 21);
  Tensor x = input_of(c, 5);
  std::vector<Tensor> wrt = layer->trainable_weights();
  if (!c.ids && c.activity) wrt.push_back(x.set_requires_grad());  // only an activity penalty reaches x
  testing::expect_gradients_match(
      c.type,
      [&] {
        (*layer)(x, false);
        Tensor total;
        for (const Tensor& p : layer->regularization_losses()) total = total.defined() ? total + p : p;
        return total;
      },
      wrt);
}

// The loss fit() reports for one full batch is computed before the step: the regularized model's
// exceeds the plain one's (same weights) by exactly the penalties.
TEST_P(LayerRegularization, FitReportsTheLossPlusThePenalties) {
  const RegularizationCase& c = GetParam();
  auto plain = layer_with(c, json::object());
  auto regularized = layer_with(c, regularizer_keys(c));
  build_for(*plain, c);
  build_for(*regularized, c);
  randomize_weights(*plain, 31);
  regularized->set_weights(plain->get_weights());
  const Tensor x = input_of(c, 7);
  const Tensor out = (*plain)(x, false);
  const double expected = weight_formula(c, *regularized) + activity_of_call(c, *regularized, x, out);
  const Tensor target = testing::random_tensor(out.shape(), 8, DType::Float64);
  double losses[2];
  int i = 0;
  for (const auto& layer : {plain, regularized}) {
    Sequential model;
    model.add(layer);
    model.compile(optim::SGD(0.01), "mse");
    const auto history = model.fit(x, target, {.epochs = 1, .batch_size = c.input[0], .verbose = 0, .shuffle = false});
    losses[i++] = history.history.at("loss")[0];
  }
  EXPECT_NEAR(losses[1] - losses[0], expected, 1e-9 * (1 + expected));
}

TEST_P(LayerRegularization, ConstraintsHoldAfterAnOptimizerStep) {
  const RegularizationCase& c = GetParam();
  const Tensor x = input_of(c, 9);
  for (bool constrained : {true, false}) {
    auto layer =
        layer_with(c, constrained ? constraint_keys(c, keras_object("keras.constraints", "NonNeg", json::object()))
                                  : json::object());
    build_for(*layer, c);
    randomize_weights(*layer, 41);
    Sequential model;
    model.add(layer);
    model.compile(optim::SGD(0.01), "mse");
    const Tensor target = testing::random_tensor((*layer)(x, false).shape(), 10, DType::Float64);
    model.fit(x, target, {.epochs = 1, .batch_size = c.input[0], .verbose = 0, .shuffle = false});
    for (const auto& rule : c.rules) {
      for (const auto& w : layer->weights()) {
        if (std::find(rule.second.begin(), rule.second.end(), w.name) == rule.second.end()) continue;
        const auto v = w.value.to_vector<double>();
        const double lowest = *std::min_element(v.begin(), v.end());
        // Half the starting values are negative: a small step leaves some so unless constrained.
        if (constrained) {
          EXPECT_EQ(lowest, 0.0) << c.type << " " << w.name;
        } else {
          EXPECT_LT(lowest, 0.0) << c.type << " " << w.name;
        }
      }
    }
  }
}

TEST_P(LayerRegularization, ConfigsUseKerasKeysAndRoundTripThroughModelFiles) {
  const RegularizationCase& c = GetParam();
  json keys = regularizer_keys(c);
  keys.update(constraint_keys(c, keras_object("keras.constraints", "MaxNorm", {{"max_value", 1.5}, {"axis", 0}})));
  auto layer = layer_with(c, keys);
  const json config = layer->get_config();
  for (std::size_t i = 0; i < c.rules.size(); ++i) {
    const std::string& w = c.rules[i].first;
    const Factors f = factors_of_rule(i);
    EXPECT_EQ(config.at(w + "_regularizer"), json({{"class_name", "L1L2"}, {"config", {{"l1", f.l1}, {"l2", f.l2}}}}));
    EXPECT_EQ(config.at(w + "_constraint"),
              json({{"class_name", "MaxNorm"}, {"config", {{"max_value", 1.5}, {"axis", 0}}}}));
  }
  EXPECT_EQ(config.contains("activity_regularizer"), c.activity);
  EXPECT_EQ(layer_from_config(c.type, config)->get_config(), config);
  // Unset, they are null, as Keras writes them.
  const json plain = c.make()->get_config();
  for (const auto& rule : c.rules) {
    EXPECT_TRUE(plain.at(rule.first + "_regularizer").is_null()) << rule.first;
    EXPECT_TRUE(plain.at(rule.first + "_constraint").is_null()) << rule.first;
  }

  Sequential model;
  model.add(layer);
  model.build(Shape(c.input.begin() + 1, c.input.end()));
  randomize_weights(*layer, 51);
  testing::TempDir dir;
  model.save(dir.path() / "regularized.safetensors");
  auto loaded = load_model(dir.path() / "regularized.safetensors");
  const auto copy = loaded->layers().at(0);
  EXPECT_EQ(copy->get_config(), config);
  const Tensor x = input_of(c, 13);
  (*layer)(x, false);
  (*copy)(x, false);
  EXPECT_NEAR(total_of(copy->regularization_losses()), total_of(layer->regularization_losses()), 1e-12);
}

INSTANTIATE_TEST_SUITE_P(EveryLayer, LayerRegularization, ::testing::ValuesIn(regularization_cases()),
                         [](const auto& info) { return info.param.type; });

// MaxNorm as Keras computes it, after a step: no column of the constrained weight above max_value.
TEST(LayerRegularizationMaxNorm, NormsStayWithinTheMaximumAfterAStep) {
  auto conv = std::make_shared<Conv1D>(3, 2, Conv1DOptions{.kernel_constraint = constraints::MaxNorm(0.5, {0, 1})});
  auto lstm = std::make_shared<LSTM>(2, RNNOptions{.recurrent_constraint = constraints::MaxNorm(0.25)});
  for (const auto& [layer, input, weight, columns] :
       {std::tuple{std::shared_ptr<Layer>(conv), Shape{2, 5, 4}, std::string("kernel"), std::int64_t{3}},
        std::tuple{std::shared_ptr<Layer>(lstm), Shape{2, 3, 4}, std::string("recurrent_kernel"), std::int64_t{8}}}) {
    layer->build(Shape(input.begin() + 1, input.end()));
    randomize_weights(*layer, 61);
    Sequential model;
    model.add(layer);
    model.compile(optim::SGD(0.1), "mse");
    const Tensor x = testing::random_tensor(input, 62);
    const Tensor target = Tensor::full((*layer)(x).shape(), 3.0);
    model.fit(x, target, {.epochs = 1, .batch_size = 2, .verbose = 0});
    for (const auto& w : layer->weights()) {
      if (w.name != weight) continue;
      const auto v = w.value.to_vector<float>();
      const double max_value = weight == "kernel" ? 0.5 : 0.25;
      for (std::int64_t col = 0; col < columns; ++col) {
        double norm = 0;
        for (std::size_t i = std::size_t(col); i < v.size(); i += std::size_t(columns)) norm += double(v[i]) * v[i];
        EXPECT_LE(std::sqrt(norm), max_value + 1e-6) << layer->type() << " column " << col;
      }
    }
  }
}

// Keras 3's get_config() output with regularizers and constraints set (module and registered_name
// included, dtype a policy), as a model file saved by Keras holds it.
TEST(LayerRegularizationKerasConfigs, ReadsWhatKeras3Writes) {
  const json lstm = json::parse(R"({
    "name": "lstm", "trainable": true,
    "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null},
    "return_sequences": false, "return_state": false, "go_backwards": false, "stateful": false, "unroll": false,
    "zero_output_for_mask": false, "units": 4, "activation": "tanh", "recurrent_activation": "sigmoid",
    "use_bias": true,
    "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null},
                           "registered_name": null},
    "recurrent_initializer": {"module": "keras.initializers", "class_name": "Orthogonal",
                              "config": {"gain": 1.0, "seed": null}, "registered_name": null},
    "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
    "unit_forget_bias": true,
    "kernel_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.001},
                           "registered_name": null},
    "recurrent_regularizer": null,
    "bias_regularizer": {"module": "keras.regularizers", "class_name": "L1", "config": {"l1": 0.002},
                         "registered_name": null},
    "activity_regularizer": {"module": "keras.regularizers", "class_name": "L1L2",
                             "config": {"l1": 0.0, "l2": 0.003}, "registered_name": null},
    "kernel_constraint": null,
    "recurrent_constraint": {"module": "keras.constraints", "class_name": "MaxNorm",
                             "config": {"max_value": 3.0, "axis": 0}, "registered_name": null},
    "bias_constraint": {"module": "keras.constraints", "class_name": "NonNeg", "config": {}, "registered_name": null},
    "dropout": 0.0, "recurrent_dropout": 0.0, "seed": null})");
  auto l = std::dynamic_pointer_cast<LSTM>(layer_from_config("LSTM", lstm));
  ASSERT_TRUE(l);
  const json c = l->get_config();
  EXPECT_EQ(c.at("kernel_regularizer"), json({{"class_name", "L2"}, {"config", {{"l2", 0.001}}}}));
  EXPECT_TRUE(c.at("recurrent_regularizer").is_null());
  EXPECT_EQ(c.at("bias_regularizer"), json({{"class_name", "L1"}, {"config", {{"l1", 0.002}}}}));
  EXPECT_EQ(c.at("activity_regularizer").at("config").at("l2"), 0.003);
  EXPECT_EQ(c.at("recurrent_constraint"),
            json({{"class_name", "MaxNorm"}, {"config", {{"max_value", 3.0}, {"axis", 0}}}}));
  EXPECT_EQ(c.at("bias_constraint").at("class_name"), "NonNeg");

  const json separable = json::parse(R"({
    "name": "separable_conv2d", "trainable": true, "dtype": "float32", "filters": 4, "kernel_size": [3, 3],
    "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1],
    "depth_multiplier": 1, "activation": "linear", "use_bias": true,
    "depthwise_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null},
                              "registered_name": null},
    "pointwise_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null},
                              "registered_name": null},
    "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
    "depthwise_regularizer": null,
    "pointwise_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.5},
                              "registered_name": null},
    "bias_regularizer": null, "activity_regularizer": null,
    "depthwise_constraint": {"module": "keras.constraints", "class_name": "UnitNorm", "config": {"axis": [0, 1, 2]},
                             "registered_name": null},
    "pointwise_constraint": null, "bias_constraint": null})");
  auto s = std::dynamic_pointer_cast<SeparableConv2D>(layer_from_config("SeparableConv2D", separable));
  ASSERT_TRUE(s);
  EXPECT_EQ((*s->options().pointwise_regularizer).get_config(), json({{"l2", 0.5}}));
  EXPECT_EQ((*s->options().depthwise_constraint).get_config().at("axis"), json({0, 1, 2}));
  EXPECT_FALSE(s->options().depthwise_regularizer);

  const json batch_norm = json::parse(R"({
    "name": "batch_normalization", "trainable": true, "dtype": "float32", "axis": -1, "momentum": 0.99,
    "epsilon": 0.001, "center": true, "scale": true,
    "beta_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
    "gamma_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null},
    "moving_mean_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
                                "registered_name": null},
    "moving_variance_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {},
                                    "registered_name": null},
    "beta_regularizer": null,
    "gamma_regularizer": {"module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.25},
                          "registered_name": null},
    "beta_constraint": {"module": "keras.constraints", "class_name": "NonNeg", "config": {}, "registered_name": null},
    "gamma_constraint": null, "synchronized": false})");
  auto bn = std::dynamic_pointer_cast<BatchNormalization>(layer_from_config("BatchNormalization", batch_norm));
  ASSERT_TRUE(bn);
  bn->build({3});  // gamma starts at ones: the penalty is 0.25 * 3
  EXPECT_NEAR(total_of(bn->regularization_losses()), 0.75, 1e-7);
  EXPECT_EQ((*bn->options().beta_constraint).name(), "NonNeg");

  const json embedding = json::parse(R"({
    "name": "embedding", "trainable": true, "dtype": "float32", "input_dim": 10, "output_dim": 4,
    "embeddings_initializer": {"module": "keras.initializers", "class_name": "RandomUniform",
                               "config": {"minval": -0.05, "maxval": 0.05, "seed": null}, "registered_name": null},
    "embeddings_regularizer": {"module": "keras.regularizers", "class_name": "L1", "config": {"l1": 0.01},
                               "registered_name": null},
    "activity_regularizer": null,
    "embeddings_constraint": {"module": "keras.constraints", "class_name": "MinMaxNorm",
                              "config": {"min_value": 0.5, "max_value": 1.0, "rate": 1.0, "axis": 1},
                              "registered_name": null},
    "mask_zero": false})");
  auto e = std::dynamic_pointer_cast<Embedding>(layer_from_config("Embedding", embedding));
  ASSERT_TRUE(e);
  EXPECT_EQ((*e->options().embeddings_regularizer).name(), "L1");
  EXPECT_EQ((*e->options().embeddings_constraint).get_config(),
            json({{"min_value", 0.5}, {"max_value", 1.0}, {"rate", 1.0}, {"axis", 1}}));

  const json prelu = json::parse(R"({
    "name": "p_re_lu", "trainable": true, "dtype": "float32",
    "alpha_initializer": {"module": "keras.initializers", "class_name": "Constant", "config": {"value": -0.5},
                          "registered_name": null},
    "alpha_regularizer": {"module": "keras.regularizers", "class_name": "L1", "config": {"l1": 0.1},
                          "registered_name": null},
    "alpha_constraint": {"module": "keras.constraints", "class_name": "NonNeg", "config": {}, "registered_name": null},
    "shared_axes": null})");
  auto p = std::dynamic_pointer_cast<PReLU>(layer_from_config("PReLU", prelu));
  ASSERT_TRUE(p);
  p->build({4});  // alpha all -0.5: the L1 penalty is 0.1 * 4 * 0.5, and NonNeg zeroes it
  EXPECT_NEAR(total_of(p->regularization_losses()), 0.2, 1e-7);
  p->apply_constraints();
  EXPECT_EQ(p->alpha().to_vector<float>(), std::vector<float>(4, 0.0f));

  const json activity = json::parse(R"({"name": "activity_regularization", "trainable": true, "dtype": "float32",
                                        "l1": 0.01, "l2": 0.02})");
  auto a = std::dynamic_pointer_cast<ActivityRegularization>(layer_from_config("ActivityRegularization", activity));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->l1(), 0.01);
  EXPECT_EQ(a->l2(), 0.02);
}

TEST(LayerRegularizationKerasConfigs, BadRegularizersAndConstraintsNameTheLayerAndTheKey) {
  json conv = Conv1D(2, 3).get_config();
  conv["kernel_regularizer"] = keras_object("keras.regularizers", "L3", {{"l3", 0.1}});
  const std::string regularizer = error_of([&] { layer_from_config("Conv1D", conv); });
  EXPECT_TRUE(contains(regularizer, "Conv1D")) << regularizer;
  EXPECT_TRUE(contains(regularizer, "kernel_regularizer")) << regularizer;
  EXPECT_TRUE(contains(regularizer, "L3")) << regularizer;
  json lstm = LSTM(2, RNNOptions{.name = "encoder"}).get_config();
  lstm["recurrent_constraint"] = keras_object("keras.constraints", "Clip", json::object());
  const std::string constraint = error_of([&] { layer_from_config("LSTM", lstm); });
  EXPECT_TRUE(contains(constraint, "'encoder'")) << constraint;
  EXPECT_TRUE(contains(constraint, "recurrent_constraint")) << constraint;
  EXPECT_TRUE(contains(constraint, "Clip")) << constraint;
}

// The wrappers' losses and constraints are their layers': Bidirectional's both directions,
// TimeDistributed's one layer (its activity penalty on the [batch * time, ...] output).
TEST(LayerRegularizationWrappers, PassTheirLayersLossesAndConstraintsThrough) {
  Bidirectional bidirectional(
      LSTM(2, RNNOptions{.kernel_regularizer = regularizers::L2(0.5), .kernel_constraint = constraints::NonNeg()}));
  bidirectional.set_dtype(DType::Float64);
  bidirectional.build({3, 2});
  randomize_weights(bidirectional, 71);
  const auto losses = bidirectional.regularization_losses();
  ASSERT_EQ(losses.size(), 2u);
  const auto square_sum = [](const Tensor& t) { return l1l2_sum(t.to_vector<double>(), {0.0, 1.0}); };
  EXPECT_NEAR(losses[0].item(), 0.5 * square_sum(bidirectional.forward_layer()->kernel()), 1e-12);
  EXPECT_NEAR(losses[1].item(), 0.5 * square_sum(bidirectional.backward_layer()->kernel()), 1e-12);
  bidirectional.apply_constraints();
  for (const auto& layer : {bidirectional.forward_layer(), bidirectional.backward_layer()}) {
    const auto k = layer->kernel().to_vector<double>();
    EXPECT_EQ(*std::min_element(k.begin(), k.end()), 0.0) << layer->name();
  }
  const json config = bidirectional.get_config();
  auto copy = layer_from_config("Bidirectional", config);
  EXPECT_EQ(copy->get_config(), config);
  copy->build({3, 2});
  EXPECT_EQ(copy->regularization_losses().size(), 2u) << "the nested layers' configs keep their regularizers";

  TimeDistributed distributed(Dense(2, DenseOptions{.kernel_regularizer = regularizers::L1(0.3),
                                                    .activity_regularizer = regularizers::L2(0.1),
                                                    .kernel_constraint = constraints::NonNeg()}));
  distributed.set_dtype(DType::Float64);
  distributed.build({3, 4});
  randomize_weights(distributed, 81);
  const Tensor x = testing::random_tensor({2, 3, 4}, 82, DType::Float64);
  const Tensor y = distributed(x);
  const auto dense_losses = distributed.regularization_losses();
  ASSERT_EQ(dense_losses.size(), 2u);
  const Tensor kernel = std::dynamic_pointer_cast<Dense>(distributed.layer())->kernel();
  EXPECT_NEAR(dense_losses[0].item(), l1l2_sum(kernel.to_vector<double>(), {0.3, 0.0}), 1e-12);
  EXPECT_NEAR(dense_losses[1].item(), l1l2_sum(y.to_vector<double>(), {0.0, 0.1}) / 6.0, 1e-12);
  distributed.apply_constraints();
  const auto k = kernel.to_vector<double>();
  EXPECT_EQ(*std::min_element(k.begin(), k.end()), 0.0);
}

TEST(LayerRegularizationActivityLayer, PassesItsInputAndPenalisesIt) {
  ActivityRegularization layer(0.1, 0.2);
  layer.set_dtype(DType::Float64);
  EXPECT_EQ(layer.name().rfind("activity_regularization", 0), 0u);
  EXPECT_TRUE(layer.regularization_losses().empty());
  const Tensor x = testing::random_tensor({4, 3}, 91, DType::Float64);
  const Tensor y = layer(x);
  EXPECT_TRUE(testing::same_bits(y, x));
  const auto v = x.to_vector<double>();
  ASSERT_EQ(layer.regularization_losses().size(), 1u);
  EXPECT_NEAR(layer.regularization_losses()[0].item(), l1l2_sum(v, {0.1, 0.2}) / 4.0, 1e-12);
  EXPECT_EQ(layer.get_config().at("l1"), 0.1);
  EXPECT_EQ(layer.get_config().at("l2"), 0.2);
  EXPECT_FALSE(layer.get_config().contains("activity_regularizer"));
  EXPECT_EQ(layer_from_config("ActivityRegularization", layer.get_config())->get_config(), layer.get_config());
  EXPECT_EQ(ActivityRegularization().get_config().at("l1"), 0.0) << "Keras's defaults are 0";
  const std::string error = error_of([] { ActivityRegularization(-1.0); });
  EXPECT_TRUE(contains(error, "ActivityRegularization")) << error;
  EXPECT_TRUE(contains(error, "l1 must be")) << error;
  EXPECT_TRUE(contains(error, "-1")) << error;

  Tensor input = testing::random_tensor({3, 2}, 92, DType::Float64).set_requires_grad();
  ActivityRegularization penalty(0.3, 0.7);
  penalty.set_dtype(DType::Float64);
  testing::expect_gradients_match("activity_regularization",
                                  [&] {
                                    penalty(input);
                                    return penalty.regularization_losses()[0];
                                  },
                                  {input});
  testing::expect_layer_gradients_match(
      {"ActivityRegularization", [] { return std::make_shared<ActivityRegularization>(0.3, 0.7); }, {3, 2}});

  // In a model, fit() reports the loss plus the penalty on what reaches the layer.
  const Tensor data = testing::random_tensor({4, 3}, 93);
  const Tensor target = testing::random_tensor({4, 2}, 94);
  auto dense = std::make_shared<Dense>(2, DenseOptions{.input_shape = {3}});
  double losses[2];
  std::vector<Tensor> initial;
  for (int with : {0, 1}) {
    Sequential model;
    model.add(dense);
    if (with) model.add(ActivityRegularization(0.0, 0.5));
    if (initial.empty()) initial = dense->get_weights();
    dense->set_weights(initial);
    model.compile(optim::SGD(0.01), "mse");
    losses[with] =
        model.fit(data, target, {.epochs = 1, .batch_size = 4, .verbose = 0, .shuffle = false}).history.at("loss")[0];
  }
  dense->set_weights(initial);
  const double expected = l1l2_sum((*dense)(data).to_vector<double>(), {0.0, 0.5}) / 4.0;
  EXPECT_NEAR(losses[1] - losses[0], expected, 1e-5 * (1 + expected));
}

// docs/keras_coverage.md's "Regularizers and constraints" table: layer -> {regularizers, constraints}.
std::map<std::string, std::pair<std::string, std::string>> documented_regularization() {
  std::ifstream in(std::string(KILN_TEST_FIXTURES) + "/../../docs/keras_coverage.md");
  std::map<std::string, std::pair<std::string, std::string>> rows;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("## ", 0) == 0) inside = line == "## Regularizers and constraints";
    if (!inside || line.rfind("| ", 0) != 0 || line.rfind("| Keras |", 0) == 0) continue;
    std::vector<std::string> cells;
    std::stringstream cells_in(line.substr(1));
    for (std::string cell; std::getline(cells_in, cell, '|');) {
      cells.push_back(cell.substr(1, cell.size() - 2));  // without the padding spaces
    }
    if (cells.size() == 4) rows[cells[0]] = {cells[2], cells[3]};
  }
  return rows;
}

TEST(LayerRegularizationDocs, TheCoverageTableSaysWhatEachLayerTakes) {
  auto rows = documented_regularization();
  for (const RegularizationCase& c : regularization_cases()) {
    std::string regularizers, constraints;
    for (const auto& rule : c.rules) {
      regularizers += (regularizers.empty() ? "" : ", ") + rule.first;
      constraints += (constraints.empty() ? "" : ", ") + rule.first;
    }
    if (c.activity) regularizers += ", activity";
    ASSERT_TRUE(rows.count(c.type)) << "docs/keras_coverage.md has no row for " << c.type;
    EXPECT_EQ(rows.at(c.type), std::make_pair(regularizers, constraints)) << c.type;
    rows.erase(c.type);
  }
  // The rest are the layers the other tests here check.
  EXPECT_EQ(rows.at("ActivityRegularization"), std::make_pair(std::string("activity"), std::string("none")));
  EXPECT_EQ(rows.at("Bidirectional").first, "the wrapped layers'");
  EXPECT_EQ(rows.at("TimeDistributed").first, "the wrapped layer's");
  EXPECT_EQ(rows.size(), 3u);
}

}  // namespace kiln::layer_regularization_test
