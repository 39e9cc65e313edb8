// .npy reading and writing (kiln/io/npy.hpp). Built into Kiln::onnx beside `kiln predict`'s
// other needs, so the core library's file list stays as it is.
#include "kiln/io/npy.hpp"

#include <cstring>
#include <limits>
#include <regex>

#include "kiln/error.hpp"
#include "kiln/io/files.hpp"

namespace kiln::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";

const char* descr_of(DType dtype) {
  switch (dtype) {
    case DType::Float32:
      return "<f4";
    case DType::Float64:
      return "<f8";
    case DType::UInt8:
      return "|u1";
    case DType::Int32:
      return "<i4";
    case DType::Int64:
      return "<i8";
  }
  return "";
}

DType dtype_of_descr(const std::string& descr, const std::string& source) {
  if (descr == "<f4") return DType::Float32;
  if (descr == "<f8") return DType::Float64;
  if (descr == "|u1" || descr == "<u1") return DType::UInt8;
  if (descr == "<i4") return DType::Int32;
  if (descr == "<i8") return DType::Int64;
  throw Error(source + ": dtype '" + descr + "' is not supported; expected one of <f4, <f8, |u1, <i4, <i8");
}

}  // namespace

Tensor npy_from_bytes(std::string_view bytes, const std::string& source) {
  if (bytes.size() < 10 || bytes.substr(0, 6) != std::string_view(kMagic, 6)) {
    throw Error(source + ": not a .npy file (it does not start with \\x93NUMPY)");
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  std::size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len =
        static_cast<unsigned char>(bytes[8]) | (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw Error(source + ": truncated .npy header");
    for (int i = 0; i < 4; ++i)
      header_len |= static_cast<std::size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    offset = 12;
  } else {
    throw Error(source + ": .npy format version " + std::to_string(major) + " is not supported; expected 1, 2 or 3");
  }
  if (header_len > bytes.size() - offset) throw Error(source + ": truncated .npy header");
  const std::string header(bytes.substr(offset, header_len));
  std::smatch m;
  static const std::regex descr_re(R"('descr'\s*:\s*'([^']*)')");
  static const std::regex order_re(R"('fortran_order'\s*:\s*(True|False))");
  static const std::regex shape_re(R"('shape'\s*:\s*\(([^)]*)\))");
  if (!std::regex_search(header, m, descr_re)) throw Error(source + ": .npy header has no 'descr'");
  const DType dtype = dtype_of_descr(m[1].str(), source);
  if (!std::regex_search(header, m, order_re)) throw Error(source + ": .npy header has no 'fortran_order'");
  if (m[1].str() == "True") throw Error(source + ": Fortran-ordered arrays are not supported; save in C order");
  if (!std::regex_search(header, m, shape_re)) throw Error(source + ": .npy header has no 'shape'");
  Shape shape;
  const std::string dims = m[1].str();
  static const std::regex dim_re(R"(\s*([0-9]+)\s*,?)");
  std::int64_t count = 1;
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), dim_re); it != std::sregex_iterator(); ++it) {
    const std::string d = (*it)[1].str();
    if (d.size() > 12) throw Error(source + ": .npy dimension " + d + " is too large");
    const std::int64_t n = std::stoll(d);
    shape.push_back(n);
    if (n != 0 && count > std::numeric_limits<std::int64_t>::max() / n) throw Error(source + ": .npy shape too large");
    count *= n;
  }
  const std::size_t data_offset = offset + header_len;
  const std::uint64_t need = static_cast<std::uint64_t>(count) * dtype_size(dtype);
  if (count > 0 && need / static_cast<std::uint64_t>(count) != dtype_size(dtype))
    throw Error(source + ": .npy shape too large");
  if (bytes.size() - data_offset != need) {
    throw Error(source + ": .npy data is " + std::to_string(bytes.size() - data_offset) + " bytes; shape " +
                shape_str(shape) + " of " + dtype_name(dtype) + " needs " + std::to_string(need));
  }
  Tensor t = Tensor::empty(shape, dtype);
  if (need > 0) std::memcpy(t.raw_data(), bytes.data() + data_offset, need);
  return t;
}

Tensor read_npy(const std::filesystem::path& path) { return npy_from_bytes(read_file(path), path.string()); }

std::string npy_to_bytes(const Tensor& tensor) {
  const Tensor t = tensor.contiguous();
  std::string shape;
  for (std::size_t i = 0; i < t.shape().size(); ++i) shape += (i ? ", " : "") + std::to_string(t.shape()[i]);
  if (t.ndim() == 1) shape += ",";  // NumPy's one-element tuple: (3,)
  std::string header =
      "{'descr': '" + std::string(descr_of(t.dtype())) + "', 'fortran_order': False, 'shape': (" + shape + "), }";
  // The data starts at a multiple of 64 bytes; the header ends with a newline.
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string out(kMagic, 6);
  out += '\x01';
  out += '\x00';
  out += static_cast<char>(header.size() & 0xff);
  out += static_cast<char>((header.size() >> 8) & 0xff);
  out += header;
  out.append(static_cast<const char*>(t.raw_data()), t.numel() * dtype_size(t.dtype()));
  return out;
}

void write_npy(const Tensor& tensor, const std::filesystem::path& path) {
  write_file_atomically(path, npy_to_bytes(tensor));
}

}  // namespace kiln::io
