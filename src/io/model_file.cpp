// Models, weights and checkpoints as safetensors files (format in docs/model_files.md).
//
// Tensor names:
//   <layer>/<weight>                     the weights ("conv2d/kernel", "dense_1/bias")
//   optimizer/<slot>/<layer>/<weight>    the optimizer's per-weight state ("optimizer/m/dense/kernel")
//   callbacks/<index>/<name>             tensors a callback keeps (EarlyStopping's best weights)
// Metadata (all strings, as safetensors requires):
//   kiln.format          "model", "weights" or "checkpoint"
//   kiln.format_version  "1"
//   kiln.architecture    {"class_name", "config"}              (model, checkpoint)
//   kiln.compile         {"optimizer", "loss", "metrics"}       (when compiled)
//   kiln.training        epochs, history, generators, ...      (checkpoint)
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "kiln/error.hpp"
#include "kiln/io/files.hpp"
#include "kiln/io/safetensors.hpp"
#include "kiln/saving.hpp"
#include "kiln/training_state.hpp"
#include "kiln/layers/weight_budget.hpp"

namespace kiln {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kFormat = "kiln.format";
constexpr const char* kVersion = "kiln.format_version";
constexpr const char* kArchitecture = "kiln.architecture";
constexpr const char* kCompile = "kiln.compile";
constexpr const char* kTraining = "kiln.training";
constexpr const char* kOptimizerPrefix = "optimizer/";
constexpr const char* kCallbackPrefix = "callbacks/";

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

bool is_weight_name(const std::string& name) {
  return !starts_with(name, kOptimizerPrefix) && !starts_with(name, kCallbackPrefix);
}

std::string describe(const Tensor& t) { return std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape()); }

struct WeightRef {
  std::string name;  // "<layer>/<weight>"
  Tensor value;
};

// Every weight of the model under its file name; an Error when two would share a name.
std::vector<WeightRef> model_weights(const Model& model) {
  std::vector<WeightRef> out;
  std::set<std::string> layer_names;
  for (const auto& layer : model.layers()) {
    if (layer->name() == "optimizer" || layer->name() == "callbacks") {
      throw Error("cannot save: a layer may not be named \"" + layer->name() + "\" (model files use that name)");
    }
    if (!layer_names.insert(layer->name()).second) {
      throw Error("cannot save: two layers are named \"" + layer->name() + "\"; weights are saved by layer name");
    }
    for (const auto& w : layer->weights()) out.push_back({layer->name() + "/" + w.name, w.value});
  }
  return out;
}

// Numbers in an architecture from a file must be ones the configs can hold: a float
// outside ±2^53 (or inf) read as an integer size is undefined behaviour in C++.
void check_numbers(const json& j, const std::string& where) {
  if (j.is_number_float()) {
    const double v = j.get<double>();
    if (!std::isfinite(v) || std::abs(v) > 9007199254740992.0) {
      throw Error("the number " + j.dump() + " at " + (where.empty() ? "/" : where) + " is out of range");
    }
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) check_numbers(j[i], where + "/" + std::to_string(i));
  } else if (j.is_object()) {
    for (const auto& [k, v] : j.items()) check_numbers(v, where + "/" + k);
  }
}

json parse_metadata_json(const io::Safetensors& file, const char* key, const std::string& source) {
  const auto it = file.metadata.find(key);
  if (it == file.metadata.end()) throw Error(source + ": no " + key + " in its metadata");
  int depth_seen = 0;
  const json::parser_callback_t limit = [&](int depth, json::parse_event_t, json&) {
    depth_seen = std::max(depth_seen, depth);
    if (depth > 64) throw Error(source + ": " + key + " nests deeper than 64 levels");
    return true;
  };
  try {
    return json::parse(it->second, limit);
  } catch (const json::exception& e) {
    throw Error(source + ": " + key + " is not valid JSON (" + e.what() + ")");
  }
}

void check_format(const io::Safetensors& file, const std::string& source, std::initializer_list<const char*> allowed) {
  const auto it = file.metadata.find(kFormat);
  if (it == file.metadata.end()) {
    throw Error(source +
                ": not a Kiln model file (its metadata has no kiln.format; a safetensors file of "
                "weights from elsewhere can be loaded with load_weights if its tensor names fit)");
  }
  bool ok = false;
  std::string names;
  for (const char* a : allowed) {
    ok = ok || it->second == a;
    names += (names.empty() ? "" : " or ") + std::string(a);
  }
  if (!ok) throw Error(source + ": holds a Kiln " + it->second + ", expected a " + names);
  const auto v = file.metadata.find(kVersion);
  if (v != file.metadata.end() && v->second != "1") {
    throw Error(source + ": format version " + v->second + " is newer than this Kiln reads (1)");
  }
}

