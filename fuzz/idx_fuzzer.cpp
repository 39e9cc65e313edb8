// libFuzzer target: the IDX reader (src/data/idx.cpp) on plain and gzip'd input.
// The input is handed over as a file (an in-memory one), the only way read_idx takes data.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "kiln/datasets.hpp"
#include "kiln/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = memfd_create("idx", 0);
  if (fd < 0) return 0;
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  try {
    kiln::datasets::read_idx("/proc/self/fd/" + std::to_string(fd));
  } catch (const kiln::Error&) {
  }
  close(fd);
  return 0;
}
