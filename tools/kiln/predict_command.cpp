// kiln predict: a model's outputs for inputs in NumPy .npy files.
//
//   kiln predict model.safetensors --input x.npy --output y.npy
//   kiln predict model.onnx --input a.npy --input b.npy       (one --input per model input)
// Images are NHWC, as Kiln models take them (an imported PyTorch model included).
#include <iostream>

#include "command.hpp"
#include "kiln/kiln.hpp"

namespace kiln::cli {
namespace {

namespace fs = std::filesystem;

struct PredictSettings {
  std::string model;
  std::vector<std::string> inputs;
  std::string out = "predictions.npy";
  std::int64_t batch_size = 32;
};

int run_predict(const PredictSettings& s) {
  fs::path model_file = s.model;
  if (fs::is_directory(model_file)) model_file /= "model.safetensors";
  const bool onnx = model_file.extension() == ".onnx";
  const auto model = onnx ? load_onnx(model_file) : load_model(model_file);
  std::vector<Tensor> xs;
  for (const auto& path : s.inputs) xs.push_back(io::read_npy(path));
  const std::size_t wanted = model->is_functional() ? model->inputs().size() : 1;
  if (xs.size() != wanted) {
    throw Error(model_file.string() + ": the model takes " + std::to_string(wanted) + " inputs; got " +
                std::to_string(xs.size()) + " --input files");
  }
  for (std::size_t i = 0; i < xs.size() && model->is_functional(); ++i) {
    Shape expected = model->inputs()[i].shape();
    Shape actual = xs[i].shape();
    if (!actual.empty()) actual.erase(actual.begin());
    if (actual != expected) {
      throw Error(s.inputs[i] + ": samples of shape " + shape_str(actual) +
                  " (after the batch axis); the model's input " + std::to_string(i) + " takes " + shape_str(expected));
    }
    // float64 data into a float32 model, int32 ids into an int64 input; never floats into ids.
    const DType want = model->inputs()[i].dtype();
    if (is_floating(xs[i].dtype()) == is_floating(want) && xs[i].dtype() != want) xs[i] = xs[i].to(want);
  }
  const Tensor y = xs.size() == 1 ? model->predict(xs[0], {.batch_size = s.batch_size})
                                  : model->predict(data::Dataset(xs), {.batch_size = s.batch_size});
  io::write_npy(y, s.out);
  std::cout << "Wrote " << s.out << " " << shape_str(y.shape()) << "\n";
  return 0;
}

}  // namespace

Command add_predict_command(CLI::App& parent) {
  auto s = std::make_shared<PredictSettings>();
  auto* app = parent.add_subcommand("predict", "Run a model (Kiln file, run folder or .onnx) on .npy inputs");
  app->add_option("MODEL", s->model, "model.safetensors, a run folder, or model.onnx")
      ->required()
      ->check(existing_path());
  app->add_option("--input", s->inputs, "A .npy file per model input, batch axis first (images NHWC)")
      ->required()
      ->check(existing_file());
  app->add_option("--output", s->out, "Where to write the predictions (.npy)")->capture_default_str();
  app->add_option("--batch-size", s->batch_size, "Samples per forward pass")
      ->check(whole_number(1))
      ->capture_default_str();
  return {app, [s] { return run_predict(*s); }};
}

}  // namespace kiln::cli
