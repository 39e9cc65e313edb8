#include "kiln/sequential.hpp"

#include <algorithm>
#include <cstdio>
#include <ostream>

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "model/fusion.hpp"
#include "model/summary_format.hpp"

namespace kiln {

using model_detail::keras_shape;
using model_detail::pad;
using model_detail::with_commas;

Sequential::Sequential() : Model(layers::unique_name("sequential")) {}

Sequential::Sequential(std::vector<std::shared_ptr<layers::Layer>> layers) : Sequential() {
  for (auto& l : layers) add(std::move(l));
}

void Sequential::add(std::shared_ptr<layers::Layer> layer) {
  if (!layer) throw Error("Sequential.add: layer is null");
  for (const auto& l : layers_) {
    if (l == layer) throw Error("Sequential.add: layer '" + layer->name() + "' is already in the model");
  }
  if (!layers_.empty() && layer->declared_input_shape()) {
    // Allowed by Keras only on the first layer; elsewhere it would be ignored silently.
    throw Error("Sequential.add: " + layer->type() + " '" + layer->name() +
                "' declares an input_shape but is not the first layer");
  }
  layers_.push_back(layer);
  if (built_) {
    // Later layers are built as they arrive, so a mismatch names the layer at once.
    const Shape in = layers_.size() == 1 ? input_shape_ : layers_[layers_.size() - 2]->output_shape();
    layer->build(in);
  } else if (layers_.size() == 1 && layer->declared_input_shape()) {
    build(*layer->declared_input_shape());
  }
}

void Sequential::build(const Shape& input_shape) {
  if (layers_.empty()) throw Error("Sequential.build: the model has no layers");
  Shape shape = input_shape;
  for (auto& layer : layers_) {
    layer->build(shape);
    shape = layer->output_shape();
  }
  input_shape_ = input_shape;
  built_ = true;
}

const Shape& Sequential::input_shape() const {
  if (!built_) throw Error("Sequential: the model is not built yet (give the first layer an input_shape)");
  return input_shape_;
}

Shape Sequential::output_shape() const {
  if (!built_) throw Error("Sequential: the model is not built yet (give the first layer an input_shape)");
  return layers_.back()->output_shape();
}

Tensor Sequential::call(const Tensor& x, bool training) {
  if (layers_.empty()) throw Error("Sequential: the model has no layers");
  if (!x.defined() || x.ndim() < 1) throw Error("Sequential: input must be a batch [batch, ...]");
  if (!built_) build(Shape(x.shape().begin() + 1, x.shape().end()));
  // The stack as a graph for the fusion pass: each layer reads the one before.
  std::vector<model_detail::FusionStep> steps(layers_.size());
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    steps[i].layer = layers_[i].get();
    if (i > 0) steps[i].reads = {i - 1};
  }
  steps.back().is_output = true;
  const auto fused_into = layer_fusion() ? model_detail::plan_fusion(steps)
                                         : std::vector<std::size_t>(steps.size(), model_detail::kNotFused);
  Tensor h = x;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    if (fused_into[i] != model_detail::kNotFused) {
      h = model_detail::run_conv_max_pool(*layers_[i], *layers_[i + 1], h);
      ++i;
      continue;
    }
    h = (*layers_[i])(h, training);
  }
  return h;
}

std::vector<Shape> Sequential::compute_output_shapes(const std::vector<Shape>& input_shapes) {
  if (input_shapes.size() != 1) {
    throw Error("Sequential '" + name() + "' takes one input, got " + std::to_string(input_shapes.size()));
  }
  if (layers_.empty()) throw Error("Sequential '" + name() + "' has no layers");
  if (!built_) {
    build(input_shapes[0]);
    return {output_shape()};
  }
  // Each layer checks the shape it would get, naming itself when it does not fit.
  Shape shape = input_shapes[0];
  for (auto& layer : layers_) {
    layer->build(shape);
    shape = layer->compute_output_shape(shape);
  }
  return {shape};
}

nlohmann::json Sequential::get_config() const {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : layers_) layers.push_back({{"class_name", l->type()}, {"config", l->get_config()}});
  nlohmann::json config = {{"name", name()}, {"layers", layers}};
  if (built_) config["build_input_shape"] = input_shape_;
  return config;
}

std::shared_ptr<Sequential> Sequential::from_config(const nlohmann::json& config) {
  if (!config.is_object() || !config.contains("layers") || !config.at("layers").is_array()) {
    throw Error("Sequential config: expected {\"layers\": [...]}");
  }
  auto model = std::make_shared<Sequential>();
  if (config.contains("name") && config.at("name").is_string()) model->set_name(config.at("name").get<std::string>());
  const auto& layers = config.at("layers");
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const auto& entry = layers[i];
    if (!entry.is_object() || !entry.contains("class_name") || !entry.at("class_name").is_string() ||
        !entry.contains("config")) {
      throw Error("Sequential config: layer " + std::to_string(i) + " needs \"class_name\" and \"config\"");
    }
    model->add(layers::layer_from_config(entry.at("class_name").get<std::string>(), entry.at("config")));
  }
  if (config.contains("build_input_shape") && !model->built()) {
    const auto& shape = config.at("build_input_shape");
    if (!shape.is_array()) throw Error("Sequential config: build_input_shape must be a list of sizes");
    Shape s;
    for (const auto& d : shape) {
      if (!d.is_number_integer() || d.get<std::int64_t>() <= 0) {
        throw Error("Sequential config: build_input_shape " + shape.dump() + " must hold positive sizes");
      }
      s.push_back(d.get<std::int64_t>());
    }
    model->build(s);
  }
  return model;
}

void Sequential::summary(std::ostream& out) const {
  std::size_t name_width = 29;
  for (const auto& l : layers_) name_width = std::max(name_width, l->name().size() + l->type().size() + 5);
  const std::size_t shape_width = 26, params_width = 10, total = name_width + shape_width + params_width;
  const std::string rule(total, '_'), double_rule(total, '=');
  out << "Model: \"" << name() << "\"\n" << rule << "\n";
  out << pad(" Layer (type)", name_width) << pad("Output Shape", shape_width) << "Param #\n" << double_rule << "\n";
  std::int64_t trainable = 0, all = 0;
  for (std::size_t i = 0; i < layers_.size(); ++i) {
    const auto& l = layers_[i];
    const std::string shape = l->built() ? keras_shape(l->output_shape()) : "(unbuilt)";
    out << pad(" " + l->name() + " (" + l->type() + ")", name_width) << pad(shape, shape_width)
        << with_commas(l->count_params()) << "\n";
    if (i + 1 < layers_.size()) out << "\n";
    trainable += l->count_trainable_params();
    all += l->count_params();
  }
  out << double_rule << "\n";
  out << "Total params: " << with_commas(all) << "\n";
  out << "Trainable params: " << with_commas(trainable) << "\n";
  out << "Non-trainable params: " << with_commas(all - trainable) << "\n" << rule << "\n";
}

}  // namespace kiln
