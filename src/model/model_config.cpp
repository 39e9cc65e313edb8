// model_from_config: Sequential from its list of layers; Functional by
// replaying its layers' calls (Keras's inbound_nodes) once the tensors each
// call reads exist, as Keras does, since a shared layer's second call may
// read tensors made by layers listed after it.
#include "kiln/model_config.hpp"

#include <map>

#include <nlohmann/json.hpp>

#include "kiln/error.hpp"
#include "kiln/layers/merging.hpp"
#include "kiln/sequential.hpp"

namespace kiln {
namespace {

using json = nlohmann::json;

DType dtype_named(const std::string& name) {
  for (DType d : {DType::Float32, DType::Float64, DType::Int64, DType::Int32, DType::UInt8}) {
    if (name == dtype_name(d)) return d;
  }
  throw Error("model config: unknown dtype \"" + name + "\"");
}

std::shared_ptr<Model> functional_from_config(const json& c) {
  const std::string model_name = c.at("name").get<std::string>();
  const std::string who = "model config '" + model_name + "'";
  struct Entry {
    std::string class_name;
    std::shared_ptr<layers::Layer> layer;
    std::shared_ptr<Model> model;
    json inbound;
    std::size_t done = 0;  // inbound nodes replayed so far
  };
  std::vector<Entry> entries;
  // (layer name, call index) -> the call's outputs
  std::map<std::pair<std::string, int>, std::vector<SymbolicTensor>> made;
  for (const auto& l : c.at("layers")) {
    Entry e;
    e.class_name = l.at("class_name").get<std::string>();
    const std::string name = l.at("name").get<std::string>();
    const json& config = l.at("config");
    if (e.class_name == "InputLayer") {
      const json& batch_shape = config.at("batch_input_shape");
      Shape shape;
      for (std::size_t i = 1; i < batch_shape.size(); ++i) shape.push_back(batch_shape[i].get<std::int64_t>());
      made[{name, 0}] = {Input(shape, name, dtype_named(config.value("dtype", std::string("float32"))))};
      continue;
    }
    if (e.class_name == "Functional" || e.class_name == "Sequential") {
      e.model = model_from_config(e.class_name, config);
    } else {
      e.layer = layers::layer_from_config(e.class_name, config);
    }
    e.inbound = l.at("inbound_nodes");
    entries.push_back(std::move(e));
  }
  auto lookup = [&](const json& ref) -> const SymbolicTensor* {
    auto it = made.find({ref.at(0).get<std::string>(), ref.at(1).get<int>()});
    if (it == made.end()) return nullptr;
    const auto index = ref.at(2).get<std::size_t>();
    if (index >= it->second.size()) throw Error(who + ": no output " + std::to_string(index) + " of " + ref.dump());
    return &it->second[index];
  };
  for (bool progress = true; progress;) {
    progress = false;
    for (auto& e : entries) {
      while (e.done < e.inbound.size()) {
        std::vector<SymbolicTensor> args;
        for (const auto& ref : e.inbound[e.done]) {
          const SymbolicTensor* t = lookup(ref);
          if (!t) break;
          args.push_back(*t);
        }
        if (args.size() != e.inbound[e.done].size()) break;  // not ready yet
        const std::string name = e.layer ? e.layer->name() : e.model->name();
        std::vector<SymbolicTensor> outs;
        if (e.model) {
          outs = (*e.model)(args);
        } else if (auto* merge = dynamic_cast<layers::MergeLayer*>(e.layer.get())) {
          outs = {(*merge)(args)};
        } else {
          if (args.size() != 1) throw Error(who + ": " + e.class_name + " '" + name + "' takes one input");
          outs = {(*e.layer)(args[0])};
        }
        made[{name, static_cast<int>(e.done)}] = std::move(outs);
        ++e.done;
        progress = true;
      }
    }
  }
  for (const auto& e : entries) {
    if (e.done < e.inbound.size()) {
      throw Error(who + ": the call " + std::to_string(e.done) + " of " + e.class_name + " '" +
                  (e.layer ? e.layer->name() : e.model->name()) + "' reads " + e.inbound[e.done].dump() +
                  ", which no layer makes");
    }
  }
  auto refs = [&](const json& list) {
    std::vector<SymbolicTensor> out;
    for (const auto& ref : list) {
      const SymbolicTensor* t = lookup(ref);
      if (!t) throw Error(who + ": " + ref.dump() + " is not made by any layer");
      out.push_back(*t);
    }
    return out;
  };
  return std::make_shared<Model>(refs(c.at("input_layers")), refs(c.at("output_layers")), model_name);
}

}  // namespace

std::shared_ptr<Model> model_from_config(const std::string& class_name, const json& config) {
  try {
    if (class_name == "Sequential") return Sequential::from_config(config);
    if (class_name == "Functional") return functional_from_config(config);
  } catch (const json::exception& e) {
    throw Error("model config for " + class_name + " is invalid: " + e.what());
  }
  throw Error("unknown model type \"" + class_name + "\"; known types: Functional, Sequential");
}

json model_to_json(const Model& model) { return {{"class_name", model.class_name()}, {"config", model.get_config()}}; }

std::shared_ptr<Model> model_from_config(const json& architecture) {
  if (!architecture.is_object() || !architecture.contains("class_name") || !architecture.at("class_name").is_string() ||
      !architecture.contains("config")) {
    throw Error("model architecture: expected {\"class_name\": ..., \"config\": ...}");
  }
  return model_from_config(architecture.at("class_name").get<std::string>(), architecture.at("config"));
}

}  // namespace kiln
