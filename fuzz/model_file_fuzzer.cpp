// libFuzzer target: model, weights and checkpoint files (src/io/safetensors.cpp,
// src/io/model_file.cpp and every layer's config through layer_from_config).
// Any input must end in a parsed file or a kiln::Error — never a crash, a
// sanitizer report, a leak or an allocation beyond the input's size.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kiln/error.hpp"
#include "kiln/io/safetensors.hpp"
#include "kiln/saving.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    kiln::io::decode_safetensors(bytes, "fuzz input");
  } catch (const kiln::Error&) {
    return 0;  // the container is broken; the model loaders would say the same
  }
  try {
    kiln::load_model_from_bytes(bytes, "fuzz input");
  } catch (const kiln::Error&) {
  }
  try {
    kiln::load_checkpoint_from_bytes(bytes, "fuzz input");
  } catch (const kiln::Error&) {
  }
  return 0;
}
