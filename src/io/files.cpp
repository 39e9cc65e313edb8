#include "kiln/io/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "kiln/error.hpp"

namespace kiln::io {
namespace fs = std::filesystem;
namespace {

std::string errno_text() { return std::strerror(errno); }

// Closes a descriptor when the scope ends (on errors too).
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void write_all(int fd, std::string_view bytes, const std::string& name) {
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(name + ": cannot write: " + errno_text());
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

void write_file_atomically(const fs::path& path, std::string_view bytes) {
  const std::string name = path.string();
  if (path.filename().empty()) throw Error(name + ": not a file name");
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  // mkstemp gives a name no other writer (another process saving the same file) can share.
  std::string base = ".";  // (built step by step: GCC 12 warns falsely on "." + std::string)
  base += path.filename().string();
  base += ".tmp-XXXXXX";
  std::string temp_name = (dir / base).string();
  std::vector<char> temp(temp_name.begin(), temp_name.end());
  temp.push_back('\0');
  Fd file;
  file.fd = ::mkstemp(temp.data());
  if (file.fd < 0) throw Error(name + ": cannot create a temporary file in " + dir.string() + ": " + errno_text());
  temp_name = temp.data();
  try {
    write_all(file.fd, bytes, name);
    // The data must be on disk before the rename makes it the file; otherwise a crash
    // could leave the new name pointing at an empty or partial file.
    if (::fsync(file.fd) != 0) throw Error(name + ": cannot flush to disk: " + errno_text());
    // mkstemp creates 0600; give the file the usual permissions (umask applies).
    const mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(file.fd, 0666 & ~mask);
    if (::close(file.fd) != 0) {
      file.fd = -1;
      throw Error(name + ": cannot close: " + errno_text());
    }
    file.fd = -1;
    if (::rename(temp_name.c_str(), name.c_str()) != 0) throw Error(name + ": cannot replace: " + errno_text());
  } catch (...) {
    ::unlink(temp_name.c_str());
    throw;
  }
  // Make the rename durable: flush the folder's entry list.
  Fd folder;
  folder.fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (folder.fd >= 0) ::fsync(folder.fd);
}

std::string read_file(const fs::path& path, std::uint64_t max_bytes) {
  const std::string name = path.string();
  Fd file;
  file.fd = ::open(name.c_str(), O_RDONLY);
  if (file.fd < 0) {
    throw Error(name + (errno == ENOENT ? std::string(": no such file") : ": cannot open: " + errno_text()));
  }
  struct stat st {};
  if (::fstat(file.fd, &st) != 0) throw Error(name + ": cannot read its size: " + errno_text());
  if (S_ISDIR(st.st_mode)) throw Error(name + ": is a folder, not a file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > max_bytes) {
    throw Error(name + ": " + std::to_string(size) + " bytes, more than the " + std::to_string(max_bytes) + " allowed");
  }
  std::string bytes(size, '\0');
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(file.fd, bytes.data() + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error(name + ": cannot read: " + errno_text());
    }
    if (n == 0) break;  // the file shrank while we read it
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace kiln::io
