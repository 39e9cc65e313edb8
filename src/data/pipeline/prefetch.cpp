// Pipeline::prefetch: the steps before it run on a background thread, `buffer` elements ahead.
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "data/pipeline/stream.hpp"
#include "kiln/error.hpp"
#include "kiln/threading.hpp"

namespace kiln::data {
namespace detail {
namespace {

class PrefetchStream : public Stream {
 public:
  PrefetchStream(std::unique_ptr<Stream> in, std::size_t buffer) : in_(std::move(in)), capacity_(buffer) {
    thread_ = std::thread([this] { run(); });
  }
  ~PrefetchStream() override {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

  std::optional<Batch> next() override {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return !queue_.empty() || finished_; });
    if (queue_.empty()) {
      if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
      return std::nullopt;
    }
    Batch out = std::move(queue_.front());
    queue_.pop_front();
    changed_.notify_all();
    return out;
  }

 private:
  void run() {
    // Batching and gathering are memory copies: one thread, leaving the cores to training.
    kiln::set_num_threads(1);
    try {
      for (;;) {
        {
          std::unique_lock lock(mutex_);
          changed_.wait(lock, [this] { return stop_ || queue_.size() < capacity_; });
          if (stop_) break;
        }
        auto e = in_->next();
        std::lock_guard lock(mutex_);
        if (!e) break;
        queue_.push_back(std::move(*e));
        changed_.notify_all();
      }
    } catch (...) {
      std::lock_guard lock(mutex_);
      error_ = std::current_exception();
    }
    std::lock_guard lock(mutex_);
    finished_ = true;
    changed_.notify_all();
  }

  std::unique_ptr<Stream> in_;
  std::size_t capacity_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> queue_;
  bool stop_ = false, finished_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace
}  // namespace detail

Pipeline Pipeline::prefetch(std::int64_t buffer_size) const {
  if (buffer_size < 1 && buffer_size != AUTOTUNE) {
    throw Error("Pipeline.prefetch: buffer_size must be >= 1 or AUTOTUNE (-1), got " + std::to_string(buffer_size));
  }
  const std::size_t buffer = buffer_size == AUTOTUNE ? 2 : static_cast<std::size_t>(buffer_size);
  detail::Node n;
  n.cardinality = node_->cardinality;
  n.batched = node_->batched;
  n.open = [in = node_, buffer](std::uint64_t key) -> std::unique_ptr<detail::Stream> {
    return std::make_unique<detail::PrefetchStream>(in->open(key), buffer);
  };
  return detail::make_pipeline(std::move(n));
}

}  // namespace kiln::data
