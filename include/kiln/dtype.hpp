// Element types and devices a tensor can have.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln {

// Float32 is what models train in; Float64 exists so gradients can be checked
// numerically in double precision; UInt8/Int32/Int64 hold images and labels.
enum class DType : std::uint8_t { Float32, Float64, UInt8, Int32, Int64 };

std::size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);
bool is_floating(DType dtype);

template <typename T>
constexpr DType dtype_of();
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }
template <> constexpr DType dtype_of<std::uint8_t>() { return DType::UInt8; }
template <> constexpr DType dtype_of<std::int32_t>() { return DType::Int32; }
template <> constexpr DType dtype_of<std::int64_t>() { return DType::Int64; }

// Only the CPU exists today; the type carries an index so that CUDA devices
// (and one device per MPI rank) fit without changing the tensor API.
enum class DeviceType : std::uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  static Device cpu() { return {}; }
  bool operator==(const Device&) const = default;
  std::string str() const;
};

}  // namespace kiln
