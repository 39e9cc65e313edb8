// Every model type a file can hold, by its class_name. A new model type (a
// functional graph) adds one entry here, as a new layer adds one to
// src/layers/registry.cpp.
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/saving.hpp"
#include "kiln/sequential.hpp"

namespace kiln {
namespace {

using Factory = std::function<std::shared_ptr<Model>(const nlohmann::json& config)>;

const std::map<std::string, Factory>& factories() {
  static const std::map<std::string, Factory> table = {
      {"Sequential", [](const nlohmann::json& c) { return Sequential::from_config(c); }},
  };
  return table;
}

}  // namespace

nlohmann::json model_to_json(const Model& model) {
  return {{"class_name", model.class_name()}, {"config", model.get_config()}};
}

std::shared_ptr<Model> model_from_config(const nlohmann::json& architecture) {
  if (!architecture.is_object() || !architecture.contains("class_name") || !architecture.at("class_name").is_string() ||
      !architecture.contains("config")) {
    throw Error("model architecture: expected {\"class_name\": ..., \"config\": ...}");
  }
  const std::string name = architecture.at("class_name").get<std::string>();
  const auto& table = factories();
  const auto it = table.find(name);
  if (it == table.end()) {
    std::string known;
    for (const auto& [type, factory] : table) known += (known.empty() ? "" : ", ") + type;
    throw Error("model architecture: unknown model type \"" + name + "\"; known types: " + known);
  }
  try {
    return it->second(architecture.at("config"));
  } catch (const nlohmann::json::exception& e) {
    throw Error("model architecture for " + name + " is invalid: " + e.what());
  }
}

}  // namespace kiln
