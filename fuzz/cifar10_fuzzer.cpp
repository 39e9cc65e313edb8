// libFuzzer target: CIFAR-10 batch files (src/data/cifar10.cpp), and, for input that
// looks like a tarball (gzip or tar magic), cifar-10-binary.tar.gz read through libarchive.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "data/cifar10_batch.hpp"
#include "kiln/datasets.hpp"
#include "kiln/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const bool gzip = size >= 2 && data[0] == 0x1f && data[1] == 0x8b;
  const bool tar = size >= 262 && std::memcmp(data + 257, "ustar", 5) == 0;
  if (!gzip && !tar) {
    try {
      kiln::data_detail::decode_cifar10_batch(bytes, "fuzz input");
    } catch (const kiln::Error&) {
    }
    return 0;
  }
  const int fd = memfd_create("cifar", 0);
  if (fd < 0) return 0;
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  try {
    kiln::datasets::cifar10::load_from("/proc/self/fd/" + std::to_string(fd));
  } catch (const kiln::Error&) {
  }
  close(fd);
  return 0;
}
