// Helpers over the generated ONNX protobuf classes, shared by export and import.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/tensor.hpp"
#include "onnx.pb.h"

namespace kiln::onnx_detail {

// ONNX's TensorProto.DataType for a Kiln dtype, and back (an Error names `where` otherwise).
int onnx_type(DType dtype);
DType kiln_type(int onnx_type, const std::string& where);

// A TensorProto holding `value` (contiguous, little-endian raw_data).
void fill_tensor(onnx::TensorProto& proto, const std::string& name, const Tensor& value);

onnx::AttributeProto* add_int(onnx::NodeProto& node, const std::string& name, std::int64_t v);
onnx::AttributeProto* add_float(onnx::NodeProto& node, const std::string& name, float v);
onnx::AttributeProto* add_ints(onnx::NodeProto& node, const std::string& name, const std::vector<std::int64_t>& v);
onnx::AttributeProto* add_string(onnx::NodeProto& node, const std::string& name, const std::string& v);

}  // namespace kiln::onnx_detail
