#include "data/download.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <vector>

#include "kiln/error.hpp"

namespace kiln::data_detail {
namespace fs = std::filesystem;
namespace {

std::string errno_text(int err) { return std::strerror(err); }

struct Md5 {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
  Md5() {
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr) != 1)
      throw Error("MD5: OpenSSL could not start a digest");
  }
  void update(const void* data, std::size_t n) { EVP_DigestUpdate(ctx.get(), data, n); }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx.get(), digest, &len);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
      out += digits[digest[i] >> 4];
      out += digits[digest[i] & 15];
    }
    return out;
  }
};

std::string lowercase(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string megabytes(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
  return buf;
}

// Where the bytes go while they arrive: the temporary file and the running MD5,
// so the file need not be read again to verify it.
struct Sink {
  int fd = -1;
  Md5 md5;
  std::uint64_t bytes = 0;
  int write_errno = 0;
};

std::size_t on_data(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const std::size_t n = size * count;
  std::size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(sink->fd, data + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      sink->write_errno = errno;
      return 0;  // makes curl stop with CURLE_WRITE_ERROR
    }
    done += static_cast<std::size_t>(w);
  }
  sink->md5.update(data, n);
  sink->bytes += n;
  return n;
}

struct Progress {
  std::string name;
  bool terminal = false;
  std::chrono::steady_clock::time_point last{};
  bool drawn = false;
};

int on_progress(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* p = static_cast<Progress*>(user);
  if (!p->terminal || now == 0) return 0;
  const auto t = std::chrono::steady_clock::now();
  if (p->drawn && t - p->last < std::chrono::milliseconds(200) && now != total) return 0;
  p->last = t;
  p->drawn = true;
  std::string line = "\r  " + p->name + ": " + megabytes(static_cast<double>(now));
  if (total > 0) {
    line += " / " + megabytes(static_cast<double>(total)) + " (" +
            std::to_string(static_cast<int>(100.0 * static_cast<double>(now) / static_cast<double>(total))) + "%)";
  }
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  return 0;
}

// The temporary file next to the destination; removed unless released.
struct TempFile {
  std::string path;
  int fd = -1;
  explicit TempFile(const fs::path& dest) {
    std::string name = dest.filename().string();
    name.insert(0, 1, '.');  // hidden; spelled this way to dodge a GCC 12 -Wrestrict false positive
    name += ".part-XXXXXX";
    path = (dest.parent_path() / name).string();
    fd = ::mkstemp(path.data());
    if (fd < 0)
      throw Error("cannot create a temporary file in " + dest.parent_path().string() + ": " + errno_text(errno));
    // mkstemp makes the file private (0600); a dataset is ordinary readable data.
    ::fchmod(fd, 0644);
  }
  ~TempFile() {
    if (fd >= 0) ::close(fd);
    if (!path.empty()) ::unlink(path.c_str());
  }
  void close_or_throw() {
    const int r = ::close(fd);
    fd = -1;
    if (r != 0) throw Error("writing " + path + " failed: " + errno_text(errno));
  }
};

void global_init() {
  // curl_global_init is not thread-safe; run it once before any handle exists.
  static std::once_flag once;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) throw Error("libcurl failed to initialise");
  });
}

}  // namespace

void download_file(const std::string& url, const fs::path& dest, const std::string& expected_md5,
                   long connect_timeout_s, bool show_progress) {
  global_init();
  std::error_code ec;
  if (!dest.parent_path().empty()) {
    fs::create_directories(dest.parent_path(), ec);
    if (ec) throw Error("cannot create folder " + dest.parent_path().string() + " for " + url + ": " + ec.message());
  }
  TempFile temp(dest.parent_path().empty() ? fs::path(".") / dest : dest);

  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) throw Error("libcurl could not create a handle to download " + url);
  Sink sink;
  sink.fd = temp.fd;
  Progress progress;
  progress.name = dest.filename().string();
  progress.terminal = show_progress && ::isatty(STDERR_FILENO);
  char errbuf[CURL_ERROR_SIZE] = {};

  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
  // An HTTP error page must not be taken for the file.
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, connect_timeout_s);
  // No overall timeout (a slow link may need long for 170 MB), but a stalled one is dropped.
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
  // Signals would break timeouts in multi-threaded programs.
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "kiln/0.1 (libcurl)");
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file");
  // A server may redirect to another server, never to a local file.
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, progress.terminal ? 0L : 1L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &progress);

  if (show_progress) {
    std::fprintf(stderr, "Downloading %s to %s\n", url.c_str(), dest.string().c_str());
    std::fflush(stderr);
  }
  const CURLcode code = curl_easy_perform(h);
  if (progress.drawn) std::fputs("\n", stderr);
  if (code != CURLE_OK) {
    std::string reason = curl_easy_strerror(code);
    if (code == CURLE_WRITE_ERROR && sink.write_errno != 0) {
      reason = "writing " + temp.path + " failed: " + errno_text(sink.write_errno);
    } else if (errbuf[0] != '\0' && reason != errbuf) {
      reason += " (" + std::string(errbuf) + ")";
    }
    throw Error("download of " + url + " failed: " + reason);
  }
  if (::fsync(temp.fd) != 0) throw Error("writing " + temp.path + " failed: " + errno_text(errno));
  temp.close_or_throw();

  const std::string actual = sink.md5.hex();
  if (actual != lowercase(expected_md5)) {
    throw Error("download of " + url + ": MD5 mismatch: expected " + lowercase(expected_md5) + ", got " + actual +
                " (" + std::to_string(sink.bytes) + " bytes received); the file was discarded");
  }
  if (::rename(temp.path.c_str(), dest.c_str()) != 0) {
    throw Error("cannot move the download to " + dest.string() + ": " + errno_text(errno));
  }
  temp.path.clear();
  // Make the rename itself durable, so a crash cannot leave a half-written name.
  const int dir = ::open(dest.parent_path().empty() ? "." : dest.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  if (show_progress) {
    std::fprintf(stderr, "  %s: %s, MD5 verified\n", dest.filename().c_str(),
                 megabytes(static_cast<double>(sink.bytes)).c_str());
  }
}

std::string md5_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    throw Error(path.string() + ": " + (fs::exists(path, ec) ? "cannot open: " + errno_text(errno) : "no such file"));
  }
  Md5 md5;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) md5.update(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) throw Error(path.string() + ": read error while computing its MD5");
  return md5.hex();
}

}  // namespace kiln::data_detail
