#include "onnx/proto.hpp"

#include "kiln/error.hpp"

namespace kiln::onnx_detail {

int onnx_type(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return onnx::TensorProto::FLOAT;
    case DType::Float64:
      return onnx::TensorProto::DOUBLE;
    case DType::UInt8:
      return onnx::TensorProto::UINT8;
    case DType::Int32:
      return onnx::TensorProto::INT32;
    case DType::Int64:
      return onnx::TensorProto::INT64;
  }
  throw Error("ONNX: unknown dtype");
}

DType kiln_type(int type, const std::string& where) {
  switch (type) {
    case onnx::TensorProto::FLOAT:
      return DType::Float32;
    case onnx::TensorProto::DOUBLE:
      return DType::Float64;
    case onnx::TensorProto::UINT8:
      return DType::UInt8;
    case onnx::TensorProto::INT32:
      return DType::Int32;
    case onnx::TensorProto::INT64:
      return DType::Int64;
    default:
      throw Error(where + ": element type " + std::to_string(type) +
                  " is not supported; expected FLOAT (1), DOUBLE (11), UINT8 (2), INT32 (6) or INT64 (7)");
  }
}

void fill_tensor(onnx::TensorProto& proto, const std::string& name, const Tensor& value) {
  const Tensor t = value.contiguous();
  proto.set_name(name);
  proto.set_data_type(onnx_type(t.dtype()));
  for (auto d : t.shape()) proto.add_dims(d);
  proto.set_raw_data(static_cast<const char*>(t.raw_data()), t.numel() * dtype_size(t.dtype()));
}

onnx::AttributeProto* add_int(onnx::NodeProto& node, const std::string& name, std::int64_t v) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
  return a;
}

onnx::AttributeProto* add_float(onnx::NodeProto& node, const std::string& name, float v) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::FLOAT);
  a->set_f(v);
  return a;
}

onnx::AttributeProto* add_ints(onnx::NodeProto& node, const std::string& name, const std::vector<std::int64_t>& v) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INTS);
  for (auto x : v) a->add_ints(x);
  return a;
}

onnx::AttributeProto* add_string(onnx::NodeProto& node, const std::string& name, const std::string& v) {
  auto* a = node.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::STRING);
  a->set_s(v);
  return a;
}

}  // namespace kiln::onnx_detail
