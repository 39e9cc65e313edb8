// libFuzzer target: ONNX files (src/onnx/import.cpp and the protobuf parser under it).
// Any input must end in a model or a kiln::Error — never a crash, a sanitizer report, a
// leak or an allocation beyond what the input's bytes hold. In memory there is no folder,
// so external data is refused; tests/onnx/import_test.cpp covers paths escaping one.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kiln/error.hpp"
#include "kiln/onnx.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    kiln::load_onnx_from_bytes(bytes, {}, "fuzz input");
  } catch (const kiln::Error&) {
  }
  return 0;
}
