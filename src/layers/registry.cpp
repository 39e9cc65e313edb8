// Every layer type that can be rebuilt from its config. A new layer adds one
// entry here (explicit, rather than static registration objects, which a
// static library's linker may drop).
#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/layers/activation.hpp"
#include "kiln/layers/activation_layers.hpp"
#include "kiln/layers/attention.hpp"
#include "kiln/layers/batch_normalization.hpp"
#include "kiln/layers/conv2d.hpp"
#include "kiln/layers/conv2d_transpose.hpp"
#include "kiln/layers/dense.hpp"
#include "kiln/layers/dropout.hpp"
#include "kiln/layers/embedding.hpp"
#include "kiln/layers/leaky_relu.hpp"
#include "kiln/layers/merging.hpp"
#include "kiln/layers/normalization.hpp"
#include "kiln/layers/pooling.hpp"
#include "kiln/layers/preprocessing/normalization.hpp"
#include "kiln/layers/preprocessing/random_affine.hpp"
#include "kiln/layers/preprocessing/random_color.hpp"
#include "kiln/layers/preprocessing/random_flip.hpp"
#include "kiln/layers/preprocessing/resizing.hpp"
#include "kiln/layers/recurrent.hpp"
#include "kiln/layers/rescaling.hpp"
#include "kiln/layers/reshaping.hpp"
#include "kiln/layers/transformer.hpp"
#include "kiln/layers/upsampling2d.hpp"
#include "layers/registry_detail.hpp"
#include "layers/weight_regularization.hpp"

