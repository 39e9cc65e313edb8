// Pipeline::cache: the first complete pass is kept (in memory, or streamed to a file) and
// replayed by every later pass. A file cache is read back element by element, so a cache
// larger than memory works; it is written under a temporary name and renamed when the pass
// completes, so an interrupted pass never leaves a partial cache behind.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>

#include "data/pipeline/stream.hpp"
#include "kiln/error.hpp"

namespace kiln::data {
namespace detail {
namespace {

namespace fs = std::filesystem;

// ---- memory ----

struct MemoryCache {
  std::mutex mutex;
  bool complete = false;
  std::vector<Batch> elements;
};

class ReplayStream : public Stream {
 public:
  explicit ReplayStream(std::shared_ptr<MemoryCache> cache) : cache_(std::move(cache)) {}
  std::optional<Batch> next() override {
    if (i_ >= cache_->elements.size()) return std::nullopt;
    return cache_->elements[i_++];  // tensors are shared, not copied
  }

 private:
  std::shared_ptr<MemoryCache> cache_;
  std::size_t i_ = 0;
};

class RecordStream : public Stream {
 public:
  RecordStream(std::unique_ptr<Stream> in, std::shared_ptr<MemoryCache> cache)
      : in_(std::move(in)), cache_(std::move(cache)) {}
  std::optional<Batch> next() override {
    auto e = in_->next();
    if (!e) {
      std::lock_guard lock(cache_->mutex);
      if (!cache_->complete) cache_->elements = std::move(kept_), cache_->complete = true;
      return std::nullopt;
    }
    kept_.push_back(*e);
    return e;
  }

 private:
  std::unique_ptr<Stream> in_;
  std::shared_ptr<MemoryCache> cache_;
  std::vector<Batch> kept_;
};

// ---- file ----

constexpr char kMagic[] = "KILNCACHE1";
constexpr std::size_t kMagicSize = sizeof kMagic - 1;

void put_tensor(std::ofstream& out, const Tensor& t) {
  const Tensor c = t.contiguous();
  const auto dtype = static_cast<std::uint8_t>(c.dtype());
  const auto ndim = static_cast<std::uint8_t>(c.ndim());
  out.put(static_cast<char>(dtype)).put(static_cast<char>(ndim));
  for (std::int64_t d : c.shape()) out.write(reinterpret_cast<const char*>(&d), sizeof d);
  out.write(static_cast<const char*>(c.raw_data()), static_cast<std::streamsize>(c.numel() * dtype_size(c.dtype())));
}

class FileRecordStream : public Stream {
 public:
  FileRecordStream(std::unique_ptr<Stream> in, fs::path file) : in_(std::move(in)), file_(std::move(file)) {
    temp_ = file_;
    temp_ += ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
    out_.open(temp_, std::ios::binary | std::ios::trunc);
    if (!out_) throw Error("Pipeline.cache: cannot write " + temp_.string() + ": " + std::strerror(errno));
    out_.write(kMagic, kMagicSize);
  }
  ~FileRecordStream() override {
    if (out_.is_open()) {
      out_.close();
      std::error_code ec;
      fs::remove(temp_, ec);  // an unfinished pass caches nothing
    }
  }
  std::optional<Batch> next() override {
    auto e = in_->next();
    if (!out_.is_open()) return e;
    if (!e) {
      out_.put(0);
      out_.close();
      std::error_code ec;
      if (!out_ || (fs::rename(temp_, file_, ec), ec)) {
        fs::remove(temp_, ec);
        throw Error("Pipeline.cache: cannot write " + file_.string());
      }
      return std::nullopt;
    }
    out_.put(1);
    const std::uint8_t flags = (e->x.defined() ? 1 : 0) | (e->y.defined() ? 2 : 0) |
                               (e->sample_weight.defined() ? 4 : 0) | (e->targets.empty() ? 0 : 8);
    out_.put(static_cast<char>(flags));
    const auto inputs = static_cast<std::uint32_t>(e->inputs.size());
    out_.write(reinterpret_cast<const char*>(&inputs), sizeof inputs);
    if (e->inputs.empty() && e->x.defined()) put_tensor(out_, e->x);
    if (e->y.defined()) put_tensor(out_, e->y);
    for (const auto& t : e->inputs) put_tensor(out_, t);
    if (e->sample_weight.defined()) put_tensor(out_, e->sample_weight);
    if (!e->targets.empty()) {
      const auto targets = static_cast<std::uint32_t>(e->targets.size());
      out_.write(reinterpret_cast<const char*>(&targets), sizeof targets);
      for (const auto& t : e->targets) put_tensor(out_, t);
    }
    return e;
  }

