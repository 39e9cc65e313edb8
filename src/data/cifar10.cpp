// The CIFAR-10 binary release: each batch file is a run of 3073-byte records,
// one label byte then a 32x32 image as three planes (1024 R, 1024 G, 1024 B bytes,
// each row-major). Kiln keeps images NHWC, so the planes are interleaved on load.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "data/cifar10_batch.hpp"
#include "data/download.hpp"
#include "data/fetch.hpp"
#include "kernels/cpu/parallel.hpp"
#include "kiln/datasets.hpp"
#include "kiln/error.hpp"

namespace kiln::datasets::cifar10 {
namespace fs = std::filesystem;
namespace {

constexpr std::int64_t kSide = 32;
constexpr std::int64_t kPlane = kSide * kSide;
constexpr std::int64_t kRecord = 1 + 3 * kPlane;  // 3073
constexpr int kClasses = 10;
constexpr const char* kFolder = "cifar-10-batches-bin";
constexpr const char* kTarball = "cifar-10-binary.tar.gz";
constexpr std::array<const char*, 6> kBatchFiles = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                                    "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
constexpr std::size_t kTrainBatches = 5;
const char* const kContents =
    "the CIFAR-10 binary release holds data_batch_1.bin ... data_batch_5.bin and test_batch.bin";

struct Batch {
  std::string name;  // for messages: the file, or "tarball:member"
  std::vector<std::uint8_t> bytes;
};

// Checked before reading, so that a short file is reported as such rather than as bad labels.
void check_size(const std::string& name, std::uint64_t size) {
  if (size == 0) throw Error(name + ": empty; a CIFAR-10 batch holds records of 3073 bytes (1 label + 3072 pixels)");
  if (size % kRecord != 0) {
    const std::uint64_t records = size / kRecord + 1;
    throw Error(name +
                ": truncated: a CIFAR-10 batch is a whole number of 3073-byte records (1 label + 3072 pixels); " +
                "expected " + std::to_string(records * kRecord) + " bytes for " + std::to_string(records) +
                " records, file has " + std::to_string(size));
  }
}

Batch read_batch_file(const fs::path& file) {
  const std::string name = file.string();
  std::error_code ec;
  if (!fs::exists(file, ec)) throw Error(name + ": no such file (" + kContents + ")");
  const std::uint64_t size = fs::file_size(file, ec);
  if (ec) throw Error(name + ": cannot read its size: " + ec.message());
  check_size(name, size);
  Batch batch{name, std::vector<std::uint8_t>(size)};
  std::ifstream in(file, std::ios::binary);
  in.read(reinterpret_cast<char*>(batch.bytes.data()), static_cast<std::streamsize>(size));
  if (!in || static_cast<std::uint64_t>(in.gcount()) != size) {
    throw Error(name + ": read error: expected " + std::to_string(size) + " bytes, got " + std::to_string(in.gcount()));
  }
  return batch;
}

std::vector<Batch> read_folder(const fs::path& dir) {
  std::vector<Batch> batches;
  for (const char* name : kBatchFiles) batches.push_back(read_batch_file(dir / name));
  return batches;
}

// libarchive's message for the last error (it may have none).
std::string archive_error(archive* a) {
  const char* message = archive_error_string(a);
  return message ? message : "unknown libarchive error";
}

// Reads the six batches straight out of the tarball, without extracting it to disk.
std::vector<Batch> read_tarball(const fs::path& tarball) {
  const std::string name = tarball.string();
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), &archive_read_free);
  if (!a) throw Error(name + ": libarchive could not start a reader");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_all(a.get());
  if (archive_read_open_filename(a.get(), name.c_str(), 1 << 16) != ARCHIVE_OK) {
    throw Error(name + ": cannot read as a tar archive: " + archive_error(a.get()) +
                " (an incomplete or corrupt download?)");
  }
  std::vector<Batch> batches(kBatchFiles.size());
  std::vector<bool> found(kBatchFiles.size(), false);
  archive_entry* entry = nullptr;
  int r;
  while ((r = archive_read_next_header(a.get(), &entry)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
    std::string member = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    if (member.rfind("./", 0) == 0) member.erase(0, 2);
    std::size_t which = kBatchFiles.size();
    for (std::size_t i = 0; i < kBatchFiles.size(); ++i) {
      if (member == std::string(kFolder) + "/" + kBatchFiles[i]) which = i;
    }
    if (which == kBatchFiles.size() || archive_entry_filetype(entry) != AE_IFREG) {
      archive_read_data_skip(a.get());
      continue;
    }
    const std::string member_name = name + ":" + member;
    const auto size = static_cast<std::uint64_t>(archive_entry_size(entry));
    check_size(member_name, size);
    // Grown as the data arrives rather than allocated at the size the header claims:
    // a corrupt header cannot make Kiln reserve memory the archive does not hold.
    std::vector<std::uint8_t> bytes;
    bytes.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(size, 1 << 20)));
    std::uint64_t got = 0;
    std::uint8_t chunk[1 << 16];
    while (got < size) {
      const la_ssize_t n =
          archive_read_data(a.get(), chunk, static_cast<std::size_t>(std::min<std::uint64_t>(size - got, sizeof chunk)));
      if (n < 0)
        throw Error(member_name + ": " + archive_error(a.get()) + " (an incomplete or corrupt download?)");
      if (n == 0) break;
      bytes.insert(bytes.end(), chunk, chunk + n);
      got += static_cast<std::uint64_t>(n);
    }
    if (got != size) {
      throw Error(member_name + ": truncated: the archive promises " + std::to_string(size) + " bytes, it holds " +
                  std::to_string(got));
    }
    batches[which] = Batch{member_name, std::move(bytes)};
    found[which] = true;
  }
  if (r != ARCHIVE_EOF) {
    throw Error(name + ": " + archive_error(a.get()) + " (an incomplete or corrupt download?)");
  }
  for (std::size_t i = 0; i < kBatchFiles.size(); ++i) {
    if (!found[i]) throw Error(name + ": no member " + kFolder + "/" + kBatchFiles[i] + " (" + kContents + ")");
  }
  return batches;
}

