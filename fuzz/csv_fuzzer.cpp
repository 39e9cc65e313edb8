// libFuzzer target: the CSV reader and csv_dataset (src/data/csv.cpp). The input is the file
// (an in-memory one); the first column is the label, the second categorical when present.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "kiln/data/csv.hpp"
#include "kiln/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const int fd = memfd_create("csv", 0);
  if (fd < 0) return 0;
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  try {
    const auto table = kiln::data::read_csv(path);
    kiln::data::CsvOptions options{.label = table.header.at(0), .batch_size = 4, .seed = 1};
    if (table.header.size() > 1) options.categorical_columns = {table.header[1]};
    const auto dataset = kiln::data::csv_dataset(path, options);
    dataset.collect();
  } catch (const kiln::Error&) {
  } catch (const std::out_of_range&) {
  }
  close(fd);
  return 0;
}
