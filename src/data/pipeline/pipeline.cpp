// Pipeline's sources and its sequential steps (shuffle, batch, take, skip, repeat); map,
// prefetch and cache, which own threads or files, have files of their own.
#include "kiln/data/pipeline.hpp"

#include <sched.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <thread>

#include "data/pipeline/stream.hpp"
#include "kiln/error.hpp"

namespace kiln::data {
namespace detail {

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a * 0x9E3779B97F4A7C15ULL + b + 0x632BE59BD9B4E019ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::vector<std::int64_t> permutation(std::int64_t n, std::optional<std::uint64_t> seed, bool reshuffle,
                                      std::uint64_t key) {
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  if (!seed) return order;
  Generator g(reshuffle ? mix(*seed, key) : *seed);
  for (std::int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[g.below(std::uint64_t(i + 1))]);
  return order;
}

int available_cores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

namespace {

Tensor stack_one(const std::vector<const Tensor*>& parts, const std::string& where, const char* what) {
  const Tensor& first = *parts[0];
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const Tensor& t = *parts[i];
    if (t.shape() != first.shape() || t.dtype() != first.dtype()) {
      throw Error(where + ": element " + std::to_string(i) + " of a batch has " + what + " of shape " +
                  shape_str(t.shape()) + " (" + dtype_name(t.dtype()) + ") but element 0 has " +
                  shape_str(first.shape()) + " (" + dtype_name(first.dtype()) +
                  "); batched elements must agree (resize images to one size first)");
    }
  }
  Shape shape{static_cast<std::int64_t>(parts.size())};
  shape.insert(shape.end(), first.shape().begin(), first.shape().end());
  Tensor out = Tensor::empty(shape, first.dtype());
  const std::size_t bytes = static_cast<std::size_t>(first.numel()) * dtype_size(first.dtype());
  char* dst = static_cast<char*>(out.raw_data());
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const Tensor c = parts[i]->contiguous();
    if (bytes) std::memcpy(dst + i * bytes, c.raw_data(), bytes);
  }
  return out;
}

}  // namespace

Batch stack(const std::vector<Batch>& elements, const std::string& where) {
  Batch out;
  std::vector<const Tensor*> parts;
  auto gather = [&](auto member, const char* what) {
    parts.clear();
    const bool defined = member(elements[0]).defined();
    for (std::size_t i = 0; i < elements.size(); ++i) {
      if (member(elements[i]).defined() != defined) {
        throw Error(where + ": element " + std::to_string(i) + " of a batch " + (defined ? "lacks " : "has ") + what +
                    " where element 0 " + (defined ? "has one" : "has none"));
      }
      parts.push_back(&member(elements[i]));
    }
    return defined ? stack_one(parts, where, what) : Tensor();
  };
  out.x = gather([](const Batch& b) -> const Tensor& { return b.x; }, "x");
  out.y = gather([](const Batch& b) -> const Tensor& { return b.y; }, "a target");
  out.sample_weight = gather([](const Batch& b) -> const Tensor& { return b.sample_weight; }, "a sample weight");
  const std::size_t inputs = elements[0].inputs.size();
  for (std::size_t k = 0; k < inputs; ++k) {
    for (const auto& e : elements) {
      if (e.inputs.size() != inputs) throw Error(where + ": elements of a batch have different numbers of inputs");
    }
    out.inputs.push_back(gather([k](const Batch& b) -> const Tensor& { return b.inputs[k]; }, "an input"));
  }
  if (!out.inputs.empty()) out.x = out.inputs[0];
  const std::size_t targets = elements[0].targets.size();
  for (std::size_t k = 0; k < targets; ++k) {
    for (const auto& e : elements) {
      if (e.targets.size() != targets) throw Error(where + ": elements of a batch have different numbers of targets");
    }
    out.targets.push_back(gather([k](const Batch& b) -> const Tensor& { return b.targets[k]; }, "a target"));
  }
  if (!out.targets.empty()) out.y = out.targets[0];
  return out;
}

Pipeline make_pipeline(Node node) { return Pipeline(std::make_shared<const Node>(std::move(node))); }

