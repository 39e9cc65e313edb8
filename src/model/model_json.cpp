// model_from_json: Keras 3's to_json() brought to the form model_from_config reads (Kiln's
// get_config), then built by it. Keras 3 differs from Kiln's form in three places: InputLayer
// carries "batch_shape" (Kiln: "batch_input_shape"; a Sequential's InputLayer becomes its
// build_input_shape), a call node is {"args": [...], "kwargs": {...}} with tensors named by
// "keras_history" (Kiln: a list of [layer, node, tensor] triples), and shapes lead with the null
// batch size.
#include "kiln/model_json.hpp"

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/model_config.hpp"

namespace kiln {
namespace {

using json = nlohmann::json;

// [null, 28, 28, 1] -> [28, 28, 1]; Kiln's own shapes have no batch entry.
json without_batch(const json& shape) {
  if (!shape.is_array() || shape.empty() || !shape.at(0).is_null()) return shape;
  return json(std::vector<json>(shape.begin() + 1, shape.end()));
}

// Every Keras tensor in a node's args, in order, as [layer, node, tensor] triples.
void collect_tensors(const json& value, json& out) {
  if (value.is_object() && value.value("class_name", std::string()) == "__keras_tensor__") {
    out.push_back(value.at("config").at("keras_history"));
  } else if (value.is_array()) {
    for (const auto& v : value) collect_tensors(v, out);
  } else if (value.is_object()) {
    for (const auto& [key, v] : value.items()) collect_tensors(v, out);
  }
}

json kiln_inbound_nodes(const json& nodes) {
  json out = json::array();
  for (const auto& node : nodes) {
    if (!node.is_object()) {  // Kiln's (and Keras 2's) form
      out.push_back(node);
      continue;
    }
    json refs = json::array();
    collect_tensors(node.value("args", json::array()), refs);
    out.push_back(refs);
  }
  return out;
}

// input_layers / output_layers: one triple or a list of them.
json triples(const json& refs) {
  if (refs.is_array() && !refs.empty() && refs.at(0).is_string()) return json::array({refs});
  return refs;
}

json input_layer_config(const json& config) {
  json c = config;
  if (c.contains("batch_shape") && !c.contains("batch_input_shape")) c["batch_input_shape"] = c.at("batch_shape");
  if (c.contains("dtype") && c.at("dtype").is_object()) c["dtype"] = c.at("dtype").at("config").at("name");
  return c;
}

json kiln_model_config(const std::string& class_name, const json& config);

json kiln_sequential(const json& config) {
  json c = config;
  json layers = json::array();
  for (const auto& entry : config.at("layers")) {
    const std::string type = entry.at("class_name").get<std::string>();
    if (type == "InputLayer") {
      const json ic = input_layer_config(entry.at("config"));
      if (ic.contains("batch_input_shape")) c["build_input_shape"] = ic.at("batch_input_shape");
      continue;
    }
    json e = {{"class_name", type}, {"config", entry.at("config")}};
    if (type == "Sequential" || type == "Functional") e["config"] = kiln_model_config(type, entry.at("config"));
    layers.push_back(e);
  }
  c["layers"] = layers;
  if (c.contains("build_input_shape")) {
    if (c.at("build_input_shape").is_null()) {
      c.erase("build_input_shape");
    } else {
      c["build_input_shape"] = without_batch(c.at("build_input_shape"));
    }
  }
  return c;
}

json kiln_functional(const json& config) {
  json c = config;
  json layers = json::array();
  for (const auto& entry : config.at("layers")) {
    json e = entry;
    const std::string type = entry.at("class_name").get<std::string>();
    if (!e.contains("name") && e.at("config").contains("name")) e["name"] = e.at("config").at("name");
    if (type == "InputLayer") {
      e["config"] = input_layer_config(entry.at("config"));
      e["inbound_nodes"] = json::array();
    } else {
      if (type == "Sequential" || type == "Functional") e["config"] = kiln_model_config(type, entry.at("config"));
      e["inbound_nodes"] = kiln_inbound_nodes(entry.value("inbound_nodes", json::array()));
    }
    layers.push_back(e);
  }
  c["layers"] = layers;
  c["input_layers"] = triples(config.at("input_layers"));
  c["output_layers"] = triples(config.at("output_layers"));
  return c;
}

json kiln_model_config(const std::string& class_name, const json& config) {
  if (!config.is_object() || !config.contains("layers")) {
    throw Error("model JSON: the " + class_name + " config has no \"layers\" list");
  }
  if (class_name == "Sequential") return kiln_sequential(config);
  if (class_name == "Functional" || class_name == "Model") return kiln_functional(config);
  return config;
}

}  // namespace

std::shared_ptr<Model> model_from_json(const std::string& json_text) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    throw Error(std::string("model JSON: not valid JSON (") + e.what() + ")");
  }
  if (!j.is_object() || !j.contains("class_name") || !j.at("class_name").is_string() || !j.contains("config")) {
    throw Error("model JSON: expected {\"class_name\": \"Sequential\" or \"Functional\", \"config\": {...}}");
  }
  std::string class_name = j.at("class_name").get<std::string>();
  if (class_name == "Model") class_name = "Functional";  // Keras 2's name for a functional model
  try {
    return model_from_config(class_name, kiln_model_config(class_name, j.at("config")));
  } catch (const json::exception& e) {
    throw Error("model JSON for " + class_name + " is invalid: " + e.what());
  }
}

}  // namespace kiln
