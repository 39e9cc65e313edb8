// model_from_json on architecture JSON in Keras 3's to_json() format (hand-written samples under
// tests/fixtures/keras_json, following what Keras 3 writes) and on Kiln's own model_to_json.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kiln/kiln.hpp"

namespace kiln {
namespace {

std::string keras_json_fixture(const std::string& name) {
  std::ifstream in(std::string(KILN_TEST_FIXTURES) + "/keras_json/" + name);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_FALSE(text.str().empty()) << name;
  return text.str();
}

std::vector<std::string> layer_types(const Model& model) {
  std::vector<std::string> types;
  for (const auto& l : model.layers()) types.push_back(l->type());
  return types;
}

TEST(ModelFromJson, KerasSequential) {
  const auto model = model_from_json(keras_json_fixture("sequential_cnn.json"));
  EXPECT_EQ(model->class_name(), "Sequential");
  EXPECT_EQ(model->name(), "sequential");
  EXPECT_EQ(layer_types(*model),
            (std::vector<std::string>{"RandomTranslation", "Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense"}));
  // Conv2D 8 x (3 x 3 x 1) + 8, Dense 13 x 13 x 8 x 10 + 10.
  EXPECT_EQ(model->count_params(), 80 + 1352 * 10 + 10);
  const auto translation = std::dynamic_pointer_cast<layers::RandomTranslation>(model->layers()[0]);
  ASSERT_TRUE(translation);
  EXPECT_EQ(translation->options().fill_mode, "nearest");
  EXPECT_EQ(translation->seed(), std::optional<std::uint64_t>(7));
  EXPECT_EQ(translation->width_range(), (std::pair<double, double>{-0.1, 0.1}));
  const auto p = model->predict(Tensor::zeros({3, 28, 28, 1})).to_vector<float>();
  ASSERT_EQ(p.size(), 30u);
  for (int i = 0; i < 3; ++i) {
    double total = 0;
    for (int k = 0; k < 10; ++k) total += p[static_cast<std::size_t>(i * 10 + k)];
    EXPECT_NEAR(total, 1.0, 1e-5);  // softmax rows
  }
}

TEST(ModelFromJson, KerasFunctional) {
  const auto model = model_from_json(keras_json_fixture("functional_mlp.json"));
  EXPECT_EQ(model->class_name(), "Functional");
  EXPECT_EQ(layer_types(*model), (std::vector<std::string>{"Dense", "Dense", "Add", "Dense"}));
  EXPECT_EQ(model->count_params(), (30 * 16 + 16) + (16 * 16 + 16) + (16 * 2 + 2));
  // add = dense + dense_1(dense): with dense_1's weights zeroed (relu(0) = 0) the model is dense_2(dense(x)).
  auto dense = model->layers()[0], dense_1 = model->layers()[1], dense_2 = model->layers()[3];
  dense_1->set_weights({Tensor::zeros({16, 16}), Tensor::zeros({16})});
  const Tensor x = Tensor::full({2, 30}, 0.1);
  const Tensor expected = softmax(linear(relu(linear(x, dense->weights()[0].value, dense->weights()[1].value)),
                                         dense_2->weights()[0].value, dense_2->weights()[1].value));
  const auto got = model->predict(x).to_vector<float>(), want = expected.to_vector<float>();
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-5);
}

TEST(ModelFromJson, KilnsOwnJsonRoundTrips) {
  for (const char* file : {"sequential_cnn.json", "functional_mlp.json"}) {
    const auto model = model_from_json(keras_json_fixture(file));
    const auto again = model_from_json(model_to_json(*model).dump());
    EXPECT_EQ(model_to_json(*again), model_to_json(*model)) << file;
  }
}

TEST(ModelFromJson, ErrorsNameTheProblem) {
  std::string text = keras_json_fixture("sequential_cnn.json");
  text.replace(text.find("\"Dropout\""), 9, "\"RandomHue\"");
  try {
    model_from_json(text);
    ADD_FAILURE() << "an unknown layer class was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("RandomHue"), std::string::npos) << e.what();
  }
  EXPECT_THROW(model_from_json("{\"class_name\": \"Sequential\""), Error);
  EXPECT_THROW(model_from_json("[1, 2]"), Error);
  EXPECT_THROW(model_from_json(R"({"class_name": "Sequential", "config": {"name": "s"}})"), Error);
}

}  // namespace
}  // namespace kiln