// Checks every model weight against the file before changing any, then copies them in.
void assign_weights(const std::vector<WeightRef>& weights, const io::Safetensors& file, const std::string& source) {
  std::vector<std::string> problems;
  std::set<std::string> expected;
  for (const auto& w : weights) {
    expected.insert(w.name);
    const Tensor* t = file.find(w.name);
    if (!t) {
      problems.push_back("missing " + w.name + " (" + describe(w.value) + ")");
    } else if (t->dtype() != w.value.dtype() || t->shape() != w.value.shape()) {
      problems.push_back(w.name + " is " + describe(*t) + " in the file, " + describe(w.value) + " in the model");
    }
  }
  for (const auto& t : file.tensors) {
    if (is_weight_name(t.name) && !expected.count(t.name)) {
      problems.push_back("unexpected " + t.name + " (" + describe(t.tensor) + ")");
    }
  }
  if (!problems.empty()) {
    std::string msg = source + " does not fit the model (" + std::to_string(problems.size()) + " difference" +
                      (problems.size() == 1 ? "" : "s") + "):";
    for (const auto& p : problems) msg += "\n  " + p;
    // The commonest cause: the same architecture built again in one process, whose layers got new names.
    std::vector<const Tensor*> in_file;
    for (const auto& t : file.tensors) {
      if (is_weight_name(t.name)) in_file.push_back(&t.tensor);
    }
    bool same_order = in_file.size() == weights.size();
    for (std::size_t i = 0; same_order && i < weights.size(); ++i) {
      same_order = in_file[i]->dtype() == weights[i].value.dtype() && in_file[i]->shape() == weights[i].value.shape();
    }
    if (same_order) {
      msg +=
          "\n(only the layer names differ: layers built again in the same process get new names; name them, "
          "or rebuild the model with model_from_config(model_to_json(original)))";
    }
    throw Error(msg);
  }
  for (const auto& w : weights) {
    Tensor dst = w.value;
    dst.copy_(*file.find(w.name));
  }
}

json history_to_json(const History& h) { return {{"epoch", h.epoch}, {"history", h.history}}; }

