// Running the built programs from tests.
#pragma once
#include <filesystem>
#include <string>

namespace kiln::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `command` through the shell and captures its output.
ProcessResult run_command(const std::string& command);

// A fresh empty directory, removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Writes `records` CIFAR-10 records per batch file (official binary format)
// into dir/cifar-10-batches-bin; pixel values encode (record, channel) so
// tests can check placement.
void write_tiny_cifar10(const std::filesystem::path& dir, int records_per_file);

}  // namespace kiln::testing
