#include "kiln/io/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "kiln/error.hpp"

namespace kiln::io {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

}  // namespace

void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
  namespace fs = std::filesystem;
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("cannot create folder " + dir.string() + " for " + path.string() + ": " + ec.message());
  // A hidden name beside the destination (so the rename stays on one file system).
  std::string name = path.filename().string();
  name.insert(name.begin(), '.');
  name.append(".XXXXXX");
  std::string temp = (dir / name).string();
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) throw Error("cannot write " + path.string() + ": " + errno_text(errno));
  auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd);
    ::unlink(temp.c_str());
    throw Error("cannot write " + path.string() + ": " + what + ": " + errno_text(err));
  };
  for (std::size_t done = 0; done < contents.size();) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("write");
    }
    done += static_cast<std::size_t>(n);
  }
  // mkstemp makes the file private (0600); give it a plain file's rw-r--r--
  // (reading the umask would mean setting it, which races with other threads).
  if (::fchmod(fd, 0644) != 0) fail("chmod");
  if (::fsync(fd) != 0) fail("fsync");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw Error("cannot write " + path.string() + ": close: " + errno_text(err));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw Error("cannot write " + path.string() + ": rename: " + errno_text(err));
  }
}

}  // namespace kiln::io