History history_from_json(const json& j) {
  History h;
  for (const auto& e : j.at("epoch")) {
    if (!e.is_number_unsigned() || e.get<std::uint64_t>() > 1'000'000'000) throw Error("bad epoch number " + e.dump());
    h.epoch.push_back(static_cast<int>(e.get<std::uint64_t>()));
  }
  h.history = j.at("history").get<std::map<std::string, std::vector<double>>>();
  return h;
}

// The tensors and metadata of a model file (checkpoint adds its own).
struct Contents {
  std::vector<io::NamedTensor> tensors;
  std::map<std::string, std::string> metadata;
};

Contents model_contents(const Model& model, const char* format) {
  Contents c;
  c.metadata[kFormat] = format;
  c.metadata[kVersion] = "1";
  const auto weights = model_weights(model);
  for (const auto& w : weights) c.tensors.push_back({w.name, w.value});
  if (std::string(format) == "weights") return c;
  c.metadata[kArchitecture] = model_to_json(model).dump();
  if (model.compiled()) {
    const optim::Optimizer& opt = model.optimizer();
    json compile = {
        {"optimizer", {{"class_name", opt.name()}, {"config", opt.get_config()}, {"iterations", opt.iterations()}}},
        {"loss", {{"name", model.loss().name()}, {"config", model.loss().get_config()}}},
        {"metrics", model.metric_names()}};
    c.metadata[kCompile] = compile.dump();
    const auto slot_names = opt.slot_names();
    for (std::size_t s = 0; s < slot_names.size(); ++s) {
      for (const auto& w : weights) {
        const auto it = opt.slots().find(w.value.impl());
        if (it == opt.slots().end() || s >= it->second.values.size()) continue;
        c.tensors.push_back({kOptimizerPrefix + slot_names[s] + "/" + w.name, it->second.values[s]});
      }
    }
  }
  return c;
}

// Compiles a loaded model as it was saved and restores its optimizer's state.
void restore_compile(Model& model, const io::Safetensors& file, const std::string& source) {
  const json c = parse_metadata_json(file, kCompile, source);
  try {
    const json& o = c.at("optimizer");
    auto opt = optim::from_config(o.at("class_name").get<std::string>(), o.at("config"));
    const json& l = c.at("loss");
    auto loss = losses::from_config(l.at("name").get<std::string>(), l.value("config", json::object()));
    model.compile(opt, loss, c.at("metrics").get<std::vector<std::string>>());
    const auto iterations = o.at("iterations").get<std::int64_t>();
    opt->set_iterations(iterations);
    const auto slot_names = opt->slot_names();
    std::vector<std::string> problems;
    for (const auto& w : model_weights(model)) {
      std::vector<Tensor> values;
      for (const auto& slot : slot_names) {
        const std::string name = kOptimizerPrefix + slot + "/" + w.name;
        if (const Tensor* t = file.find(name)) values.push_back(*t);
      }
      if (values.empty()) continue;  // a weight the optimizer has not updated yet
      if (values.size() != slot_names.size()) {
        problems.push_back("weight " + w.name + " has " + std::to_string(values.size()) + " of the optimizer's " +
                           std::to_string(slot_names.size()) + " slots");
        continue;
      }
      try {
        opt->set_slots(w.value, values);
      } catch (const Error& e) {
        problems.push_back(w.name + ": " + e.what());
      }
    }
    if (!problems.empty()) {
      std::string msg = source + ": the optimizer state does not fit the model:";
      for (const auto& p : problems) msg += "\n  " + p;
      throw Error(msg);
    }
  } catch (const json::exception& e) {
    throw Error(source + ": kiln.compile is malformed (" + e.what() + ")");
  }
}

// Builds the architecture of a file, its weights loaded; compiled when it was saved compiled.
std::shared_ptr<Model> model_from_file(const io::Safetensors& file, const std::string& source) {
  json architecture = parse_metadata_json(file, kArchitecture, source);
  check_numbers(architecture, "");
  std::uint64_t file_bytes = 0;
  for (const auto& t : file.tensors)
    file_bytes += static_cast<std::uint64_t>(t.tensor.numel()) * dtype_size(t.tensor.dtype());
  std::shared_ptr<Model> model;
  try {
    const layers::WeightBudget budget(file_bytes);
    model = model_from_config(architecture);
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
  assign_weights(model_weights(*model), file, source);
  if (file.metadata.count(kCompile)) restore_compile(*model, file, source);
  return model;
}

// --- checkpoints: callbacks and generators -------------------------------------------

json generators_to_json(const Model& model) {
  json layers = json::object();
  for (const auto& layer : model.layers()) {
    const auto gens = layer->generators();
    if (gens.empty()) continue;
    json states = json::array();
    for (const Generator* g : gens) states.push_back(to_json(g->state()));
    layers[layer->name()] = states;
  }
  return {{"default", to_json(default_generator().state())}, {"layers", layers}};
}

void restore_generators(Model& model, const json& j, const std::string& source) {
  const json& layers = j.at("layers");
  for (const auto& layer : model.layers()) {
    const auto gens = layer->generators();
    if (gens.empty()) continue;
    if (!layers.contains(layer->name()) || layers.at(layer->name()).size() != gens.size()) {
      throw Error(source + ": no random-generator state for layer " + layer->name());
    }
    for (std::size_t i = 0; i < gens.size(); ++i) {
      gens[i]->set_state(generator_state_from_json(layers.at(layer->name())[i]));
    }
  }
  default_generator().set_state(generator_state_from_json(j.at("default")));
}

}  // namespace

// --- Model members ---------------------------------------------------------------------

std::vector<std::string> Model::metric_names() const {
  std::vector<std::string> names;
  for (const auto& m : metrics_) names.push_back(m->name());
  return names;
}

void Model::save(const fs::path& path) const {
  const Contents c = model_contents(*this, "model");
  io::save_safetensors(path, c.tensors, c.metadata);
}

void Model::save_weights(const fs::path& path) const {
  const Contents c = model_contents(*this, "weights");
  io::save_safetensors(path, c.tensors, c.metadata);
}

void Model::load_weights(const fs::path& path) {
  const auto file = io::load_safetensors(path);
  assign_weights(model_weights(*this), file, path.string());
}

// --- free functions -----------------------------------------------------------------------

nlohmann::json to_json(const Generator::State& state) {
  std::uint64_t spare_bits = 0;
  static_assert(sizeof spare_bits == sizeof state.spare);
  std::memcpy(&spare_bits, &state.spare, sizeof spare_bits);  // exact, unlike a decimal
  return {state.s[0], state.s[1], state.s[2], state.s[3], state.has_spare ? 1 : 0, spare_bits};
}

Generator::State generator_state_from_json(const nlohmann::json& j) {
  if (!j.is_array() || j.size() != 6) throw Error("a generator state is a list of 6 unsigned integers");
  for (const auto& v : j) {
    if (!v.is_number_unsigned()) throw Error("a generator state is a list of 6 unsigned integers");
  }
  Generator::State s;
  for (std::size_t i = 0; i < 4; ++i) s.s[i] = j[i].get<std::uint64_t>();
  s.has_spare = j[4].get<std::uint64_t>() != 0;
  const std::uint64_t bits = j[5].get<std::uint64_t>();
  std::memcpy(&s.spare, &bits, sizeof bits);
  return s;
}

std::shared_ptr<Model> load_model(const fs::path& path) {
  return load_model_from_bytes(io::read_file(path), path.string());
}

std::shared_ptr<Model> load_model_from_bytes(std::string_view bytes, const std::string& source) {
  const auto file = io::decode_safetensors(bytes, source);
  check_format(file, source, {"model", "checkpoint"});
  return model_from_file(file, source);
}

void save_checkpoint(const Model& model, const fs::path& path) {
  Contents c = model_contents(model, "checkpoint");
  const TrainingState& s = model.training_state();
  json callbacks = json::array();
  for (std::size_t i = 0; i < s.callbacks.size(); ++i) {
    if (!s.callbacks[i]) {
      callbacks.push_back(nullptr);
      continue;
    }
    json names = json::array();
    for (const auto& [name, tensor] : s.callbacks[i]->tensors) {
      names.push_back(name);
      c.tensors.push_back({kCallbackPrefix + std::to_string(i) + "/" + name, tensor});
    }
    callbacks.push_back({{"values", s.callbacks[i]->values}, {"tensors", names}});
  }
  const json training = {{"epochs_done", s.epochs_done},  {"stopped", s.stopped},
                         {"shuffle", to_json(s.shuffle)}, {"history", history_to_json(s.history)},
                         {"callbacks", callbacks},        {"generators", generators_to_json(model)}};
  c.metadata[kTraining] = training.dump();
  io::save_safetensors(path, c.tensors, c.metadata);
}

Checkpoint load_checkpoint(const fs::path& path) {
  return load_checkpoint_from_bytes(io::read_file(path), path.string());
}

Checkpoint load_checkpoint_from_bytes(std::string_view bytes, const std::string& source) {
  const auto file = io::decode_safetensors(bytes, source);
  check_format(file, source, {"checkpoint"});
  Checkpoint out;
  out.model = model_from_file(file, source);
  const json t = parse_metadata_json(file, kTraining, source);
  check_numbers(t, "");
  auto state = std::make_shared<TrainingState>();
  try {
    const json& done = t.at("epochs_done");
    if (!done.is_number_unsigned() || done.get<std::uint64_t>() > 1'000'000'000) {
      throw Error(source + ": kiln.training has a bad epoch count " + done.dump());
    }
    state->epochs_done = static_cast<int>(done.get<std::uint64_t>());
    state->stopped = t.at("stopped").get<bool>();
    state->shuffle = generator_state_from_json(t.at("shuffle"));
    state->history = history_from_json(t.at("history"));
    const json& callbacks = t.at("callbacks");
    for (std::size_t i = 0; i < callbacks.size(); ++i) {
      if (callbacks[i].is_null()) {
        state->callbacks.push_back(std::nullopt);
        continue;
      }
      CallbackState cs;
      cs.values = callbacks[i].at("values");
      for (const auto& name : callbacks[i].at("tensors")) {
        const std::string n = name.get<std::string>();
        const Tensor* tensor = file.find(kCallbackPrefix + std::to_string(i) + "/" + n);
        if (!tensor) throw Error(source + ": callback " + std::to_string(i) + "'s tensor " + n + " is missing");
        cs.tensors.emplace_back(n, *tensor);
      }
      state->callbacks.push_back(std::move(cs));
    }
    restore_generators(*out.model, t.at("generators"), source);
  } catch (const json::exception& e) {
    throw Error(source + ": kiln.training is malformed (" + e.what() + ")");
  }
  out.state = state;
  return out;
}

}  // namespace kiln
