#include "kiln/io/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "kiln/error.hpp"
#include "kiln/io/files.hpp"

namespace kiln::io {
namespace {

using json = nlohmann::json;

// Tensor bytes are copied as they are in memory, which is the file's order only here.
static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

// What the reference implementation accepts, so that its files and Kiln's agree.
constexpr std::uint64_t kMaxHeader = 100'000'000;
// Deeper JSON is not a safetensors header; the limit keeps a hostile one cheap.
constexpr int kMaxDepth = 8;
constexpr std::size_t kMaxRank = 32;

struct DTypeName {
  const char* name;
  std::optional<DType> dtype;  // nullopt: a valid safetensors dtype Kiln has no tensors of
};

constexpr DTypeName kDTypes[] = {
    {"F32", DType::Float32}, {"F64", DType::Float64},   {"U8", DType::UInt8},      {"I32", DType::Int32},
    {"I64", DType::Int64},   {"F16", std::nullopt},     {"BF16", std::nullopt},    {"I8", std::nullopt},
    {"I16", std::nullopt},   {"U16", std::nullopt},     {"U32", std::nullopt},     {"U64", std::nullopt},
    {"BOOL", std::nullopt},  {"F8_E4M3", std::nullopt}, {"F8_E5M2", std::nullopt},
};

// A name as it can be shown in a message: quoted, with control characters escaped.
std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s.substr(0, 200)) {
    if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + (s.size() > 200 ? "...\"" : "\"");
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin, end;
};

std::uint64_t get_offset(const json& v, const std::string& where) {
  if (!v.is_number_unsigned()) throw Error(where + ": data_offsets must be two non-negative integers");
  return v.get<std::uint64_t>();
}

Entry parse_entry(const std::string& name, const json& info, std::uint64_t data_size, const std::string& source) {
  const std::string where = source + ": tensor " + quoted(name);
  if (!info.is_object()) throw Error(where + ": expected {\"dtype\", \"shape\", \"data_offsets\"}, got " + info.dump());
  for (const auto& [key, value] : info.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      throw Error(where + ": unknown field " + quoted(key));
  }
  if (!info.contains("dtype") || !info.at("dtype").is_string()) throw Error(where + ": no \"dtype\" string");
  if (!info.contains("shape") || !info.at("shape").is_array()) throw Error(where + ": no \"shape\" list");
  if (!info.contains("data_offsets") || !info.at("data_offsets").is_array() || info.at("data_offsets").size() != 2) {
    throw Error(where + ": no \"data_offsets\" pair [begin, end]");
  }
  Entry e{name, DType::Float32, {}, 0, 0};
  const std::string dtype = info.at("dtype").get<std::string>();
  const DTypeName* found = nullptr;
  for (const auto& d : kDTypes) {
    if (dtype == d.name) found = &d;
  }
  if (!found) throw Error(where + ": unknown dtype " + quoted(dtype));
  if (!found->dtype) {
    throw Error(where + ": dtype " + dtype + " is not one Kiln has tensors of (F32, F64, U8, I32, I64)");
  }
  e.dtype = *found->dtype;
  const json& shape = info.at("shape");
  if (shape.size() > kMaxRank) throw Error(where + ": " + std::to_string(shape.size()) + " dimensions is too many");
  // The element count may not exceed what the data holds, so no product below overflows. An
  // empty tensor (a zero dimension) holds no data; its other dimensions are still kept sane.
  const std::uint64_t item = dtype_size(e.dtype);
  const std::uint64_t most = std::max<std::uint64_t>(data_size / item, std::uint64_t{1} << 32);
  std::uint64_t numel = 1, nonzero = 1;
  for (const auto& d : shape) {
    if (!d.is_number_unsigned()) throw Error(where + ": shape " + shape.dump() + " must hold non-negative integers");
    const std::uint64_t v = d.get<std::uint64_t>();
    if (v == 0) {
      numel = 0;
    } else {
      if (nonzero > most / v) throw Error(where + ": shape " + shape.dump() + " is larger than the file");
      nonzero *= v;
    }
    e.shape.push_back(static_cast<std::int64_t>(v));
  }
  if (numel != 0) numel = nonzero;
  e.begin = get_offset(info.at("data_offsets")[0], where);
  e.end = get_offset(info.at("data_offsets")[1], where);
  if (e.begin > e.end) {
    throw Error(where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                "] end before they begin");
  }
  if (e.end > data_size) {
    throw Error(where + ": data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) +
                "] reach past the data, which has " + std::to_string(data_size) + " bytes (truncated file?)");
  }
  if (e.end - e.begin != numel * item) {
    throw Error(where + ": " + dtype + " " + shape.dump() + " needs " + std::to_string(numel * item) +
                " bytes, data_offsets [" + std::to_string(e.begin) + ", " + std::to_string(e.end) + "] hold " +
                std::to_string(e.end - e.begin));
  }
  return e;
}

json parse_header(std::string_view header, const std::string& source) {
  std::set<std::string> keys;
  // Refuses deep nesting and repeated top-level names (JSON would silently keep the last).
  const json::parser_callback_t check = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxDepth) throw Error(source + ": the header nests deeper than a safetensors header does");
    if (event == json::parse_event_t::key && depth == 1) {
      const std::string key = parsed.get<std::string>();
      if (!keys.insert(key).second) throw Error(source + ": the header names " + quoted(key) + " twice");
    }
    return true;
  };
  try {
    return json::parse(header.begin(), header.end(), check);
  } catch (const json::exception& e) {
    throw Error(source + ": the header is not valid JSON (" + e.what() + ")");
  }
}

}  // namespace

