#include <optional>

#include "kiln/error.hpp"
#include "kiln/layers/activity_regularization.hpp"
#include "kiln/layers/bidirectional.hpp"
#include "kiln/layers/conv1d.hpp"
#include "kiln/layers/cropping.hpp"
#include "kiln/layers/dense_attention.hpp"
#include "kiln/layers/depthwise_conv2d.hpp"
#include "kiln/layers/gaussian_noise.hpp"
#include "kiln/layers/global_pooling.hpp"
#include "kiln/layers/group_normalization.hpp"
#include "kiln/layers/merging.hpp"
#include "kiln/layers/permute.hpp"
#include "kiln/layers/pooling1d.hpp"
#include "kiln/layers/repeat_vector.hpp"
#include "kiln/layers/separable_conv2d.hpp"
#include "kiln/layers/spatial_dropout.hpp"
#include "kiln/layers/time_distributed.hpp"
#include "kiln/layers/unit_normalization.hpp"
#include "kiln/layers/upsampling1d.hpp"
#include "kiln/layers/zero_padding.hpp"
#include "layers/registry_detail.hpp"
#include "layers/weight_regularization.hpp"

namespace kiln::layers::registry_detail {
namespace {

using json = nlohmann::json;

std::string name_of(const json& c) {
  return c.contains("name") && !c.at("name").is_null() ? c.at("name").get<std::string>() : "";
}

Shape input_shape_of(const json& c) { return c.contains("input_shape") ? c.at("input_shape").get<Shape>() : Shape{}; }

// Keras writes 1-D sizes as one-element lists ([3]) and accepts plain numbers.
std::int64_t one(const json& j) {
  if (j.is_array()) {
    if (j.size() != 1) throw Error("expected one number, got " + j.dump());
    return j.at(0).get<std::int64_t>();
  }
  return j.get<std::int64_t>();
}

Size2 size2(const json& j) {
  if (j.is_number_integer()) return Size2(j.get<std::int64_t>());
  if (!j.is_array() || j.size() != 2) throw Error("expected a number or two numbers, got " + j.dump());
  return {j.at(0).get<std::int64_t>(), j.at(1).get<std::int64_t>()};
}

Margins1 margins1(const json& j) {
  if (j.is_number_integer()) return Margins1(j.get<std::int64_t>());
  if (!j.is_array() || j.size() != 2) throw Error("expected a number or (left, right), got " + j.dump());
  return {j.at(0).get<std::int64_t>(), j.at(1).get<std::int64_t>()};
}

// A number, (height, width), or ((top, bottom), (left, right)).
Margins2 margins2(const json& j) {
  if (j.is_number_integer()) return Margins2(j.get<std::int64_t>());
  if (!j.is_array() || j.size() != 2) throw Error("expected ((top, bottom), (left, right)), got " + j.dump());
  if (j.at(0).is_number_integer()) return {j.at(0).get<std::int64_t>(), j.at(1).get<std::int64_t>()};
  return {j.at(0).at(0).get<std::int64_t>(), j.at(0).at(1).get<std::int64_t>(), j.at(1).at(0).get<std::int64_t>(),
          j.at(1).at(1).get<std::int64_t>()};
}

// Keras's None: the image_data_format default, which is channels_last.
std::string data_format(const json& c) {
  return c.contains("data_format") && !c.at("data_format").is_null() ? c.at("data_format").get<std::string>()
                                                                     : "channels_last";
}

std::string activation(const json& c) {
  if (!c.contains("activation") || c.at("activation").is_null()) return "";
  if (!c.at("activation").is_string()) {
    throw Error("activation " + c.at("activation").dump() + " is not supported; expected an activation's name");
  }
  return c.at("activation").get<std::string>();
}

std::optional<std::uint64_t> seed(const json& c) {
  if (!c.contains("seed") || c.at("seed").is_null()) return std::nullopt;
  return c.at("seed").get<std::uint64_t>();
}

Initializer initializer(const json& c, const char* key, const char* keras_default) {
  return c.contains(key) && !c.at(key).is_null() ? initializer_from_json(c.at(key)) : Initializer(keras_default);
}

std::shared_ptr<Layer> global_pooling(const json& c, const char* type) {
  const GlobalPoolingOptions o{
      .data_format = data_format(c), .keepdims = c.value("keepdims", false), .name = name_of(c)};
  const std::string t = type;
  if (t == "GlobalAveragePooling1D") return std::make_shared<GlobalAveragePooling1D>(o);
  if (t == "GlobalAveragePooling2D") return std::make_shared<GlobalAveragePooling2D>(o);
  if (t == "GlobalMaxPooling1D") return std::make_shared<GlobalMaxPooling1D>(o);
  return std::make_shared<GlobalMaxPooling2D>(o);
}

template <typename L>
std::shared_ptr<Layer> pooling1d(const json& c) {
  const std::int64_t pool = c.contains("pool_size") ? one(c.at("pool_size")) : 2;
  std::optional<std::int64_t> strides;
  if (c.contains("strides") && !c.at("strides").is_null()) strides = one(c.at("strides"));
  return std::make_shared<L>(pool, Pooling1DOptions{.strides = strides,
                                                    .padding = c.value("padding", std::string("valid")),
                                                    .data_format = data_format(c),
                                                    .name = name_of(c)});
}

// A nested layer as Keras serializes it: {"class_name": "LSTM", "config": {...}}.
std::shared_ptr<Layer> nested(const json& j) {
  if (!j.is_object() || !j.contains("class_name") || !j.contains("config")) {
    throw Error("expected a layer as {\"class_name\": ..., \"config\": ...}, got " + j.dump().substr(0, 200));
  }
  return layer_from_config(j.at("class_name").get<std::string>(), j.at("config"));
}

std::shared_ptr<RNNLayer> nested_rnn(const json& j) {
  auto layer = std::dynamic_pointer_cast<RNNLayer>(nested(j));
  if (!layer) throw Error("Bidirectional wraps a SimpleRNN, LSTM or GRU, got " + j.at("class_name").dump());
  return layer;
}

template <typename L>
std::shared_ptr<Layer> named(const json& c) {
  return std::make_shared<L>(name_of(c));
}

}  // namespace

const std::map<std::string, Factory>& keras_parity_factories() {
  static const std::map<std::string, Factory> table = {
      {"GlobalAveragePooling1D", [](const json& c) { return global_pooling(c, "GlobalAveragePooling1D"); }},
      {"GlobalAveragePooling2D", [](const json& c) { return global_pooling(c, "GlobalAveragePooling2D"); }},
      {"GlobalMaxPooling1D", [](const json& c) { return global_pooling(c, "GlobalMaxPooling1D"); }},
      {"GlobalMaxPooling2D", [](const json& c) { return global_pooling(c, "GlobalMaxPooling2D"); }},
      {"Conv1D",
       [](const json& c) -> std::shared_ptr<Layer> {
         return std::make_shared<Conv1D>(
             c.at("filters").get<std::int64_t>(), one(c.at("kernel_size")),
             layers_detail::with_regularization_config(
                 c, Conv1DOptions{.strides = c.contains("strides") ? one(c.at("strides")) : 1,
                                  .padding = c.value("padding", std::string("valid")),
                                  .data_format = data_format(c),
                                  .dilation_rate = c.contains("dilation_rate") ? one(c.at("dilation_rate")) : 1,
                                  .groups = c.value("groups", std::int64_t{1}),
                                  .activation = activation(c),
                                  .use_bias = c.value("use_bias", true),
                                  .kernel_initializer = initializer(c, "kernel_initializer", "glorot_uniform"),
                                  .bias_initializer = initializer(c, "bias_initializer", "zeros"),
                                  .input_shape = input_shape_of(c),
                                  .name = name_of(c)}));
       }},
      {"MaxPooling1D", pooling1d<MaxPooling1D>},
      {"AveragePooling1D", pooling1d<AveragePooling1D>},
      {"UpSampling1D",
       [](const json& c) { return std::make_shared<UpSampling1D>(c.value("size", std::int64_t{2}), name_of(c)); }},
      {"DepthwiseConv2D",
       [](const json& c) -> std::shared_ptr<Layer> {
         return std::make_shared<DepthwiseConv2D>(
             size2(c.at("kernel_size")),
             layers_detail::with_regularization_config(
                 c, DepthwiseConv2DOptions{
                        .strides = c.contains("strides") ? size2(c.at("strides")) : Size2(1),
                        .padding = c.value("padding", std::string("valid")),
                        .depth_multiplier = c.value("depth_multiplier", std::int64_t{1}),
                        .data_format = data_format(c),
                        .dilation_rate = c.contains("dilation_rate") ? size2(c.at("dilation_rate")) : Size2(1),
                        .activation = activation(c),
                        .use_bias = c.value("use_bias", true),
                        .depthwise_initializer = initializer(c, "depthwise_initializer", "glorot_uniform"),
                        .bias_initializer = initializer(c, "bias_initializer", "zeros"),
                        .input_shape = input_shape_of(c),
                        .name = name_of(c)}));
       }},
      {"SeparableConv2D",
       [](const json& c) -> std::shared_ptr<Layer> {
         return std::make_shared<SeparableConv2D>(
             c.at("filters").get<std::int64_t>(), size2(c.at("kernel_size")),
             layers_detail::with_regularization_config(
                 c, SeparableConv2DOptions{
                        .strides = c.contains("strides") ? size2(c.at("strides")) : Size2(1),
                        .padding = c.value("padding", std::string("valid")),
                        .data_format = data_format(c),
                        .dilation_rate = c.contains("dilation_rate") ? size2(c.at("dilation_rate")) : Size2(1),
                        .depth_multiplier = c.value("depth_multiplier", std::int64_t{1}),
                        .activation = activation(c),
                        .use_bias = c.value("use_bias", true),
                        .depthwise_initializer = initializer(c, "depthwise_initializer", "glorot_uniform"),
                        .pointwise_initializer = initializer(c, "pointwise_initializer", "glorot_uniform"),
                        .bias_initializer = initializer(c, "bias_initializer", "zeros"),
                        .input_shape = input_shape_of(c),
                        .name = name_of(c)}));
       }},
      {"ZeroPadding1D",
       [](const json& c) {
         return std::make_shared<ZeroPadding1D>(c.contains("padding") ? margins1(c.at("padding")) : Margins1(1),
                                                name_of(c));
       }},
      {"ZeroPadding2D",
       [](const json& c) {
         return std::make_shared<ZeroPadding2D>(c.contains("padding") ? margins2(c.at("padding")) : Margins2(1),
                                                data_format(c), name_of(c));
       }},
      {"Cropping1D",
       [](const json& c) {
         return std::make_shared<Cropping1D>(c.contains("cropping") ? margins1(c.at("cropping")) : Margins1(1),
                                             name_of(c));
       }},
      {"Cropping2D",
       [](const json& c) {
         return std::make_shared<Cropping2D>(c.contains("cropping") ? margins2(c.at("cropping")) : Margins2(0),
                                             data_format(c), name_of(c));
       }},
      {"Permute",
       [](const json& c) { return std::make_shared<Permute>(c.at("dims").get<std::vector<int>>(), name_of(c)); }},
      {"RepeatVector",
       [](const json& c) { return std::make_shared<RepeatVector>(c.at("n").get<std::int64_t>(), name_of(c)); }},
      {"Subtract", named<Subtract>},
      {"Multiply", named<Multiply>},
      {"Average", named<Average>},
      {"Maximum", named<Maximum>},
      {"Minimum", named<Minimum>},
      {"Dot",
       [](const json& c) {
         const json& axes = c.at("axes");
         const DotAxes a =
             axes.is_array() ? DotAxes(axes.at(0).get<int>(), axes.at(1).get<int>()) : DotAxes(axes.get<int>());
         return std::make_shared<Dot>(a, c.value("normalize", false), name_of(c));
       }},
      {"SpatialDropout1D",
       [](const json& c) {
         return std::make_shared<SpatialDropout1D>(c.at("rate").get<double>(), seed(c), name_of(c));
       }},
      {"SpatialDropout2D",
       [](const json& c) {
         return std::make_shared<SpatialDropout2D>(c.at("rate").get<double>(), data_format(c), seed(c), name_of(c));
       }},
      {"GaussianNoise",
       [](const json& c) {
         return std::make_shared<GaussianNoise>(c.at("stddev").get<double>(), seed(c), name_of(c));
       }},
      {"GaussianDropout",
       [](const json& c) {
         return std::make_shared<GaussianDropout>(c.at("rate").get<double>(), seed(c), name_of(c));
       }},
      {"GroupNormalization",
       [](const json& c) -> std::shared_ptr<Layer> {
         return std::make_shared<GroupNormalization>(layers_detail::with_regularization_config(
             c, GroupNormalizationOptions{.groups = c.value("groups", std::int64_t{32}),
                                          .axis = c.value("axis", -1),
                                          .epsilon = c.value("epsilon", 1e-3),
                                          .center = c.value("center", true),
                                          .scale = c.value("scale", true),
                                          .beta_initializer = initializer(c, "beta_initializer", "zeros"),
                                          .gamma_initializer = initializer(c, "gamma_initializer", "ones"),
                                          .input_shape = input_shape_of(c),
                                          .name = name_of(c)}));
       }},
      {"TimeDistributed",
       [](const json& c) { return std::make_shared<TimeDistributed>(nested(c.at("layer")), name_of(c)); }},
      {"Bidirectional",
       [](const json& c) {
         const auto forward = nested_rnn(c.at("layer"));
         std::shared_ptr<RNNLayer> backward;
         if (c.contains("backward_layer") && !c.at("backward_layer").is_null())
           backward = nested_rnn(c.at("backward_layer"));
         const json& mode = c.contains("merge_mode") ? c.at("merge_mode") : json("concat");
         return std::make_shared<Bidirectional>(*forward, mode.is_null() ? "" : mode.get<std::string>(), backward.get(),
                                                name_of(c));
       }},
      {"Attention",
       [](const json& c) {
         return std::make_shared<Attention>(
             DenseAttentionOptions{.use_scale = c.value("use_scale", false),
                                   .score_mode = c.value("score_mode", std::string("dot")),
                                   .dropout = c.value("dropout", 0.0),
                                   .seed = seed(c),
                                   .use_causal_mask = c.value("use_causal_mask", false),
                                   .name = name_of(c)});
       }},
      {"AdditiveAttention",
       [](const json& c) {
         return std::make_shared<AdditiveAttention>(
             DenseAttentionOptions{.use_scale = c.value("use_scale", true),
                                   .dropout = c.value("dropout", 0.0),
                                   .seed = seed(c),
                                   .use_causal_mask = c.value("use_causal_mask", false),
                                   .name = name_of(c)});
       }},
      {"ActivityRegularization",
       [](const json& c) {
         return std::make_shared<ActivityRegularization>(c.value("l1", 0.0), c.value("l2", 0.0), name_of(c));
       }},
      {"UnitNormalization",
       [](const json& c) -> std::shared_ptr<Layer> {
         if (!c.contains("axis")) return std::make_shared<UnitNormalization>(-1, name_of(c));
         const json& axis = c.at("axis");
         if (axis.is_array()) return std::make_shared<UnitNormalization>(axis.get<std::vector<int>>(), name_of(c));
         return std::make_shared<UnitNormalization>(axis.get<int>(), name_of(c));
       }},
  };
  return table;
}

}  // namespace kiln::layers::registry_detail