namespace kiln::layers {
namespace {

using json = nlohmann::json;
using Factory = std::function<std::shared_ptr<Layer>(const json&)>;

Shape shape_or_empty(const json& c, const char* key) { return c.contains(key) ? c.at(key).get<Shape>() : Shape{}; }

Size2 size2(const json& j) { return {j.at(0).get<std::int64_t>(), j.at(1).get<std::int64_t>()}; }

// SimpleRNN, LSTM and GRU share their options.
template <typename L>
std::shared_ptr<Layer> rnn_from(const json& c) {
  // Keras 3 configs carry choices Kiln has one answer to; anything else would silently be another model.
  if (c.value("recurrent_activation", std::string("sigmoid")) != "sigmoid") {
    throw Error("recurrent_activation \"" + c.at("recurrent_activation").get<std::string>() +
                "\" is not supported; Kiln's LSTM and GRU gates use sigmoid");
  }
  if (!c.value("reset_after", true)) throw Error("GRU reset_after false is not supported (Kiln's GRU is reset_after)");
  if (c.value("stateful", false)) throw Error("stateful RNNs are not supported");
  return std::make_shared<L>(
      c.at("units").get<std::int64_t>(),
      layers_detail::with_regularization_config(
          c, RNNOptions{.activation = c.at("activation").get<std::string>(),
                        .use_bias = c.at("use_bias").get<bool>(),
                        .kernel_initializer = initializer_from_json(c.at("kernel_initializer")),
                        .recurrent_initializer = initializer_from_json(c.at("recurrent_initializer")),
                        .bias_initializer = initializer_from_json(c.at("bias_initializer")),
                        .unit_forget_bias = c.value("unit_forget_bias", true),
                        .dropout = c.value("dropout", 0.0),
                        .recurrent_dropout = c.value("recurrent_dropout", 0.0),
                        .seed = c.contains("seed") && !c.at("seed").is_null()
                                    ? std::optional<std::uint64_t>(c.at("seed").get<std::uint64_t>())
                                    : std::nullopt,
                        .return_sequences = c.at("return_sequences").get<bool>(),
                        .return_state = c.at("return_state").get<bool>(),
                        .go_backwards = c.at("go_backwards").get<bool>(),
                        .zero_output_for_mask = c.value("zero_output_for_mask", false),
                        .input_shape = shape_or_empty(c, "input_shape"),
                        .name = c.at("name").get<std::string>()}));
}

// --- image preprocessing layers' arguments (issue 12), as Keras 3's get_config writes them ---
std::optional<std::uint64_t> image_layer_seed(const json& c) {
  if (!c.contains("seed") || c.at("seed").is_null()) return std::nullopt;
  return c.at("seed").get<std::uint64_t>();
}

Factor image_layer_factor(const json& j, const char* argument) {
  if (j.is_number()) return Factor(j.get<double>());
  if (j.is_array() && j.size() == 2) return Factor(j.at(0).get<double>(), j.at(1).get<double>());
  throw Error(std::string(argument) + " must be a number or [lower, upper], got " + j.dump());
}

void image_layer_channels_last(const json& c) {
  if (c.contains("data_format") && !c.at("data_format").is_null() && c.at("data_format") != "channels_last") {
    throw Error("data_format " + c.at("data_format").dump() + " is not supported: Kiln's images are channels_last");
  }
}

AffineAugmentationOptions image_layer_affine_options(const json& c) {
  image_layer_channels_last(c);
  return {.fill_mode = c.value("fill_mode", std::string("reflect")),
          .interpolation = c.value("interpolation", std::string("bilinear")),
          .seed = image_layer_seed(c),
          .fill_value = c.value("fill_value", 0.0),
          .input_shape = shape_or_empty(c, "input_shape"),
          .name = c.at("name").get<std::string>()};
}

ColorAugmentationOptions image_layer_color_options(const json& c) {
  image_layer_channels_last(c);
  ColorAugmentationOptions o{.seed = image_layer_seed(c),
                             .input_shape = shape_or_empty(c, "input_shape"),
                             .name = c.at("name").get<std::string>()};
  if (c.contains("value_range")) {
    const json& r = c.at("value_range");
    if (!r.is_array() || r.size() != 2) throw Error("value_range must be [low, high], got " + r.dump());
    o.value_range = {r.at(0).get<double>(), r.at(1).get<double>()};
  }
  return o;
}

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> table = {
      {"Dense",
       [](const json& c) {
         DenseOptions o{.activation = c.at("activation").get<std::string>(),
                        .use_bias = c.at("use_bias").get<bool>(),
                        .kernel_initializer = initializer_from_json(c.at("kernel_initializer")),
                        .bias_initializer = initializer_from_json(c.at("bias_initializer")),
                        .input_shape = shape_or_empty(c, "input_shape"),
                        .name = c.at("name").get<std::string>()};
         layers_detail::read_regularization_config(c, o);
         return std::make_shared<Dense>(c.at("units").get<std::int64_t>(), o);
       }},
      {"Conv2D",
       [](const json& c) {
         Conv2DOptions o{.strides = size2(c.at("strides")),
                         .padding = c.at("padding").get<std::string>(),
                         .dilation_rate = size2(c.at("dilation_rate")),
                         .groups = c.value("groups", std::int64_t{1}),
                         .activation = c.at("activation").get<std::string>(),
                         .use_bias = c.at("use_bias").get<bool>(),
                         .kernel_initializer = initializer_from_json(c.at("kernel_initializer")),
                         .bias_initializer = initializer_from_json(c.at("bias_initializer")),
                         .input_shape = shape_or_empty(c, "input_shape"),
                         .name = c.at("name").get<std::string>()};
         layers_detail::read_regularization_config(c, o);
         return std::make_shared<Conv2D>(c.at("filters").get<std::int64_t>(), size2(c.at("kernel_size")), o);
       }},
      {"MaxPooling2D",
       [](const json& c) {
         return std::make_shared<MaxPooling2D>(size2(c.at("pool_size")),
                                               Pooling2DOptions{.strides = size2(c.at("strides")),
                                                                .padding = c.at("padding").get<std::string>(),
                                                                .name = c.at("name").get<std::string>()});
       }},
      {"AveragePooling2D",
       [](const json& c) {
         return std::make_shared<AveragePooling2D>(size2(c.at("pool_size")),
                                                   Pooling2DOptions{.strides = size2(c.at("strides")),
                                                                    .padding = c.at("padding").get<std::string>(),
                                                                    .name = c.at("name").get<std::string>()});
       }},
      {"Flatten", [](const json& c) { return std::make_shared<Flatten>(c.at("name").get<std::string>()); }},
      {"Reshape",
       [](const json& c) {
         return std::make_shared<Reshape>(c.at("target_shape").get<Shape>(), c.at("name").get<std::string>());
       }},
      {"Dropout",
       [](const json& c) {
         std::optional<std::uint64_t> seed;
         if (c.contains("seed") && !c.at("seed").is_null()) seed = c.at("seed").get<std::uint64_t>();
         std::optional<Shape> noise_shape;
         if (c.contains("noise_shape") && !c.at("noise_shape").is_null()) {
           // Keras writes null for "the input's size"; Kiln's -1 means the same.
           noise_shape.emplace();
           for (const auto& d : c.at("noise_shape")) noise_shape->push_back(d.is_null() ? -1 : d.get<std::int64_t>());
         }
         return std::make_shared<Dropout>(c.at("rate").get<double>(), noise_shape, seed,
                                          c.at("name").get<std::string>());
       }},
      {"Activation",
       [](const json& c) {
         return std::make_shared<Activation>(c.at("activation").get<std::string>(), c.at("name").get<std::string>());
       }},
      {"Rescaling",
       [](const json& c) {
         return std::make_shared<Rescaling>(c.at("scale").get<double>(), c.at("offset").get<double>(),
                                            shape_or_empty(c, "input_shape"), c.at("name").get<std::string>());
       }},
      {"Embedding",
       [](const json& c) {
         return std::make_shared<Embedding>(
             c.at("input_dim").get<std::int64_t>(), c.at("output_dim").get<std::int64_t>(),
             layers_detail::with_regularization_config(
                 c, EmbeddingOptions{.embeddings_initializer = initializer_from_json(c.at("embeddings_initializer")),
                                     .mask_zero = c.at("mask_zero").get<bool>(),
                                     .input_shape = shape_or_empty(c, "input_shape"),
                                     .name = c.at("name").get<std::string>()}));
       }},
      {"PositionEmbedding",
       [](const json& c) {
         return std::make_shared<PositionEmbedding>(
             c.at("sequence_length").get<std::int64_t>(),
             PositionEmbeddingOptions{.initializer = initializer_from_json(c.at("initializer")),
                                      .input_shape = shape_or_empty(c, "input_shape"),
                                      .name = c.at("name").get<std::string>()});
       }},
      {"TokenAndPositionEmbedding",
       [](const json& c) {
         return std::make_shared<TokenAndPositionEmbedding>(
             c.at("vocabulary_size").get<std::int64_t>(), c.at("sequence_length").get<std::int64_t>(),
             c.at("embedding_dim").get<std::int64_t>(),
             TokenAndPositionEmbeddingOptions{
                 .embeddings_initializer = initializer_from_json(c.at("embeddings_initializer")),
                 .mask_zero = c.at("mask_zero").get<bool>(),
                 .input_shape = shape_or_empty(c, "input_shape"),
                 .name = c.at("name").get<std::string>()});
       }},
      {"SimpleRNN", rnn_from<SimpleRNN>},
      {"LSTM", rnn_from<LSTM>},
      {"GRU", rnn_from<GRU>},
      {"LayerNormalization",
       [](const json& c) {
         return std::make_shared<LayerNormalization>(layers_detail::with_regularization_config(
             c, LayerNormalizationOptions{.epsilon = c.at("epsilon").get<double>(),
                                          .center = c.at("center").get<bool>(),
                                          .scale = c.at("scale").get<bool>(),
                                          .beta_initializer = initializer_from_json(c.at("beta_initializer")),
                                          .gamma_initializer = initializer_from_json(c.at("gamma_initializer")),
                                          .input_shape = shape_or_empty(c, "input_shape"),
                                          .name = c.at("name").get<std::string>()}));
       }},
      {"MultiHeadAttention",
       [](const json& c) {
         return std::make_shared<MultiHeadAttention>(
             c.at("num_heads").get<std::int64_t>(), c.at("key_dim").get<std::int64_t>(),
             layers_detail::with_regularization_config(
                 c, MultiHeadAttentionOptions{.value_dim = c.at("value_dim").get<std::int64_t>(),
                                              .use_bias = c.at("use_bias").get<bool>(),
                                              .output_shape = c.at("output_shape").get<std::int64_t>(),
                                              .kernel_initializer = initializer_from_json(c.at("kernel_initializer")),
                                              .bias_initializer = initializer_from_json(c.at("bias_initializer")),
                                              .input_shape = shape_or_empty(c, "input_shape"),
                                              .name = c.at("name").get<std::string>()}));
       }},
      {"TransformerEncoder",
       [](const json& c) {
         return std::make_shared<TransformerEncoder>(
             c.at("intermediate_dim").get<std::int64_t>(), c.at("num_heads").get<std::int64_t>(),
             TransformerEncoderOptions{.dropout = c.at("dropout").get<double>(),
                                       .activation = c.at("activation").get<std::string>(),
                                       .layer_norm_epsilon = c.at("layer_norm_epsilon").get<double>(),
                                       .normalize_first = c.at("normalize_first").get<bool>(),
                                       .use_causal_mask = c.at("use_causal_mask").get<bool>(),
                                       .kernel_initializer = initializer_from_json(c.at("kernel_initializer")),
                                       .bias_initializer = initializer_from_json(c.at("bias_initializer")),
                                       .input_shape = shape_or_empty(c, "input_shape"),
                                       .name = c.at("name").get<std::string>()});
       }},
      {"Conv2DTranspose",
       [](const json& c) {
         return std::make_shared<Conv2DTranspose>(
             c.at("filters").get<std::int64_t>(), size2(c.at("kernel_size")),
             layers_detail::with_regularization_config(
                 c, Conv2DTransposeOptions{.strides = size2(c.at("strides")),
                                           .padding = c.at("padding").get<std::string>(),
                                           .dilation_rate = size2(c.at("dilation_rate")),
                                           .activation = c.at("activation").get<std::string>(),
                                           .use_bias = c.at("use_bias").get<bool>(),
                                           .kernel_initializer = initializer_from_json(c.at("kernel_initializer")),
                                           .bias_initializer = initializer_from_json(c.at("bias_initializer")),
                                           .input_shape = shape_or_empty(c, "input_shape"),
                                           .name = c.at("name").get<std::string>()}));
       }},
      {"UpSampling2D",
       [](const json& c) {
         return std::make_shared<UpSampling2D>(size2(c.at("size")), c.at("interpolation").get<std::string>(),
                                               c.at("name").get<std::string>());
       }},
      {"BatchNormalization",
       [](const json& c) {
         if (c.value("axis", -1) != -1) throw Error("BatchNormalization: only axis -1 (channels last) is supported");
         return std::make_shared<BatchNormalization>(layers_detail::with_regularization_config(
             c, BatchNormalizationOptions{
                    .momentum = c.at("momentum").get<double>(),
                    .epsilon = c.at("epsilon").get<double>(),
                    .center = c.at("center").get<bool>(),
                    .scale = c.at("scale").get<bool>(),
                    .synchronized = c.value("synchronized", false),
                    .beta_initializer = initializer_from_json(c.at("beta_initializer")),
                    .gamma_initializer = initializer_from_json(c.at("gamma_initializer")),
                    .moving_mean_initializer = initializer_from_json(c.at("moving_mean_initializer")),
                    .moving_variance_initializer = initializer_from_json(c.at("moving_variance_initializer")),
                    .input_shape = shape_or_empty(c, "input_shape"),
                    .name = c.at("name").get<std::string>()}));
       }},
      {"LeakyReLU",
       [](const json& c) {
         return std::make_shared<LeakyReLU>(c.at("alpha").get<double>(), c.at("name").get<std::string>());
       }},
      {"ReLU",
       [](const json& c) {
         std::optional<double> max_value;
         if (c.contains("max_value") && !c.at("max_value").is_null()) max_value = c.at("max_value").get<double>();
         return std::make_shared<ReLU>(max_value, c.value("negative_slope", 0.0), c.value("threshold", 0.0),
                                       c.at("name").get<std::string>());
       }},
      {"ELU",
       [](const json& c) { return std::make_shared<ELU>(c.value("alpha", 1.0), c.at("name").get<std::string>()); }},
      {"Softmax",
       [](const json& c) { return std::make_shared<Softmax>(c.value("axis", -1), c.at("name").get<std::string>()); }},
      {"PReLU",
       [](const json& c) {
         PReLUOptions o{.name = c.at("name").get<std::string>()};
         if (c.contains("alpha_initializer")) o.alpha_initializer = initializer_from_json(c.at("alpha_initializer"));
         if (c.contains("shared_axes") && !c.at("shared_axes").is_null()) {
           o.shared_axes = c.at("shared_axes").get<std::vector<int>>();
         }
         layers_detail::read_regularization_config(c, o);
         return std::make_shared<PReLU>(o);
       }},
      {"Concatenate",
       [](const json& c) {
         return std::make_shared<Concatenate>(c.at("axis").get<int>(), c.at("name").get<std::string>());
       }},
      {"Add", [](const json& c) { return std::make_shared<Add>(c.at("name").get<std::string>()); }},
      // --- preprocessing layers (kiln::data's issue 12) ---
      {"Normalization",
       [](const json& c) {
         NormalizationOptions o{.invert = c.at("invert").get<bool>(),
                                .input_shape = shape_or_empty(c, "input_shape"),
                                .name = c.at("name").get<std::string>()};
         o.axis = c.at("axis").is_null() ? std::nullopt : std::optional<int>(c.at("axis").get<int>());
         if (!c.at("mean").is_null()) o.mean = c.at("mean").get<std::vector<double>>();
         if (!c.at("variance").is_null()) o.variance = c.at("variance").get<std::vector<double>>();
         return std::make_shared<Normalization>(std::move(o));
       }},
      {"RandomFlip",
       [](const json& c) {
         const auto seed =
             c.at("seed").is_null() ? std::nullopt : std::optional<std::uint64_t>(c.at("seed").get<std::uint64_t>());
         return std::make_shared<RandomFlip>(c.at("mode").get<std::string>(), seed, shape_or_empty(c, "input_shape"),
                                             c.at("name").get<std::string>());
       }},
      // --- image preprocessing and augmentation layers (issue 12) ---
      {"Resizing",
       [](const json& c) {
         image_layer_channels_last(c);
         if (c.value("pad_to_aspect_ratio", false)) throw Error("pad_to_aspect_ratio true is not supported");
         return std::make_shared<Resizing>(
             c.at("height").get<std::int64_t>(), c.at("width").get<std::int64_t>(),
             ResizingOptions{.interpolation = c.value("interpolation", std::string("bilinear")),
                             .crop_to_aspect_ratio = c.value("crop_to_aspect_ratio", false),
                             .input_shape = shape_or_empty(c, "input_shape"),
                             .name = c.at("name").get<std::string>()});
       }},
      {"CenterCrop",
       [](const json& c) {
         image_layer_channels_last(c);
         return std::make_shared<CenterCrop>(c.at("height").get<std::int64_t>(), c.at("width").get<std::int64_t>(),
                                             shape_or_empty(c, "input_shape"), c.at("name").get<std::string>());
       }},
      {"RandomCrop",
       [](const json& c) {
         image_layer_channels_last(c);
         return std::make_shared<RandomCrop>(c.at("height").get<std::int64_t>(), c.at("width").get<std::int64_t>(),
                                             image_layer_seed(c), shape_or_empty(c, "input_shape"),
                                             c.at("name").get<std::string>());
       }},
      {"RandomTranslation",
       [](const json& c) {
         return std::make_shared<RandomTranslation>(image_layer_factor(c.at("height_factor"), "height_factor"),
                                                    image_layer_factor(c.at("width_factor"), "width_factor"),
                                                    image_layer_affine_options(c));
       }},
      {"RandomRotation",
       [](const json& c) {
         return std::make_shared<RandomRotation>(image_layer_factor(c.at("factor"), "factor"),
                                                 image_layer_affine_options(c));
       }},
      {"RandomZoom",
       [](const json& c) {
         std::optional<Factor> width;
         if (c.contains("width_factor") && !c.at("width_factor").is_null()) {
           width = image_layer_factor(c.at("width_factor"), "width_factor");
         }
         return std::make_shared<RandomZoom>(image_layer_factor(c.at("height_factor"), "height_factor"), width,
                                             image_layer_affine_options(c));
       }},
      {"RandomContrast",
       [](const json& c) {
         return std::make_shared<RandomContrast>(image_layer_factor(c.at("factor"), "factor"),
                                                 image_layer_color_options(c));
       }},
      {"RandomBrightness",
       [](const json& c) {
         return std::make_shared<RandomBrightness>(image_layer_factor(c.at("factor"), "factor"),
                                                   image_layer_color_options(c));
       }},
  };
  return table;
}

}  // namespace