const char* safetensors_dtype(DType dtype) {
  for (const auto& d : kDTypes) {
    if (d.dtype == dtype) return d.name;
  }
  throw Error(std::string("safetensors: no dtype for ") + dtype_name(dtype));
}

const Tensor* Safetensors::find(const std::string& name) const {
  for (const auto& t : tensors) {
    if (t.name == name) return &t.tensor;
  }
  return nullptr;
}

std::string encode_safetensors(const std::vector<NamedTensor>& tensors,
                               const std::map<std::string, std::string>& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string> names;
  std::uint64_t offset = 0;
  std::vector<Tensor> data;
  for (const auto& [name, tensor] : tensors) {
    if (name == "__metadata__") throw Error("safetensors: \"__metadata__\" cannot name a tensor");
    if (!names.insert(name).second) throw Error("safetensors: two tensors are named " + quoted(name));
    if (!tensor.defined()) throw Error("safetensors: tensor " + quoted(name) + " is undefined");
    const Tensor t = tensor.contiguous();
    const std::uint64_t bytes = static_cast<std::uint64_t>(t.numel()) * dtype_size(t.dtype());
    header[name] = {
        {"dtype", safetensors_dtype(t.dtype())}, {"shape", t.shape()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    data.push_back(t);
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const json::exception& e) {  // names must be valid UTF-8
    throw Error(std::string("safetensors: cannot write the header (") + e.what() + ")");
  }
  // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  const std::uint64_t n = text.size();
  std::memcpy(out.data(), &n, 8);
  out += text;
  out.reserve(out.size() + offset);
  for (const Tensor& t : data) {
    out.append(static_cast<const char*>(t.raw_data()), static_cast<std::size_t>(t.numel()) * dtype_size(t.dtype()));
  }
  return out;
}

Safetensors decode_safetensors(std::string_view bytes, const std::string& source) {
  if (bytes.size() < 8) {
    throw Error(source + ": truncated: " + std::to_string(bytes.size()) +
                " bytes; a safetensors file starts with an 8-byte header length");
  }
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  if (n > bytes.size() - 8) {
    throw Error(source + ": the header length " + std::to_string(n) + " exceeds the " +
                std::to_string(bytes.size() - 8) + " bytes after it (truncated, or not a safetensors file)");
  }
  if (n > kMaxHeader) throw Error(source + ": the header length " + std::to_string(n) + " is over the 100 MB limit");
  const std::string_view header = bytes.substr(8, n);
  if (header.empty() || header[0] != '{') {
    throw Error(source + ": the header does not start with '{' (not a safetensors file?)");
  }
  const json j = parse_header(header, source);
  if (!j.is_object()) throw Error(source + ": the header is not a JSON object");
  const std::uint64_t data_size = bytes.size() - 8 - n;
  Safetensors out;
  std::vector<Entry> entries;
  try {
    for (const auto& [name, info] : j.items()) {
      if (name == "__metadata__") {
        if (!info.is_object()) throw Error(source + ": __metadata__ must map names to strings");
        for (const auto& [key, value] : info.items()) {
          if (!value.is_string()) throw Error(source + ": __metadata__ entry " + quoted(key) + " is not a string");
          out.metadata[key] = value.get<std::string>();
        }
        continue;
      }
      entries.push_back(parse_entry(name, info, data_size, source));
    }
  } catch (const json::exception& e) {
    throw Error(source + ": malformed header (" + e.what() + ")");
  }
  // The tensors must tile the data: sorted by offset, each begins where the previous ended.
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t at = 0;
  const Entry* previous = nullptr;
  for (const Entry& e : entries) {
    if (e.begin < at) {
      throw Error(source + ": tensors " + quoted(previous->name) + " [" + std::to_string(previous->begin) + ", " +
                  std::to_string(previous->end) + ") and " + quoted(e.name) + " [" + std::to_string(e.begin) + ", " +
                  std::to_string(e.end) + ") overlap");
    }
    if (e.begin > at) {
      throw Error(source + ": data bytes [" + std::to_string(at) + ", " + std::to_string(e.begin) +
                  ") belong to no tensor");
    }
    at = e.end;
    previous = &e;
  }
  if (at != data_size) {
    throw Error(source + ": the tensors end at byte " + std::to_string(at) + " of the data, but it has " +
                std::to_string(data_size) + " bytes");
  }
  const char* data = bytes.data() + 8 + n;
  for (const Entry& e : entries) {
    Tensor t = Tensor::empty(e.shape, e.dtype);
    if (e.end > e.begin) std::memcpy(t.raw_data(), data + e.begin, e.end - e.begin);
    out.tensors.push_back({e.name, t});
  }
  return out;
}

void save_safetensors(const std::filesystem::path& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  write_file_atomically(path, encode_safetensors(tensors, metadata));
}

Safetensors load_safetensors(const std::filesystem::path& path) {
  return decode_safetensors(read_file(path), path.string());
}

}  // namespace kiln::io
