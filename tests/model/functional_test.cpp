// Functional models: graphs of layer calls on symbolic tensors, with several
// inputs and outputs, shared layers and nested models — and their errors.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "kiln/kiln.hpp"
#include "support/gradcheck.hpp"
#include "support/errors.hpp"
#include "support/common.hpp"

namespace kiln {
namespace {

using testing::random_tensor;
using testing::contains;

using namespace kiln::layers;

using testing::error_of;

TEST(Functional, ComputesWhatTheSameLayersInASequentialCompute) {
  auto d1 = std::make_shared<Dense>(5, "relu"), d2 = std::make_shared<Dense>(3, "softmax");
  const SymbolicTensor x = Input({4});
  EXPECT_EQ(x.shape(), (Shape{4}));
  const SymbolicTensor h = (*d1)(x);
  EXPECT_EQ(h.shape(), (Shape{5}));
  Model functional(x, (*d2)(h));
  Sequential sequential({d1, d2});  // the very same layers
  const Tensor batch = random_tensor({6, 4}, 1);
  EXPECT_EQ(functional(batch).to_vector<float>(), sequential(batch).to_vector<float>());
  EXPECT_EQ(functional.count_params(), 4 * 5 + 5 + 5 * 3 + 3);
  EXPECT_EQ(functional.layers().size(), 2u);
}

// Input -> Dense -> Dense written with temporaries; fit, evaluate and predict
// work as for any model.
TEST(Functional, TemporaryLayersTrainWithFit) {
  manual_seed(2);
  const SymbolicTensor x = Input({2}, "xy");
  const SymbolicTensor y = Dense(1)(Dense(16, "tanh")(x));
  Model model(x, y, "regressor");
  EXPECT_EQ(model.name(), "regressor");
  EXPECT_EQ(model.layers().size(), 2u);
  // y = x0 - 2 x1
  const Tensor xs = random_tensor({256, 2}, 3);
  const auto v = xs.to_vector<float>();
  std::vector<float> t(256);
  for (int i = 0; i < 256; ++i) t[i] = v[2 * i] - 2 * v[2 * i + 1];
  const Tensor ys = Tensor::from_vector(t, {256, 1});
  model.compile(optim::Adam(0.02), losses::MeanSquaredError());
  const double before = model.evaluate(xs, ys, {.verbose = 0}).at("loss");
  const History h = model.fit(xs, ys, {.epochs = 20, .batch_size = 32, .verbose = 0, .seed = 1});
  EXPECT_EQ(h.history.at("loss").size(), 20u);
  const double after = model.evaluate(xs, ys, {.verbose = 0}).at("loss");
  EXPECT_LT(after, before * 0.05) << before << " -> " << after;
  EXPECT_EQ(model.predict(xs, {.batch_size = 100}).shape(), (Shape{256, 1}));
}

TEST(Functional, SeveralInputsAndOutputs) {
  const SymbolicTensor a = Input({3}, "a"), b = Input({2}, "b");
  const SymbolicTensor joined = Concatenate()({a, b});
  EXPECT_EQ(joined.shape(), (Shape{5}));
  auto hidden = std::make_shared<Dense>(4, "relu");
  auto head1 = std::make_shared<Dense>(1), head2 = std::make_shared<Dense>(2, "softmax");
  const SymbolicTensor h = (*hidden)(joined);
  Model model({a, b}, {(*head1)(h), (*head2)(h)});
  const Tensor ta = random_tensor({5, 3}, 1), tb = random_tensor({5, 2}, 2);
  const auto outs = model({ta, tb});
  ASSERT_EQ(outs.size(), 2u);
  EXPECT_EQ(outs[0].shape(), (Shape{5, 1}));
  EXPECT_EQ(outs[1].shape(), (Shape{5, 2}));
  // The same computation by hand.
  const Tensor expected = (*head1)((*hidden)(concat({ta, tb}, 1)));
  EXPECT_EQ(outs[0].to_vector<float>(), expected.to_vector<float>());
  // One tensor for a two-input model is an error naming the model.
  const std::string msg = error_of([&] { model(ta); });
  EXPECT_TRUE(contains(msg, "2 inputs")) << msg;
}

// Keras's fit([x1, x2], y): a dataset of several inputs trains, evaluates and
// predicts a two-input model. The target needs both inputs row by row, so it is
// only learnt if shuffling and validation_split keep the inputs' rows together.
TEST(Functional, SeveralInputsTrainWithFit) {
  manual_seed(6);
  const SymbolicTensor a = Input({3}, "a"), b = Input({2}, "b");
  const SymbolicTensor h = Dense(16, "tanh")(Concatenate()({a, b}));
  Model model({a, b}, {Dense(1)(h)}, "two_inputs");
  const std::int64_t n = 512;
  const Tensor ta = random_tensor({n, 3}, 11), tb = random_tensor({n, 2}, 12);
  const auto va = ta.to_vector<float>(), vb = tb.to_vector<float>();
  std::vector<float> t(n);
  for (std::int64_t i = 0; i < n; ++i) t[i] = va[3 * i] - va[3 * i + 2] + 2 * vb[2 * i + 1];
  const data::Dataset data({ta, tb}, Tensor::from_vector(t, {n, 1}));
  EXPECT_EQ(data.size(), n);
  model.compile(optim::Adam(0.02), losses::MeanSquaredError());
  const double before = model.evaluate(data, {.verbose = 0}).at("loss");
  const History h_ = model.fit(data, {.epochs = 25, .batch_size = 32, .verbose = 0, .validation_split = 0.25, .seed = 2});
  const double after = model.evaluate(data, {.verbose = 0}).at("loss");
  EXPECT_LT(after, before * 0.05) << before << " -> " << after;
  EXPECT_LT(h_.history.at("val_loss").back(), before * 0.05);
  // predict on the inputs alone gives what calling the model gives.
  const Tensor p = model.predict(data::Dataset(std::vector<Tensor>{ta, tb}), {.batch_size = 100});
  EXPECT_EQ(p.to_vector<float>(), model({ta, tb})[0].to_vector<float>());

  // Inputs of different lengths name both; a single tensor for two inputs names the model.
  const std::string msg = error_of([&] { data::Dataset({ta, random_tensor({n - 1, 2}, 13)}, Tensor::zeros({n})); });
  EXPECT_TRUE(contains(msg, "input 1 has 511")) << msg;
  const std::string one = error_of([&] { model.predict(ta, {.verbose = 0}); });
  EXPECT_TRUE(contains(one, "2 inputs")) << one;
}

// Gradients through the whole graph — two inputs, a shared layer used twice,
// Add and Concatenate — against finite differences, in float64.
TEST(Functional, GradientsThroughASharedLayerMatchFiniteDifferences) {
  const SymbolicTensor a = Input({3}, "left", DType::Float64), b = Input({3}, "right", DType::Float64);
  auto shared = std::make_shared<Dense>(2, "tanh");
  shared->set_dtype(DType::Float64);
  auto merge = std::make_shared<Add>();
  merge->set_dtype(DType::Float64);
  auto join = std::make_shared<Concatenate>();
  join->set_dtype(DType::Float64);
  auto head = std::make_shared<Dense>(1);
  head->set_dtype(DType::Float64);
  const SymbolicTensor out = (*head)((*join)({(*merge)({(*shared)(a), (*shared)(b)}), a}));
  Model model({a, b}, {out});
  EXPECT_EQ(model.trainable_weights().size(), 4u) << "the shared layer's weights count once";
  EXPECT_EQ(model.count_params(), 3 * 2 + 2 + 5 + 1);
  Tensor ta = random_tensor({4, 3}, 5, DType::Float64).set_requires_grad();
  Tensor tb = random_tensor({4, 3}, 6, DType::Float64).set_requires_grad();
  std::vector<Tensor> wrt{ta, tb};
  for (const Tensor& w : model.trainable_weights()) wrt.push_back(w);
  testing::expect_gradients_match("functional_shared", [&] { return sum(model({ta, tb}, true)[0]); }, wrt);
}

// A GAN wired the Keras way: combined = discriminator(generator(z)), with the
// discriminator frozen, so training the combined model moves only the generator.
TEST(Functional, NestedModelsAndFreezing) {
  manual_seed(4);
  const SymbolicTensor z = Input({3}, "z");
  auto generator = std::make_shared<Model>(z, Dense(4, "tanh")(Dense(8, "relu")(z)), "generator");
  auto discriminator = std::make_shared<Sequential>();
  discriminator->set_name("discriminator");
  discriminator->add(Dense(8, "relu", {4}));
  discriminator->add(Dense(1));
  const SymbolicTensor noise = Input({3}, "noise");
  Model combined(noise, (*discriminator)((*generator)(noise)), "combined");
  EXPECT_EQ(combined.layers().size(), 4u);
  EXPECT_EQ(combined.count_params(), generator->count_params() + discriminator->count_params());
  std::ostringstream summary;
  combined.summary(summary);
  EXPECT_TRUE(contains(summary.str(), "generator (Functional)")) << summary.str();
  EXPECT_TRUE(contains(summary.str(), "discriminator (Sequential)")) << summary.str();
  EXPECT_TRUE(contains(summary.str(), "['generator[0][0]']")) << summary.str();

  discriminator->set_trainable(false);
  EXPECT_EQ(combined.trainable_weights().size(), generator->trainable_weights().size());
  const auto d_before = discriminator->layers()[0]->weights()[0].value.to_vector<float>();
  const auto g_before = generator->layers()[0]->weights()[0].value.to_vector<float>();
  combined.compile(optim::Adam(0.01), losses::BinaryCrossentropy(true));
  combined.fit(random_tensor({32, 3}, 7), Tensor::ones({32, 1}), {.epochs = 2, .batch_size = 8, .verbose = 0});
  EXPECT_EQ(discriminator->layers()[0]->weights()[0].value.to_vector<float>(), d_before);
  EXPECT_NE(generator->layers()[0]->weights()[0].value.to_vector<float>(), g_before);
  // Nesting runs the same computation as calling the models one after the other.
  const Tensor zs = random_tensor({5, 3}, 8);
  EXPECT_EQ(combined(zs).to_vector<float>(), (*discriminator)((*generator)(zs)).to_vector<float>());
}

TEST(Functional, MissingInputNamesTheLayerThatNeedsIt) {
  const SymbolicTensor image = Input({4}, "image"), label = Input({2}, "label");
  const SymbolicTensor joined = Concatenate(-1, "join")({image, label});
  const std::string msg = error_of([&] { Model(image, Dense(1)(joined)); });
  EXPECT_TRUE(contains(msg, "Concatenate 'join'")) << msg;
  EXPECT_TRUE(contains(msg, "Input 'label'")) << msg;
  EXPECT_TRUE(contains(msg, "not among the model's inputs")) << msg;
}

TEST(Functional, GeneratorOutputThatDoesNotFitTheDiscriminatorIsNamed) {
  // A generator making 14x14 images and a discriminator built for 28x28.
  const SymbolicTensor z = Input({8}, "z");
  const SymbolicTensor img = Conv2DTranspose(1, 4, {.strides = 2, .padding = "same", .name = "to_image"})(
      Reshape({7, 7, 1})(Dense(49)(z)));
  auto generator = std::make_shared<Model>(z, img, "generator");
  auto discriminator = std::make_shared<Sequential>();
  discriminator->set_name("critic");
  discriminator->add(Conv2D(4, 3, "relu", {28, 28, 1}));
  discriminator->add(Flatten());
  discriminator->add(Dense(1));
  std::string msg = error_of([&] { (*discriminator)((*generator)(z)); });
  EXPECT_TRUE(contains(msg, "critic")) << msg;
  EXPECT_TRUE(contains(msg, "model 'generator'")) << msg;
  EXPECT_TRUE(contains(msg, "[batch, 14, 14, 1]")) << msg;
  EXPECT_TRUE(contains(msg, "28, 28, 1")) << msg;
  // The same with a functional discriminator: its input is named.
  const SymbolicTensor image = Input({28, 28, 1}, "real_or_fake");
  auto critic2 = std::make_shared<Model>(image, Dense(1)(Flatten()(image)), "critic2");
  msg = error_of([&] { (*critic2)(img); });
  EXPECT_TRUE(contains(msg, "critic2")) << msg;
  EXPECT_TRUE(contains(msg, "real_or_fake")) << msg;
  EXPECT_TRUE(contains(msg, "Conv2DTranspose 'to_image'")) << msg;
}

TEST(Functional, WiringAndRunningErrorsNameTheLayer) {
  const SymbolicTensor x = Input({6}, "features");
  auto dense = std::make_shared<Dense>(2, DenseOptions{.name = "narrow"});
  (*dense)(Input({4}));
  std::string msg = error_of([&] { (*dense)(x); });
  EXPECT_TRUE(contains(msg, "narrow")) << msg;
  EXPECT_TRUE(contains(msg, "Input 'features'")) << msg;
  // A named layer on the stack could die before the model: it must be shared.
  Dense on_stack(3, DenseOptions{.name = "stacked"});
  msg = error_of([&] { on_stack(x); });
  EXPECT_TRUE(contains(msg, "stacked")) << msg;
  EXPECT_TRUE(contains(msg, "make_shared")) << msg;
  // Running with a wrongly shaped batch names the input.
  Model model(x, Dense(1)(x));
  msg = error_of([&] { model(Tensor::zeros({2, 5})); });
  EXPECT_TRUE(contains(msg, "'features'")) << msg;
  EXPECT_TRUE(contains(msg, "[batch, 6]")) << msg;
  EXPECT_TRUE(contains(msg, "[2, 5]")) << msg;
  // Inputs must be Inputs; names must be unique.
  const SymbolicTensor h = Dense(3)(x);
  msg = error_of([&] { Model(h, Dense(1)(h)); });
  EXPECT_TRUE(contains(msg, "not a kiln::Input")) << msg;
  msg = error_of([&] { Model(x, Dense(1, DenseOptions{.name = "twin"})(Dense(2, DenseOptions{.name = "twin"})(x))); });
  EXPECT_TRUE(contains(msg, "'twin'")) << msg;
  // A model used as a layer must be shared, too.
  Model plain(x, Dense(1)(x), "plain");
  msg = error_of([&] { plain(x); });
  EXPECT_TRUE(contains(msg, "plain")) << msg;
}

TEST(Functional, ConfigRecordsLayersAndConnections) {
  const SymbolicTensor a = Input({3}, "a"), b = Input({3}, "b");
  auto shared = std::make_shared<Dense>(2, DenseOptions{.name = "shared"});
  auto inner = std::make_shared<Sequential>();
  inner->set_name("inner");
  inner->add(Dense(1, "", {2}));
  const SymbolicTensor out = (*inner)(Add(std::string("sum"))({(*shared)(a), (*shared)(b)}));
  Model model({a, b}, {out}, "net");
  const nlohmann::json c = model.get_config();
  EXPECT_EQ(c.at("name"), "net");
  EXPECT_EQ(c.at("input_layers"), nlohmann::json::parse(R"([["a", 0, 0], ["b", 0, 0]])"));
  EXPECT_EQ(c.at("output_layers"), nlohmann::json::parse(R"([["inner", 0, 0]])"));
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& l : c.at("layers")) by_name[l.at("name")] = l;
  ASSERT_EQ(by_name.size(), 5u);
  EXPECT_EQ(by_name["a"].at("class_name"), "InputLayer");
  EXPECT_EQ(by_name["a"].at("config").at("batch_input_shape"), nlohmann::json::parse("[null, 3]"));
  EXPECT_EQ(by_name["shared"].at("class_name"), "Dense");
  EXPECT_EQ(by_name["shared"].at("config").at("units"), 2);
  // Called twice: two inbound nodes, one per input.
  EXPECT_EQ(by_name["shared"].at("inbound_nodes"), nlohmann::json::parse(R"([[["a", 0, 0, {}]], [["b", 0, 0, {}]]])"));
  EXPECT_EQ(by_name["sum"].at("inbound_nodes"),
            nlohmann::json::parse(R"([[["shared", 0, 0, {}], ["shared", 1, 0, {}]]])"));
  EXPECT_EQ(by_name["inner"].at("class_name"), "Sequential");
  EXPECT_EQ(by_name["inner"].at("config").at("layers").size(), 1u);
}

// The config rebuilds the same architecture: the same layers, connections and
// parameter counts (fresh weights), and the same config again.
TEST(Functional, ModelFromConfigRebuildsTheGraph) {
  const SymbolicTensor a = Input({3}, "a"), b = Input({3}, "b");
  auto shared = std::make_shared<Dense>(2, DenseOptions{.activation = "tanh", .name = "shared"});
  auto inner = std::make_shared<Sequential>();
  inner->set_name("inner_seq");
  inner->add(Dense(4, "", {4}));
  const SymbolicTensor joined = Concatenate(-1, "joined")({(*shared)(a), (*shared)(b)});
  const SymbolicTensor h = (*inner)(joined);
  Model model({a, b}, {Dense(1, DenseOptions{.name = "out1"})(h), Add(std::string("out2"))({h, joined})}, "net2");
  const nlohmann::json config = model.get_config();
  const auto copy = model_from_config("Functional", config);
  EXPECT_EQ(copy->name(), "net2");
  EXPECT_EQ(copy->get_config(), config);
  EXPECT_EQ(copy->count_params(), model.count_params());
  EXPECT_EQ(copy->inputs().size(), 2u);
  EXPECT_EQ(copy->outputs().size(), 2u);
  const auto outs = (*copy)({Tensor::ones({2, 3}), Tensor::ones({2, 3})});
  EXPECT_EQ(outs[1].shape(), (Shape{2, 4}));
  // A connection to nothing is an error naming it.
  nlohmann::json broken = config;
  for (auto& l : broken["layers"]) {
    if (l["name"] == "out1") l["inbound_nodes"][0][0][0] = "nowhere";
  }
  try {
    model_from_config("Functional", broken);
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "out1")) << e.what();
    EXPECT_TRUE(contains(e.what(), "nowhere")) << e.what();
  }
}

