// Model files: a whole model, its weights alone, or a training checkpoint, each one
// safetensors file (see kiln/io/safetensors.hpp and docs/model_files.md):
//
//   model.save("model.safetensors");                 // architecture + weights + optimizer
//   auto model = kiln::load_model("model.safetensors");
//   model->predict(x);                               // bit-identical to the saved model's
//
//   model.save_weights("weights.safetensors");       // weights only, "<layer>/<weight>"
//   other.load_weights("weights.safetensors");       // same architecture; checked first
//
// The architecture is JSON in the file's metadata, in Keras's form
// {"class_name": "Sequential", "config": {"layers": [{"class_name": "Conv2D", "config": {...}}, ...]}}:
// each layer is rebuilt by layers::layer_from_config, each model type by model_from_config.
// Files are written atomically: a crash leaves the previous file or the new one.
#pragma once
#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "kiln/model.hpp"
#include "kiln/model_config.hpp"

namespace kiln {

// Rebuilds the model a file holds: its architecture, weights and, when it was saved
// compiled, its optimizer (settings and state), loss and metrics. An Error names the
// file and what is wrong (not a Kiln model, a corrupt or truncated file, a tensor that
// does not fit).
std::shared_ptr<Model> load_model(const std::filesystem::path& path);
// The same from a file's bytes in memory; `source` names them in errors.
std::shared_ptr<Model> load_model_from_bytes(std::string_view bytes, const std::string& source = "model data");

// A checkpoint is a model file plus the TrainingState of the fit() that wrote it and the
// state of every random generator (the default one and each layer's), so that
//   auto [model, state] = kiln::load_checkpoint(path);
//   model->fit(data, {..., .resume = state});
// continues exactly. Loading restores those generators.
void save_checkpoint(const Model& model, const std::filesystem::path& path);
struct Checkpoint {
  std::shared_ptr<Model> model;
  std::shared_ptr<const TrainingState> state;
};
Checkpoint load_checkpoint(const std::filesystem::path& path);
Checkpoint load_checkpoint_from_bytes(std::string_view bytes, const std::string& source = "checkpoint data");

}  // namespace kiln