// Keras 3 writes {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {...}};
// Kiln writes {"name": "glorot_uniform", "a": ..., "b": ...}; both also accept a bare name.
// Keras's seeds are not kept: Kiln draws initial weights from its own seeded generator.
Initializer keras_initializer(const std::string& class_name, const json& config) {
  if (class_name == "Constant") return Initializer::constant(config.value("value", 0.0));
  if (class_name == "RandomUniform")
    return Initializer::random_uniform(config.value("minval", -0.05), config.value("maxval", 0.05));
  if (class_name == "RandomNormal")
    return Initializer::random_normal(config.value("mean", 0.0), config.value("stddev", 0.05));
  if (class_name == "Orthogonal") return Initializer::orthogonal(config.value("gain", 1.0));
  // GlorotUniform -> glorot_uniform, HeNormal -> he_normal, Zeros -> zeros.
  std::string name;
  for (char ch : class_name) {
    if (std::isupper(static_cast<unsigned char>(ch))) {
      if (!name.empty()) name += '_';
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    } else {
      name += ch;
    }
  }
  return Initializer(name);
}

Initializer initializer_from_json(const json& j) {
  if (j.is_string()) return Initializer(j.get<std::string>());
  if (j.contains("class_name")) {
    return keras_initializer(j.at("class_name").get<std::string>(),
                             j.contains("config") && j.at("config").is_object() ? j.at("config") : json::object());
  }
  const std::string name = j.at("name").get<std::string>();
  const double a = j.value("a", 0.0), b = j.value("b", 0.0);
  if (name == "constant") return Initializer::constant(a);
  if (name == "random_uniform") return Initializer::random_uniform(a, b);
  if (name == "random_normal") return Initializer::random_normal(a, b);
  if (name == "orthogonal") return Initializer::orthogonal(a);
  return Initializer(name);
}