// Labels and NHWC images from the batches, in order.
Split decode(const Batch* begin, const Batch* end) {
  std::int64_t n = 0;
  for (const Batch* b = begin; b != end; ++b) n += static_cast<std::int64_t>(b->bytes.size()) / kRecord;
  Split split{Tensor::empty({n, kSide, kSide, 3}, DType::UInt8), Tensor::empty({n}, DType::UInt8)};
  std::uint8_t* images = split.images.data<std::uint8_t>();
  std::uint8_t* labels = split.labels.data<std::uint8_t>();
  std::int64_t offset = 0;
  for (const Batch* b = begin; b != end; ++b) {
    const std::uint8_t* src = b->bytes.data();
    const auto records = static_cast<std::int64_t>(b->bytes.size()) / kRecord;
    for (std::int64_t r = 0; r < records; ++r) {
      const std::uint8_t label = src[r * kRecord];
      if (label >= kClasses) {
        throw Error(b->name + ": record " + std::to_string(r) + " (byte offset " + std::to_string(r * kRecord) +
                    ") has label " + std::to_string(label) + "; CIFAR-10 labels are 0..9");
      }
      labels[offset + r] = label;
    }
    std::uint8_t* dst = images + offset * 3 * kPlane;
    kernels::cpu::parallel_for(records, 3 * kPlane, [&](std::int64_t r0, std::int64_t r1) {
      for (std::int64_t r = r0; r < r1; ++r) {
        const std::uint8_t* planes = src + r * kRecord + 1;
        std::uint8_t* out = dst + r * 3 * kPlane;
        for (std::int64_t p = 0; p < kPlane; ++p) {
          out[3 * p + 0] = planes[p];
          out[3 * p + 1] = planes[kPlane + p];
          out[3 * p + 2] = planes[2 * kPlane + p];
        }
      }
    });
    offset += records;
  }
  return split;
}

bool is_batches_folder(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / kBatchFiles[0], ec);
}

}  // namespace

const std::vector<std::string>& class_names() {
  static const std::vector<std::string> names = {"airplane", "automobile", "bird",  "cat",  "deer",
                                                 "dog",      "frog",       "horse", "ship", "truck"};
  return names;
}

std::optional<fs::path> locate(const LoadOptions& options) {
  std::error_code ec;
  for (const auto& dir : search_dirs(options)) {
    if (is_batches_folder(dir)) return dir;
    if (fs::is_directory(dir / kFolder, ec)) return dir / kFolder;
    if (fs::is_regular_file(dir / kTarball, ec)) return dir / kTarball;
  }
  return std::nullopt;
}

TrainTest load_from(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw Error(path.string() + ": no such file or folder (expected a " + kFolder + " folder or " + kTarball + ")");
  }
  std::vector<Batch> batches;
  if (fs::is_directory(path, ec)) {
    const bool parent = !is_batches_folder(path) && fs::is_directory(path / kFolder, ec);
    batches = read_folder(parent ? path / kFolder : path);
  } else {
    batches = read_tarball(path);
  }
  const Batch* b = batches.data();
  return {decode(b, b + kTrainBatches), decode(b + kTrainBatches, b + batches.size())};
}

TrainTest load_data(const LoadOptions& options) {
  if (auto found = locate(options)) return load_from(*found);
  // (A stream, not a chain of operator+: GCC 12 at -O3 flags the inlined chain with a false -Warray-bounds.)
  std::ostringstream what_stream;
  what_stream << kTarball << " (from " << kUrl << ", MD5 " << kMd5 << ") or its extracted " << kFolder << "/ folder";
  const std::string what = what_stream.str();
  if (!options.download) {
    data_detail::throw_not_available("CIFAR-10", "not found, and downloading is off", search_dirs(options), what);
  }
  fs::path dest;
  try {
    dest = data_detail::download_dir(options) / kTarball;
    data_detail::download_file(kUrl, dest, kMd5, options.connect_timeout);
  } catch (const Error& e) {
    data_detail::throw_not_available("CIFAR-10", std::string("not found, and the download failed: ") + e.what(),
                                     search_dirs(options), what);
  }
  return load_from(dest);
}

}  // namespace kiln::datasets::cifar10

namespace kiln::data_detail {

datasets::Split decode_cifar10_batch(std::string_view bytes, const std::string& name) {
  datasets::cifar10::check_size(name, bytes.size());
  const datasets::cifar10::Batch batch{name, std::vector<std::uint8_t>(bytes.begin(), bytes.end())};
  return datasets::cifar10::decode(&batch, &batch + 1);
}

}  // namespace kiln::data_detail
