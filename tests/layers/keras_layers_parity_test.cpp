// The layers added for Keras parity against PyTorch: each case of
// tests/fixtures/keras_layers_parity.json (written by
// generate_keras_layer_fixtures.py) names a layer and the config Keras 3's
// get_config writes for it; the layer is built from that config with
// layer_from_config, given the fixture's weights, and its output and the
// gradients of sum(output * r) with respect to the input and every weight must
// match PyTorch's: to 1e-10 in float64 and 1e-4 in float32 (the fast kernels),
// elementwise, scaled by 1 + |expected|.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "kiln/kiln.hpp"
#include "support/parity.hpp"

namespace kiln {
namespace {

using nlohmann::json;
using namespace kiln::layers;
using testing::expect_close;
using testing::PyTorchFixture;
using testing::tensor_of;

const PyTorchFixture kKerasLayerFixture("keras_layers_parity.json", "generate_keras_layer_fixtures.py");

TEST(KerasLayersParity, FixtureHoldsEveryLayer) {
  std::set<std::string> layers;
  for (const json& c : kKerasLayerFixture.cases("cases")) layers.insert(c.at("layer").get<std::string>());
  for (const char* type : {"Conv1D", "Conv2D", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling1D", "AveragePooling1D",
                           "UpSampling1D", "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D",
                           "GlobalMaxPooling2D", "GroupNormalization", "UnitNormalization", "Bidirectional",
                           "TimeDistributed", "Attention", "AdditiveAttention"}) {
    EXPECT_TRUE(layers.count(type)) << kKerasLayerFixture.path() << " has no " << type
                                    << " case; regenerate it with tests/fixtures/generate_keras_layer_fixtures.py";
  }
}

TEST(KerasLayersParity, OutputsAndGradientsMatchPyTorch) {
  const auto all = kKerasLayerFixture.cases("cases");
  ASSERT_FALSE(all.empty()) << "cannot read " << kKerasLayerFixture.path();
  for (const json& c : all) {
    const std::string name = c.at("name").get<std::string>();
    for (DType dtype : {DType::Float64, DType::Float32}) {
      SCOPED_TRACE(name + " " + dtype_name(dtype));
      json config = c.at("config");
      config["name"] = name + "_" + dtype_name(dtype);
      auto layer = layer_from_config(c.at("layer").get<std::string>(), config);
      layer->set_dtype(dtype);
      std::vector<Tensor> weights;
      for (const json& w : c.at("weights")) weights.push_back(tensor_of(w, dtype));
      std::vector<Tensor> inputs;
      Tensor y;
      if (c.contains("inputs")) {  // a layer called on a list (Attention)
        auto merge = std::dynamic_pointer_cast<MergeLayer>(layer);
        ASSERT_TRUE(merge);
        std::vector<Shape> samples;
        for (const json& t : c.at("inputs")) {
          inputs.push_back(tensor_of(t, dtype).set_requires_grad());
          samples.emplace_back(inputs.back().shape().begin() + 1, inputs.back().shape().end());
        }
        merge->build_inputs(samples);
        layer->set_weights(weights);
        y = (*merge)(inputs);
      } else {
        inputs.push_back(tensor_of(c.at("x"), dtype).set_requires_grad());
        layer->build(Shape(inputs[0].shape().begin() + 1, inputs[0].shape().end()));
        layer->set_weights(weights);
        y = (*layer)(inputs[0]);
      }
      expect_close(y, c.at("y"), name + " output", dtype);
      sum(y * tensor_of(c.at("r"), dtype)).backward();
      const json grad_inputs = c.contains("grad_inputs") ? c.at("grad_inputs") : json::array({c.at("grad_x")});
      for (std::size_t i = 0; i < inputs.size(); ++i) {
        expect_close(inputs[i].grad(), grad_inputs.at(i), name + " input " + std::to_string(i) + " gradient", dtype);
      }
      const auto order = layer->weights_in_keras_order();
      ASSERT_EQ(order.size(), c.at("grad_weights").size());
      for (std::size_t i = 0; i < order.size(); ++i) {
        expect_close(order[i].value.grad(), c.at("grad_weights").at(i), name + " " + order[i].name + " gradient",
                     dtype);
      }
    }
  }
}

}  // namespace
}  // namespace kiln
