// The IDX format (LeCun's MNIST files): a magic number (two zero bytes, a type code,
// the number of dimensions), one big-endian uint32 per dimension, then the data,
// row-major. Read through zlib so that .gz and plain files take the same path.
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <string>

#include "kiln/datasets.hpp"
#include "kiln/error.hpp"

namespace kiln::datasets {
namespace fs = std::filesystem;
namespace {

const char* type_name(unsigned code) {
  switch (code) {
    case 0x08:
      return "unsigned byte";
    case 0x09:
      return "signed byte";
    case 0x0B:
      return "int16";
    case 0x0C:
      return "int32";
    case 0x0D:
      return "float32";
    case 0x0E:
      return "float64";
    default:
      return nullptr;
  }
}

std::string hex_byte(unsigned b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", b & 0xFFu);
  return buf;
}

class GzReader {
 public:
  explicit GzReader(const fs::path& file) : name_(file.string()) {
    gz_ = gzopen(name_.c_str(), "rb");
    if (!gz_) throw Error(name_ + ": cannot open: " + std::strerror(errno ? errno : ENOMEM));
    gzbuffer(gz_, 1 << 18);
  }
  ~GzReader() { gzclose(gz_); }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  // Reads up to n bytes; fewer only at the end of the data. A gzip stream that stops
  // early reads as the end of the data (reported as truncation by the caller, with
  // truncated_gzip() set); corrupt compressed data throws.
  std::uint64_t read(void* dst, std::uint64_t n) {
    std::uint64_t done = 0;
    auto* out = static_cast<unsigned char*>(dst);
    while (done < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<std::uint64_t>(n - done, 1u << 30));
      const int r = gzread(gz_, out + done, chunk);
      if (r > 0) done += static_cast<std::uint64_t>(r);
      const bool stop = check_error();
      if (stop || r <= 0) break;
    }
    return done;
  }
  bool direct() { return gzdirect(gz_) != 0; }
  bool truncated_gzip() const { return truncated_gzip_; }

 private:
  // True when reading must stop.
  bool check_error() {
    int errnum = Z_OK;
    const char* msg = gzerror(gz_, &errnum);
    if (errnum == Z_OK) return false;
    if (errnum == Z_BUF_ERROR) {  // "unexpected end of file"
      truncated_gzip_ = true;
      return true;
    }
    if (errnum == Z_ERRNO) throw Error(name_ + ": read error: " + std::strerror(errno));
    throw Error(name_ + ": corrupt gzip data: " + (msg ? msg : "unknown zlib error"));
  }

  std::string name_;
  gzFile gz_ = nullptr;
  bool truncated_gzip_ = false;
};

}  // namespace

Tensor read_idx(const fs::path& file) {
  const std::string name = file.string();
  std::error_code ec;
  if (!fs::exists(file, ec)) throw Error(name + ": no such file");
  if (fs::is_directory(file, ec)) throw Error(name + ": is a folder, not an IDX file");
  const std::uint64_t file_size = fs::file_size(file, ec);
  if (ec) throw Error(name + ": cannot read its size: " + ec.message());

  GzReader in(file);
  unsigned char magic[4];
  const std::uint64_t got_magic = in.read(magic, 4);
  if (got_magic < 4) {
    throw Error(name + ": truncated: an IDX file starts with a 4-byte magic number, file has " +
                std::to_string(got_magic) + " bytes");
  }
  const std::string magic_str =
      hex_byte(magic[0]) + " " + hex_byte(magic[1]) + " " + hex_byte(magic[2]) + " " + hex_byte(magic[3]);
  if (magic[0] != 0 || magic[1] != 0 || !type_name(magic[2])) {
    throw Error(name + ": bad magic number " + magic_str +
                ": not an IDX file (expected two zero bytes, a type code such as 0x08 and the number of dimensions)");
  }
  if (magic[2] != 0x08) {
    throw Error(name + ": IDX data type " + hex_byte(magic[2]) + " (" + type_name(magic[2]) +
                ") is not supported; expected 0x08 (unsigned byte)");
  }
  const unsigned ndims = magic[3];
  if (ndims == 0) throw Error(name + ": bad magic number " + magic_str + ": an IDX file needs at least one dimension");

  unsigned char dims_raw[4 * 255];
  const std::uint64_t dims_bytes = 4ull * ndims;
  const std::uint64_t got_dims = in.read(dims_raw, dims_bytes);
  if (got_dims < dims_bytes) {
    throw Error(name + ": truncated: the header promises " + std::to_string(ndims) + " dimension sizes (" +
                std::to_string(dims_bytes) + " bytes), file has " + std::to_string(got_dims));
  }
  Shape shape(ndims);
  std::uint64_t promised = 1;
  // The product of the non-zero sizes must fit too: a zero among them makes the data
  // empty, but a tensor of that shape still needs its (huge) strides.
  std::uint64_t nonzero = 1;
  bool overflow = false;
  for (unsigned i = 0; i < ndims; ++i) {
    const unsigned char* p = dims_raw + 4 * i;
    const std::uint64_t d =
        (std::uint64_t{p[0]} << 24) | (std::uint64_t{p[1]} << 16) | (std::uint64_t{p[2]} << 8) | p[3];
    shape[i] = static_cast<std::int64_t>(d);
    if (d != 0 && nonzero > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) / d) overflow = true;
    if (d != 0 && !overflow) nonzero *= d;
    promised *= d;
  }
  if (overflow) throw Error(name + ": IDX dimensions " + shape_str(shape) + " are too large to be real");

  // Checked before allocating, so that a corrupt header cannot ask for terabytes.
  const std::uint64_t header = 4 + dims_bytes;
  const std::string promises =
      "header promises " + std::to_string(promised) + " bytes of data (" + shape_str(shape) + ")";
  if (in.direct()) {
    const std::uint64_t available = file_size >= header ? file_size - header : 0;
    if (available < promised)
      throw Error(name + ": truncated: " + promises + ", file has " + std::to_string(available));
    if (available > promised) {
      throw Error(name + ": " + promises + ", file has " + std::to_string(available) + " (" +
                  std::to_string(available - promised) + " bytes too many)");
    }
  } else {
    // Deflate cannot compress better than about 1032:1.
    const std::uint64_t most = file_size * 1032 + 1024;
    if (promised > most) {
      throw Error(name + ": truncated: " + promises + ", but a gzip file of " + std::to_string(file_size) +
                  " bytes holds at most about " + std::to_string(most));
    }
  }

  Tensor out = Tensor::empty(shape, DType::UInt8);
  const std::uint64_t got = in.read(out.data<std::uint8_t>(), promised);
  if (got < promised) {
    throw Error(name + ": truncated: " + promises + ", file has " + std::to_string(got) +
                (in.truncated_gzip() ? " (the gzip stream ends early)" : ""));
  }
  std::uint64_t extra = 0;
  unsigned char scratch[1 << 16];
  for (std::uint64_t r; (r = in.read(scratch, sizeof scratch)) > 0;) extra += r;
  if (extra > 0) {
    throw Error(name + ": " + promises + ", file has " + std::to_string(promised + extra) + " (" +
                std::to_string(extra) + " bytes too many)");
  }
  return out;
}

}  // namespace kiln::datasets
