// kiln import: an ONNX file as a Kiln model file (trainable, and exportable again).
//
//   kiln import model.onnx model.safetensors
#include <iostream>

#include "command.hpp"
#include "kiln/kiln.hpp"

namespace kiln::cli {
namespace {

int run_import(const std::string& in, const std::string& out) {
  const auto model = load_onnx(in);
  model->save(out);
  std::string shapes;
  for (const auto& input : model->inputs()) shapes += (shapes.empty() ? "" : ", ") + shape_str(input.shape());
  std::cout << "Wrote " << out << " (" << model->layers().size() << " layers, " << model->count_params()
            << " parameters; input " << shapes << ", batch axis first)\n";
  return 0;
}

}  // namespace

Command add_import_command(CLI::App& parent) {
  auto in = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* app = parent.add_subcommand("import", "Convert an ONNX model into a Kiln model file");
  app->add_option("ONNX_FILE", *in, "The ONNX model to read")->required()->check(existing_file());
  app->add_option("OUTPUT", *out, "The model file to write (.safetensors)")->required();
  return {app, [in, out] { return run_import(*in, *out); }};
}

}  // namespace kiln::cli
