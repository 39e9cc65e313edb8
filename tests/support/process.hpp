// Running the built programs from tests.
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <string>

namespace kiln::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs `command` through the shell and captures its output.
ProcessResult run_command(const std::string& command);

// A program running in the background whose output (stdout and stderr) is read as
// it comes, so a test can act at a given moment — kill it mid-epoch, say.
class Child {
 public:
  // Runs `command` through the shell; a command that ends in `exec program ...` makes
  // pid() the program itself, so that signals reach it.
  explicit Child(const std::string& command);
  ~Child();  // kills and reaps it if it still runs
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }
  // Reads output until `ready(output so far)` holds (true), the output ends or `timeout_s` passes (false).
  bool read_until(const std::function<bool(const std::string&)>& ready, double timeout_s);
  // Sends `signal` and waits: the exit code, or -signal when a signal ended it.
  int kill_and_wait(int signal);
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string output_;
};

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