namespace {

// Rows of an in-memory dataset, one at a time or `batch` at a time, in `order`.
class MemoryStream : public Stream {
 public:
  MemoryStream(std::shared_ptr<const Dataset> data, std::vector<std::int64_t> order, std::int64_t batch,
               bool drop_remainder)
      : data_(std::move(data)), order_(std::move(order)), batch_(batch), drop_(drop_remainder) {}
  std::optional<Batch> next() override {
    const auto n = static_cast<std::int64_t>(order_.size());
    const std::int64_t take = std::min(batch_ ? batch_ : 1, n - pos_);
    if (take <= 0 || (drop_ && take < batch_)) return std::nullopt;
    Batch b = data_->gather(std::span(order_).subspan(static_cast<std::size_t>(pos_), static_cast<std::size_t>(take)));
    pos_ += take;
    if (batch_ == 0) {  // one example: drop the batch axis
      auto row = [](const Tensor& t) {
        Shape s(t.shape().begin() + 1, t.shape().end());
        return t.reshape(s);
      };
      b.x = row(b.x);
      if (b.y.defined()) b.y = row(b.y);
      if (b.sample_weight.defined()) b.sample_weight = row(b.sample_weight);
      for (auto& in : b.inputs) in = row(in);
      if (!b.inputs.empty()) b.x = b.inputs[0];
      for (auto& t : b.targets) t = row(t);
      if (!b.targets.empty()) b.y = b.targets[0];
    }
    return b;
  }

 private:
  std::shared_ptr<const Dataset> data_;
  std::vector<std::int64_t> order_;
  std::int64_t batch_, pos_ = 0;
  bool drop_;
};

class FunctionStream : public Stream {
 public:
  FunctionStream(std::int64_t count, std::shared_ptr<const std::function<Batch(std::int64_t)>> fn)
      : count_(count), fn_(std::move(fn)) {}
  std::optional<Batch> next() override {
    if (i_ >= count_) return std::nullopt;
    return (*fn_)(i_++);
  }

 private:
  std::int64_t count_, i_ = 0;
  std::shared_ptr<const std::function<Batch(std::int64_t)>> fn_;
};

class ShuffleStream : public Stream {
 public:
  ShuffleStream(std::unique_ptr<Stream> in, std::int64_t buffer, std::uint64_t seed)
      : in_(std::move(in)), size_(buffer), gen_(seed) {}
  std::optional<Batch> next() override {
    while (!done_ && static_cast<std::int64_t>(buffer_.size()) < size_) {
      auto e = in_->next();
      if (!e) {
        done_ = true;
        break;
      }
      buffer_.push_back(std::move(*e));
    }
    if (buffer_.empty()) return std::nullopt;
    const std::size_t i = gen_.below(buffer_.size());
    Batch out = std::move(buffer_[i]);
    buffer_[i] = std::move(buffer_.back());
    buffer_.pop_back();
    return out;
  }

 private:
  std::unique_ptr<Stream> in_;
  std::int64_t size_;
  Generator gen_;
  std::vector<Batch> buffer_;
  bool done_ = false;
};

class BatchStream : public Stream {
 public:
  BatchStream(std::unique_ptr<Stream> in, std::int64_t size, bool drop)
      : in_(std::move(in)), size_(size), drop_(drop) {}
  std::optional<Batch> next() override {
    std::vector<Batch> parts;
    while (static_cast<std::int64_t>(parts.size()) < size_) {
      auto e = in_->next();
      if (!e) break;
      parts.push_back(std::move(*e));
    }
    if (parts.empty() || (drop_ && static_cast<std::int64_t>(parts.size()) < size_)) return std::nullopt;
    return stack(parts, "Pipeline.batch");
  }

 private:
  std::unique_ptr<Stream> in_;
  std::int64_t size_;
  bool drop_;
};

class TakeStream : public Stream {
 public:
  TakeStream(std::unique_ptr<Stream> in, std::int64_t count) : in_(std::move(in)), left_(count) {}
  std::optional<Batch> next() override {
    if (left_ == 0) return std::nullopt;
    --left_;
    return in_->next();
  }

