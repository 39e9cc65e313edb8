// What every model is, apart from training: its weights and summary.
#include "kiln/model.hpp"

#include <iostream>

#include "kiln/error.hpp"

namespace kiln {

std::vector<Tensor> Model::trainable_weights() const {
  std::vector<Tensor> out;
  for (const auto& layer : layers()) {
    for (const Tensor& w : layer->trainable_weights()) out.push_back(w);
  }
  return out;
}

std::int64_t Model::count_params() const {
  std::int64_t n = 0;
  for (const auto& layer : layers()) n += layer->count_params();
  return n;
}

std::shared_ptr<layers::Layer> Model::get_layer(const std::string& name) const {
  const auto all = layers();
  std::string names;
  for (const auto& layer : all) {
    if (layer->name() == name) return layer;
    names += (names.empty() ? "'" : ", '") + layer->name() + "'";
  }
  throw Error("get_layer: model '" + name_ + "' has no layer named '" + name + "'" +
              (all.empty() ? std::string("; it has no layers") : "; its layers are " + names));
}

std::shared_ptr<layers::Layer> Model::get_layer(std::int64_t index) const {
  const auto all = layers();
  const auto n = static_cast<std::int64_t>(all.size());
  if (index < -n || index >= n) {
    throw Error("get_layer: index " + std::to_string(index) + " is out of range: model '" + name_ + "' has " +
                std::to_string(n) + " layers");
  }
  return all[static_cast<std::size_t>(index < 0 ? index + n : index)];
}

std::vector<Tensor> Model::get_weights() const {
  std::vector<Tensor> out;
  for (const auto& layer : layers()) {
    for (Tensor& w : layer->get_weights()) out.push_back(std::move(w));
  }
  return out;
}

void Model::set_weights(const std::vector<Tensor>& values) {
  const auto all = layers();
  std::size_t expected = 0;
  for (const auto& layer : all) expected += layer->weights().size();
  if (values.size() != expected) {
    throw Error(
        "set_weights: model '" + name_ + "' has " + std::to_string(expected) + " weights, got " +
        std::to_string(values.size()) +
        (expected == 0 ? "; build the model first (give its first layer an input_shape or call it on data)" : ""));
  }
  // Every shape is checked before any value changes, so a mistake leaves the model as it was.
  std::size_t i = 0;
  for (const auto& layer : all) {
    for (const auto& w : layer->weights_in_keras_order()) {
      const Tensor& v = values[i];
      if (!v.defined() || v.shape() != w.value.shape()) {
        throw Error("set_weights: weight " + std::to_string(i) + " is " + layer->type() + " '" + layer->name() + "' " +
                    w.name + ", of shape " + shape_str(w.value.shape()) + ", got " +
                    (v.defined() ? shape_str(v.shape()) : std::string("an undefined tensor")));
      }
      ++i;
    }
  }
  i = 0;
  for (const auto& layer : all) {
    const std::size_t n = layer->weights().size();
    layer->set_weights(std::vector<Tensor>(values.begin() + static_cast<std::ptrdiff_t>(i),
                                           values.begin() + static_cast<std::ptrdiff_t>(i + n)));
    i += n;
  }
}

void Model::summary() const { summary(std::cout); }

}  // namespace kiln
