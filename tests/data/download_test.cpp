#include "data/download.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "data/data_test_util.hpp"

namespace kiln::test {
namespace {

using data_detail::download_file;
using data_detail::md5_file;
namespace fs = std::filesystem;

std::string file_url(const fs::path& p) { return "file://" + fs::absolute(p).string(); }

// Everything in `dir` except `keep`: what a download must not leave behind.
std::vector<std::string> leftovers(const fs::path& dir, const std::string& keep = "") {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename() != keep) out.push_back(e.path().filename().string());
  }
  return out;
}

Bytes some_bytes(std::size_t n) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>((i * 131) ^ (i >> 8));
  return b;
}

// Serves one canned HTTP response on 127.0.0.1 to the first connection.
class OneShotServer {
 public:
  explicit OneShotServer(std::string response) : response_(std::move(response)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd_, 1) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string request;
      char buf[1024];
      while (request.find("\r\n\r\n") == std::string::npos) {
        const ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<std::size_t>(n));
      }
      (void)!::write(c, response_.data(), response_.size());
      ::close(c);
    });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  std::string response_;
  int fd_ = -1;
  int port_ = 0;
  std::thread thread_;
};

TEST(DownloadTest, Md5OfKnownContents) {
  TempDir dir;
  write_file(dir / "empty", {});
  write_file(dir / "abc", {'a', 'b', 'c'});
  EXPECT_EQ(md5_file(dir / "empty"), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(md5_file(dir / "abc"), "900150983cd24fb0d6963f7d28e17f72");
  expect_mentions(error_of([&] { md5_file(dir / "missing"); }), {"missing", "no such file"});
}

TEST(DownloadTest, FetchesFileUrlIntoNewFolder) {
  TempDir src, dst;
  write_file(src / "data.bin", some_bytes(300000));
  const fs::path dest = dst / "nested" / "data.bin";
  download_file(file_url(src / "data.bin"), dest, md5_file(src / "data.bin"), 5, false);
  EXPECT_EQ(read_file(dest), some_bytes(300000));
  EXPECT_TRUE(leftovers(dest.parent_path(), "data.bin").empty());
}

TEST(DownloadTest, AcceptsUppercaseMd5) {
  TempDir dir;
  write_file(dir / "abc", {'a', 'b', 'c'});
  download_file(file_url(dir / "abc"), dir / "copy", "900150983CD24FB0D6963F7D28E17F72", 5, false);
  EXPECT_EQ(read_file(dir / "copy"), (Bytes{'a', 'b', 'c'}));
}

TEST(DownloadTest, Md5MismatchLeavesNothingBehind) {
  TempDir src, dst;
  write_file(src / "data.bin", some_bytes(1000));
  const std::string wrong = "0123456789abcdef0123456789abcdef";
  expect_mentions(error_of([&] { download_file(file_url(src / "data.bin"), dst / "data.bin", wrong, 5, false); }),
                  {file_url(src / "data.bin"), "MD5 mismatch", "expected " + wrong, "got " + md5_file(src / "data.bin"),
                   "1000 bytes", "discarded"});
  EXPECT_TRUE(leftovers(dst.path()).empty());
}

TEST(DownloadTest, FailedDownloadKeepsTheOldFile) {
  TempDir src, dst;
  write_file(src / "new", some_bytes(100));
  write_file(dst / "file", {'o', 'l', 'd'});
  EXPECT_THROW(download_file(file_url(src / "new"), dst / "file", "0123456789abcdef0123456789abcdef", 5, false),
               kiln::Error);
  EXPECT_EQ(read_file(dst / "file"), (Bytes{'o', 'l', 'd'}));
  EXPECT_TRUE(leftovers(dst.path(), "file").empty());
}

TEST(DownloadTest, MissingSourceIsAnError) {
  TempDir src, dst;
  expect_mentions(error_of([&] {
                    download_file(file_url(src / "nope.gz"), dst / "nope.gz", "d41d8cd98f00b204e9800998ecf8427e", 5,
                                  false);
                  }),
                  {"download of " + file_url(src / "nope.gz") + " failed", "file"});
  EXPECT_TRUE(leftovers(dst.path()).empty());
}

// A port on 127.0.0.1 that refuses connections: bound (so nothing else takes it) but not listening.
class RefusingPort {
 public:
  RefusingPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) throw std::runtime_error("bind failed");
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~RefusingPort() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(DownloadTest, RefusedConnectionFailsFast) {
  TempDir dst;
  RefusingPort refusing;
  const std::string url = "http://127.0.0.1:" + std::to_string(refusing.port()) + "/cifar-10-binary.tar.gz";
  const auto start = std::chrono::steady_clock::now();
  const std::string message =
      error_of([&] { download_file(url, dst / "x.tar.gz", "d41d8cd98f00b204e9800998ecf8427e", 5, false); });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 5.0);
  expect_mentions(message, {"download of " + url + " failed", "Couldn't connect"});
  EXPECT_TRUE(leftovers(dst.path()).empty());
}

TEST(DownloadTest, HttpErrorStatusIsNotTakenForTheFile) {
  TempDir dst;
  OneShotServer server("HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found");
  const std::string url = server.url("/data.gz");
  expect_mentions(error_of([&] { download_file(url, dst / "data.gz", "d41d8cd98f00b204e9800998ecf8427e", 5, false); }),
                  {"download of " + url + " failed", "404"});
  EXPECT_TRUE(leftovers(dst.path()).empty());
}

TEST(DownloadTest, FetchesOverHttp) {
  TempDir dst;
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc");
  download_file(server.url("/abc"), dst / "abc", "900150983cd24fb0d6963f7d28e17f72", 5, false);
  EXPECT_EQ(read_file(dst / "abc"), (Bytes{'a', 'b', 'c'}));
}

TEST(DownloadTest, ConnectionCutShortIsAnError) {
  TempDir dst;
  // Promises 1000 bytes, sends 3 and hangs up.
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\nabc");
  const std::string url = server.url("/abc");
  expect_mentions(error_of([&] { download_file(url, dst / "abc", "900150983cd24fb0d6963f7d28e17f72", 5, false); }),
                  {"download of " + url + " failed"});
  EXPECT_TRUE(leftovers(dst.path()).empty());
}

}  // namespace
}  // namespace kiln::test
