#include "support/process.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include <array>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace kiln::testing {

ProcessResult run_command(const std::string& command) {
  ProcessResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed for: " + command);
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe)) result.output += buffer.data();
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

Child::Child(const std::string& command) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    dup2(fds[1], 1);
    dup2(fds[1], 2);
    close(fds[0]);
    close(fds[1]);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  fd_ = fds[0];
}

Child::~Child() {
  if (pid_ > 0) kill_and_wait(SIGKILL);
  if (fd_ >= 0) close(fd_);
}

bool Child::read_until(const std::function<bool(const std::string&)>& ready, double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  while (!ready(output_)) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    const ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) return ready(output_);
    output_.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

int Child::kill_and_wait(int signal) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
}

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "kiln-test-XXXXXX").string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void write_tiny_cifar10(const std::filesystem::path& dir, int records) {
  const auto bin = dir / "cifar-10-batches-bin";
  std::filesystem::create_directories(bin);
  const char* files[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                         "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
  int serial = 0;
  for (const char* name : files) {
    std::ofstream out(bin / name, std::ios::binary);
    for (int r = 0; r < records; ++r, ++serial) {
      const auto label = static_cast<unsigned char>(serial % 10);
      out.put(static_cast<char>(label));
      // Planar R, G, B planes of 32x32; each class gets its own brightness pattern.
      for (int c = 0; c < 3; ++c) {
        for (int p = 0; p < 1024; ++p) {
          const int v = (label * 25 + c * 7 + (p % 32 < 16 ? 0 : 20)) % 256;
          out.put(static_cast<char>(v));
        }
      }
    }
  }
}

}  // namespace kiln::testing