// A subclass with its own train_step: no compile(), no targets, and fit still
// shows and records each value it returns, averaged over the epoch.
TEST(CustomTrainStep, FitRecordsWhatTheStepReturns) {
  struct Counter : Model {
    int steps = 0;
    Logs train_step(const data::Batch& batch) override {
      ++steps;
      return {{"a_loss", double(steps)}, {"b_loss", double(batch.x.size(0))}};
    }
  };
  struct Recorder : Callback {
    std::vector<Logs> epochs;
    void on_epoch_end(Model&, int, const Logs& logs) override { epochs.push_back(logs); }
  };
  Counter model;
  auto recorder = std::make_shared<Recorder>();
  const History h = model.fit(data::Dataset(Tensor::zeros({10, 1})),
                              {.epochs = 2, .batch_size = 4, .verbose = 0, .shuffle = false, .callbacks = {recorder}});
  EXPECT_EQ(model.steps, 6);
  // Batches of 4, 4 and 2: weighted means (1*4 + 2*4 + 3*2) / 10 and (4*4 + 5*4 + 6*2) / 10.
  EXPECT_DOUBLE_EQ(h.history.at("a_loss")[0], 1.8);
  EXPECT_DOUBLE_EQ(h.history.at("a_loss")[1], 4.8);
  EXPECT_DOUBLE_EQ(h.history.at("b_loss")[0], 3.6);
  ASSERT_EQ(recorder->epochs.size(), 2u);
  EXPECT_EQ(recorder->epochs[1].count("a_loss"), 1u);
}

TEST(CustomTrainStep, NonFiniteValueStopsFitNamingIt) {
  struct Diverging : Model {
    Logs train_step(const data::Batch&) override { return {{"d_loss", 0.5}, {"g_loss", std::nan("")}}; }
  };
  Diverging model;
  const std::string msg = error_of([&] { model.fit(data::Dataset(Tensor::zeros({4, 1})), {.verbose = 0}); });
  EXPECT_TRUE(contains(msg, "g_loss became nan")) << msg;
  // Without an override, fit needs compile() and targets.
  const SymbolicTensor x = Input({1});
  Model plain(x, Dense(1)(x));
  EXPECT_TRUE(contains(error_of([&] { plain.fit(data::Dataset(Tensor::zeros({4, 1})), {.verbose = 0}); }), "compile"));
}

}  // namespace
}  // namespace kiln