 private:
  std::unique_ptr<Stream> in_;
  fs::path file_, temp_;
  std::ofstream out_;
};

class FileReplayStream : public Stream {
 public:
  explicit FileReplayStream(fs::path file) : file_(std::move(file)), in_(file_, std::ios::binary) {
    char magic[kMagicSize];
    if (!in_.read(magic, kMagicSize) || std::memcmp(magic, kMagic, kMagicSize) != 0) {
      throw Error("Pipeline.cache: " + file_.string() + " is not a Kiln pipeline cache (delete it to rebuild it)");
    }
  }
  std::optional<Batch> next() override {
    const int marker = in_.get();
    if (marker == 0) return std::nullopt;
    if (marker != 1) corrupt();
    const int flags = in_.get();
    std::uint32_t inputs = 0;
    if (flags < 0 || !in_.read(reinterpret_cast<char*>(&inputs), sizeof inputs) || inputs > 1024) corrupt();
    Batch b;
    if (inputs == 0 && (flags & 1)) b.x = get_tensor();
    if (flags & 2) b.y = get_tensor();
    for (std::uint32_t i = 0; i < inputs; ++i) b.inputs.push_back(get_tensor());
    if (!b.inputs.empty()) b.x = b.inputs[0];
    if (flags & 4) b.sample_weight = get_tensor();
    if (flags & 8) {
      std::uint32_t targets = 0;
      if (!in_.read(reinterpret_cast<char*>(&targets), sizeof targets) || targets > 1024) corrupt();
      for (std::uint32_t i = 0; i < targets; ++i) b.targets.push_back(get_tensor());
      if (!b.targets.empty()) b.y = b.targets[0];
    }
    return b;
  }

 private:
  [[noreturn]] void corrupt() const {
    throw Error("Pipeline.cache: " + file_.string() + " is truncated or corrupt (delete it to rebuild it)");
  }
  Tensor get_tensor() {
    const int dtype = in_.get(), ndim = in_.get();
    if (dtype < 0 || dtype > static_cast<int>(DType::Int64) || ndim < 0 || ndim > 8) corrupt();
    Shape shape(static_cast<std::size_t>(ndim));
    std::int64_t numel = 1;
    for (auto& d : shape) {
      if (!in_.read(reinterpret_cast<char*>(&d), sizeof d) || d < 0 || d > (std::int64_t(1) << 32)) corrupt();
      numel *= d;
      if (numel > (std::int64_t(1) << 34)) corrupt();
    }
    Tensor t = Tensor::empty(shape, static_cast<DType>(dtype));
    const auto bytes = static_cast<std::streamsize>(numel * static_cast<std::int64_t>(dtype_size(t.dtype())));
    if (!in_.read(static_cast<char*>(t.raw_data()), bytes)) corrupt();
    return t;
  }
  fs::path file_;
  std::ifstream in_;
};

}  // namespace
}  // namespace detail

Pipeline Pipeline::cache(const std::filesystem::path& filename) const {
  detail::Node n;
  n.cardinality = node_->cardinality;
  n.batched = node_->batched;
  if (n.cardinality == INFINITE_CARDINALITY) throw Error("Pipeline.cache: the pipeline repeats forever");
  if (filename.empty()) {
    auto cache = std::make_shared<detail::MemoryCache>();
    n.open = [in = node_, cache](std::uint64_t key) -> std::unique_ptr<detail::Stream> {
      {
        std::lock_guard lock(cache->mutex);
        if (cache->complete) return std::make_unique<detail::ReplayStream>(cache);
      }
      return std::make_unique<detail::RecordStream>(in->open(key), cache);
    };
  } else {
    n.open = [in = node_, filename](std::uint64_t key) -> std::unique_ptr<detail::Stream> {
      if (std::filesystem::exists(filename)) return std::make_unique<detail::FileReplayStream>(filename);
      return std::make_unique<detail::FileRecordStream>(in->open(key), filename);
    };
  }
  return detail::make_pipeline(std::move(n));
}

}  // namespace kiln::data
