// Every registered layer survives get_config -> layer_from_config unchanged.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "kiln/kiln.hpp"

namespace kiln {
namespace {

using namespace kiln::layers;

TEST(LayerConfig, RoundTripsEveryLayer) {
  const std::vector<std::shared_ptr<Layer>> originals = {
      std::make_shared<Dense>(7, DenseOptions{.activation = "tanh", .use_bias = false,
                                              .kernel_initializer = Initializer::random_normal(0.0, 0.2),
                                              .input_shape = {5}, .name = "d"}),
      std::make_shared<Conv2D>(8, Size2{3, 2}, Conv2DOptions{.strides = Size2{2, 1}, .padding = "same",
                                                            .activation = "relu", .name = "c"}),
      std::make_shared<MaxPooling2D>(Size2{3, 3}, Pooling2DOptions{.strides = Size2(2), .padding = "same"}),
      std::make_shared<AveragePooling2D>(2),
      std::make_shared<Flatten>(),
      std::make_shared<Reshape>(Shape{4, -1}),
      std::make_shared<Dropout>(0.25, std::nullopt, 42),
      std::make_shared<Activation>("sigmoid"),
      std::make_shared<Rescaling>(1.0 / 255, 0.5),
      std::make_shared<Embedding>(50, 8, EmbeddingOptions{.mask_zero = true, .input_shape = {12}}),
      std::make_shared<PositionEmbedding>(16, PositionEmbeddingOptions{.initializer = "he_normal"}),
      std::make_shared<TokenAndPositionEmbedding>(30, 10, 6),
      std::make_shared<SimpleRNN>(5, RNNOptions{.activation = "relu", .go_backwards = true}),
      std::make_shared<LSTM>(7, RNNOptions{.recurrent_initializer = Initializer::orthogonal(0.5),
                                           .return_sequences = true, .return_state = true}),
      std::make_shared<GRU>(3, RNNOptions{.use_bias = false, .zero_output_for_mask = true, .input_shape = {4, 2}}),
      std::make_shared<LayerNormalization>(LayerNormalizationOptions{.epsilon = 1e-5, .center = false}),
      std::make_shared<MultiHeadAttention>(4, 8, MultiHeadAttentionOptions{.value_dim = 6, .output_shape = 10}),
      std::make_shared<TransformerEncoder>(64, 4, TransformerEncoderOptions{.dropout = 0.1, .normalize_first = true,
                                                                            .use_causal_mask = true}),
      std::make_shared<Conv2DTranspose>(4, Size2{5, 3}, Conv2DTransposeOptions{.strides = Size2{2, 1}, .padding = "same",
                                                                              .activation = "tanh", .use_bias = false}),
      std::make_shared<UpSampling2D>(Size2{3, 2}),
      std::make_shared<BatchNormalization>(BatchNormalizationOptions{.momentum = 0.8, .epsilon = 1e-5, .center = false,
                                                                     .gamma_initializer = "random_normal"}),
      std::make_shared<LeakyReLU>(0.2),
      std::make_shared<Concatenate>(2),
      std::make_shared<Add>(),
  };
  for (const auto& layer : originals) {
    const nlohmann::json config = layer->get_config();
    auto copy = layer_from_config(layer->type(), config);
    EXPECT_EQ(copy->type(), layer->type());
    EXPECT_EQ(copy->name(), layer->name());
    EXPECT_EQ(copy->get_config(), config) << layer->type();
  }
}

TEST(LayerConfig, UnknownTypeAndBadConfigNameTheProblem) {
  try {
    layer_from_config("Conv3D", nlohmann::json::object());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Conv3D"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("Conv2D"), std::string::npos) << "lists the known types";
  }
  EXPECT_THROW(layer_from_config("Dense", nlohmann::json{{"name", "x"}}), Error);
}

}  // namespace
}  // namespace kiln