 private:
  std::unique_ptr<Stream> in_;
  std::int64_t left_;
};

class SkipStream : public Stream {
 public:
  SkipStream(std::unique_ptr<Stream> in, std::int64_t count) : in_(std::move(in)), skip_(count) {}
  std::optional<Batch> next() override {
    for (; skip_ > 0; --skip_) {
      if (!in_->next()) return std::nullopt;
    }
    return in_->next();
  }

 private:
  std::unique_ptr<Stream> in_;
  std::int64_t skip_;
};

class RepeatStream : public Stream {
 public:
  RepeatStream(std::shared_ptr<const Node> in, std::int64_t count, std::uint64_t key)
      : in_(std::move(in)), count_(count), key_(key) {}
  std::optional<Batch> next() override {
    while (count_ < 0 || pass_ < count_) {
      if (!current_) current_ = in_->open(mix(key_, std::uint64_t(pass_))), produced_ = false;
      if (auto e = current_->next()) {
        produced_ = true;
        return e;
      }
      current_.reset();
      ++pass_;
      if (!produced_) return std::nullopt;  // an empty pass: repeating it forever would never end
    }
    return std::nullopt;
  }

 private:
  std::shared_ptr<const Node> in_;
  std::int64_t count_, pass_ = 0;
  std::uint64_t key_;
  std::unique_ptr<Stream> current_;
  bool produced_ = false;
};

void check_count(std::int64_t v, std::int64_t min, const char* where, const char* what) {
  if (v < min)
    throw Error(std::string(where) + ": " + what + " must be >= " + std::to_string(min) + ", got " + std::to_string(v));
}

}  // namespace
}  // namespace detail

using detail::Node;
using detail::Stream;

Pipeline::Pipeline() : Pipeline(Dataset()) {}

Pipeline::Pipeline(const Dataset& dataset) {
  Node n;
  n.memory = std::make_shared<const Dataset>(dataset);
  n.cardinality = dataset.size();
  n.open = [memory = n.memory](std::uint64_t) -> std::unique_ptr<Stream> {
    return std::make_unique<detail::MemoryStream>(memory, detail::permutation(memory->size(), {}, false, 0), 0, false);
  };
  node_ = std::make_shared<const Node>(std::move(n));
}

Pipeline::Pipeline(std::shared_ptr<const detail::Node> node) : node_(std::move(node)) {}

Pipeline Pipeline::from_function(std::int64_t count, std::function<Batch(std::int64_t)> example) {
  detail::check_count(count, 0, "Pipeline.from_function", "count");
  if (!example) throw Error("Pipeline.from_function: the function is empty");
  Node n;
  n.cardinality = count;
  auto fn = std::make_shared<const std::function<Batch(std::int64_t)>>(std::move(example));
  n.open = [count, fn](std::uint64_t) -> std::unique_ptr<Stream> {
    return std::make_unique<detail::FunctionStream>(count, fn);
  };
  return detail::make_pipeline(std::move(n));
}

Pipeline Pipeline::shuffle(std::int64_t buffer_size, std::optional<std::uint64_t> seed,
                           bool reshuffle_each_iteration) const {
  detail::check_count(buffer_size, 1, "Pipeline.shuffle", "buffer_size");
  const std::uint64_t s = seed ? *seed : default_generator().next_u64();
  Node n;
  n.cardinality = node_->cardinality;
  n.batched = node_->batched;
  if (node_->memory && !node_->permutation_seed && buffer_size >= node_->cardinality) {
    // A buffer as large as the data: a full permutation, which batch() can gather directly.
    n.memory = node_->memory;
    n.permutation_seed = s;
    n.reshuffle = reshuffle_each_iteration;
    n.open = [memory = n.memory, s, reshuffle_each_iteration](std::uint64_t key) -> std::unique_ptr<Stream> {
      return std::make_unique<detail::MemoryStream>(
          memory, detail::permutation(memory->size(), s, reshuffle_each_iteration, key), 0, false);
    };
  } else {
    n.open = [in = node_, buffer_size, s, reshuffle_each_iteration](std::uint64_t key) -> std::unique_ptr<Stream> {
      const std::uint64_t gen_seed = reshuffle_each_iteration ? detail::mix(s, key) : s;
      return std::make_unique<detail::ShuffleStream>(in->open(key), buffer_size, gen_seed);
    };
  }
  return detail::make_pipeline(std::move(n));
}

