// kiln export: a saved model (or a run folder's) as an ONNX file.
//
//   kiln export runs/20250101-120000-cifar10 model.onnx
//   kiln export model.safetensors model.onnx --opset 13
#include <iostream>

#include "command.hpp"
#include "kiln/kiln.hpp"

namespace kiln::cli {
namespace {

namespace fs = std::filesystem;

struct ExportSettings {
  std::string model, out;
  std::int64_t opset = 17;
};

int run_export(const ExportSettings& s) {
  fs::path model_file = s.model;
  if (fs::is_directory(model_file)) {
    model_file /= "model.safetensors";
    if (!fs::exists(model_file)) throw Error(s.model + ": no model.safetensors (is the run finished?)");
  }
  const auto model = load_model(model_file);
  export_onnx(*model, s.out, {.opset = s.opset});
  std::cout << "Wrote " << s.out << " (ONNX opset " << s.opset << ", " << model->count_params() << " parameters)\n";
  return 0;
}

}  // namespace

Command add_export_command(CLI::App& parent) {
  auto s = std::make_shared<ExportSettings>();
  auto* app = parent.add_subcommand("export", "Write a saved model (or a run folder's) as an ONNX file");
  app->add_option("MODEL", s->model, "A model file (model.safetensors) or a run folder")
      ->required()
      ->check(existing_path());
  app->add_option("OUTPUT", s->out, "The ONNX file to write")->required();
  app->add_option("--opset", s->opset, "ONNX opset, 13 to 17")->check(whole_number(13, 17))->capture_default_str();
  return {app, [s] { return run_export(*s); }};
}

}  // namespace kiln::cli
