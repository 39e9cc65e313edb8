// Rebuilding a model's architecture from get_config(), the counterpart of
// layers::layer_from_config: "Sequential" and "Functional" (a graph of layer
// and nested model calls, as Keras's config describes it). The weights are
// new; copy them over to restore a trained model.
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "kiln/model.hpp"

namespace kiln {

// Throws an Error naming the model, layer or connection that does not fit.
std::shared_ptr<Model> model_from_config(const std::string& class_name, const nlohmann::json& config);

// The same in Keras's one-object form, as model files store it:
// {"class_name", "config"} <-> a model with fresh weights (built when the config says how).
nlohmann::json model_to_json(const Model& model);
std::shared_ptr<Model> model_from_config(const nlohmann::json& architecture);

}  // namespace kiln