Pipeline Pipeline::batch(std::int64_t batch_size, bool drop_remainder) const {
  detail::check_count(batch_size, 1, "Pipeline.batch", "batch_size");
  Node n;
  n.batched = true;
  const std::int64_t c = node_->cardinality;
  n.cardinality = c < 0 ? c : drop_remainder ? c / batch_size : (c + batch_size - 1) / batch_size;
  if (node_->memory && !node_->batched) {
    n.open = [memory = node_->memory, seed = node_->permutation_seed, reshuffle = node_->reshuffle, batch_size,
              drop_remainder](std::uint64_t key) -> std::unique_ptr<Stream> {
      return std::make_unique<detail::MemoryStream>(memory, detail::permutation(memory->size(), seed, reshuffle, key),
                                                    batch_size, drop_remainder);
    };
  } else {
    n.open = [in = node_, batch_size, drop_remainder](std::uint64_t key) -> std::unique_ptr<Stream> {
      return std::make_unique<detail::BatchStream>(in->open(key), batch_size, drop_remainder);
    };
  }
  return detail::make_pipeline(std::move(n));
}

Pipeline Pipeline::take(std::int64_t count) const {
  detail::check_count(count, -1, "Pipeline.take", "count");
  Node n;
  n.batched = node_->batched;
  const std::int64_t c = node_->cardinality;
  n.cardinality = count < 0 ? c : c < 0 ? count : std::min(c, count);
  n.open = [in = node_, count](std::uint64_t key) -> std::unique_ptr<Stream> {
    return std::make_unique<detail::TakeStream>(in->open(key), count);
  };
  return detail::make_pipeline(std::move(n));
}

Pipeline Pipeline::skip(std::int64_t count) const {
  detail::check_count(count, 0, "Pipeline.skip", "count");
  Node n;
  n.batched = node_->batched;
  const std::int64_t c = node_->cardinality;
  n.cardinality = c < 0 ? c : std::max<std::int64_t>(0, c - count);
  n.open = [in = node_, count](std::uint64_t key) -> std::unique_ptr<Stream> {
    return std::make_unique<detail::SkipStream>(in->open(key), count);
  };
  return detail::make_pipeline(std::move(n));
}

Pipeline Pipeline::repeat(std::int64_t count) const {
  detail::check_count(count, -1, "Pipeline.repeat", "count");
  Node n;
  n.batched = node_->batched;
  const std::int64_t c = node_->cardinality;
  n.cardinality = c == 0 ? 0 : (count < 0 || c < 0) ? INFINITE_CARDINALITY : c * count;
  n.open = [in = node_, count](std::uint64_t key) -> std::unique_ptr<Stream> {
    return std::make_unique<detail::RepeatStream>(in, count, key);
  };
  return detail::make_pipeline(std::move(n));
}

std::int64_t Pipeline::cardinality() const { return node_->cardinality; }
bool Pipeline::batched() const { return node_->batched; }

Pipeline::Iterator::Iterator(std::unique_ptr<detail::Stream> stream) : stream_(std::move(stream)) {}
Pipeline::Iterator::Iterator(Iterator&&) noexcept = default;
Pipeline::Iterator& Pipeline::Iterator::operator=(Iterator&&) noexcept = default;
Pipeline::Iterator::~Iterator() = default;
std::optional<Batch> Pipeline::Iterator::next() { return stream_ ? stream_->next() : std::nullopt; }

Pipeline::Iterator Pipeline::iterate(std::uint64_t iteration) const { return Iterator(node_->open(iteration)); }

std::vector<Batch> Pipeline::collect(std::uint64_t iteration) const {
  if (cardinality() == INFINITE_CARDINALITY) throw Error("Pipeline.collect: the pipeline repeats forever");
  std::vector<Batch> out;
  auto it = iterate(iteration);
  while (auto e = it.next()) out.push_back(std::move(*e));
  return out;
}

}  // namespace kiln::data
