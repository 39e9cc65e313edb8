// ONNX export and import (library Kiln::onnx, the only one that links protobuf):
//
//   kiln::export_onnx(model, "model.onnx", {.opset = 17});   // Sequential or functional
//   auto model = kiln::load_onnx("model.onnx");                // a functional kiln::Model
//
// Export keeps the model's interface: images stay NHWC at the inputs and outputs, with one
// Transpose where the graph enters the NCHW layout ONNX's Conv and pooling operators use and
// one where it leaves it (before Flatten, Dense, or an output). The batch axis is dynamic
// ("batch"). A layer that ONNX cannot express is an Error naming it.
//
// Import turns a graph of the operators docs/onnx.md lists into Kiln layers, in the forms
// PyTorch's and Keras's exporters write them (NCHW convolutions with transposes around them,
// Gemm or MatMul+Add, Flatten, Reshape by a constant shape, Identity/Dropout/Constant). The
// model it returns takes images NHWC, as every Kiln model does, is trainable, and saves and
// exports again. An operator it does not know is an Error naming the operator and its node.
#pragma once
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "kiln/model.hpp"

namespace kiln {

struct OnnxExportOptions {
  // The opset of the default ("ai.onnx") domain; 13 to 17.
  std::int64_t opset = 17;
};

// Writes `model` (Sequential or functional, built) as an ONNX file, atomically.
void export_onnx(const Model& model, const std::filesystem::path& path, const OnnxExportOptions& options = {});
// The same file's bytes (a serialized ModelProto).
std::string export_onnx_to_bytes(const Model& model, const OnnxExportOptions& options = {});

// Reads an ONNX file into a functional model. Tensors stored as external data are read from
// files inside the model file's folder only.
std::shared_ptr<Model> load_onnx(const std::filesystem::path& path);
// The same from a file's bytes; `base_dir` is where external data would be (empty: none
// allowed); `source` names the bytes in errors.
std::shared_ptr<Model> load_onnx_from_bytes(std::string_view bytes, const std::filesystem::path& base_dir = {},
                                            const std::string& source = "ONNX data");

}  // namespace kiln