std::vector<std::string> registered_layer_types() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : factories()) names.push_back(name);
  for (const auto& [name, factory] : registry_detail::keras_parity_factories()) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

std::shared_ptr<Layer> layer_from_config(const std::string& type, const json& config) {
  const auto& table = factories();
  const auto& parity = registry_detail::keras_parity_factories();
  auto it = table.find(type);
  auto parity_it = parity.find(type);
  if (it == table.end() && parity_it == parity.end()) {
    std::string known;
    for (const auto& name : registered_layer_types()) known += (known.empty() ? "" : ", ") + name;
    throw Error("unknown layer type \"" + type + "\"; known types: " + known);
  }
  try {
    std::shared_ptr<Layer> layer;
    if (it != table.end()) {
      layer = it->second(config);
    } else {
      try {
        layer = parity_it->second(config);
      } catch (const Error& e) {
        throw Error("layer config for " + type + " is invalid: " + e.what());
      }
    }
    if (config.contains("dtype")) {
      // Keras 3.4+ writes a dtype policy, {"class_name": "DTypePolicy", "config": {"name": "float32"}}.
      const json& dtype = config.at("dtype");
      const std::string policy =
          dtype.is_object() ? dtype.at("config").at("name").get<std::string>() : dtype.get<std::string>();
      try {
        layer->set_dtype_policy(policy);
      } catch (const Error& e) {
        throw Error("layer config for " + type + " '" + layer->name() + "': " + e.what());
      }
    }
    if (config.contains("trainable")) layer->set_trainable(config.at("trainable").get<bool>());
    return layer;
  } catch (const json::exception& e) {
    throw Error("layer config for " + type + " is invalid: " + e.what());
  }
}

}  // namespace kiln::layers
