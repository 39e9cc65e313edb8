// Pipeline::map: the function on worker threads, results handed out in input order.
//
// The iterating thread pulls inputs (cheap: file names, rows) and queues them; workers run
// the function (decoding, augmenting). At most 2 x workers elements are in flight, which
// bounds memory, and each output waits for its turn, so the order — and with it every
// result — does not depend on which worker finished first.
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "data/pipeline/stream.hpp"
#include "kiln/error.hpp"
#include "kiln/threading.hpp"

namespace kiln::data {
namespace detail {
namespace {

using MapFn = std::function<Batch(Batch, Generator&)>;

class WorkerPool {
 public:
  explicit WorkerPool(int threads) {
    for (int i = 0; i < threads; ++i) {
      workers_.emplace_back([this] {
        // The parallelism is across elements: each worker's kernels run on one thread.
        kiln::set_num_threads(1);
        for (;;) {
          std::function<void()> task;
          {
            std::unique_lock lock(mutex_);
            ready_.wait(lock, [this] { return stop_ || !tasks_.empty(); });
            if (stop_) return;
            task = std::move(tasks_.front());
            tasks_.pop_front();
          }
          task();
        }
      });
    }
  }
  ~WorkerPool() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
      tasks_.clear();
    }
    ready_.notify_all();
    for (auto& w : workers_) w.join();
  }
  void submit(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    ready_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

class MapStream : public Stream {
 public:
  MapStream(std::unique_ptr<Stream> in, std::shared_ptr<const MapFn> fn, int threads, std::uint64_t seed)
      : in_(std::move(in)), fn_(std::move(fn)), seed_(seed), window_(2 * threads) {
    if (threads > 1) pool_ = std::make_unique<WorkerPool>(threads);
  }
  ~MapStream() override {
    pool_.reset();  // joins the workers before the inputs and futures they refer to go
  }

  std::optional<Batch> next() override {
    for (;;) {
      if (!pool_) {
        auto e = in_->next();
        if (!e) return std::nullopt;
        Generator g(mix(seed_, position_++));
        Batch out = (*fn_)(std::move(*e), g);
        if (out.x.defined()) return out;
        continue;
      }
      while (!done_ && static_cast<int>(in_flight_.size()) < window_) {
        auto e = in_->next();
        if (!e) {
          done_ = true;
          break;
        }
        auto task = std::make_shared<std::packaged_task<Batch()>>(
            [fn = fn_, element = std::move(*e), s = mix(seed_, position_++)]() mutable {
              Generator g(s);
              return (*fn)(std::move(element), g);
            });
        in_flight_.push_back(task->get_future());
        pool_->submit([task] { (*task)(); });
      }
      if (in_flight_.empty()) return std::nullopt;
      std::future<Batch> f = std::move(in_flight_.front());
      in_flight_.pop_front();
      Batch out = f.get();  // rethrows the worker's error here, on the iterating thread
      if (out.x.defined()) return out;
    }
  }

 private:
  std::unique_ptr<Stream> in_;
  std::shared_ptr<const MapFn> fn_;
  std::uint64_t seed_, position_ = 0;
  int window_;
  bool done_ = false;
  std::deque<std::future<Batch>> in_flight_;
  std::unique_ptr<WorkerPool> pool_;
};

Pipeline make_map(const std::shared_ptr<const Node>& in, MapFn fn, MapOptions options) {
  if (!fn) throw Error("Pipeline.map: the function is empty");
  if (options.num_parallel_calls < 1 && options.num_parallel_calls != AUTOTUNE) {
    throw Error("Pipeline.map: num_parallel_calls must be >= 1 or AUTOTUNE (-1), got " +
                std::to_string(options.num_parallel_calls));
  }
  const int threads = options.num_parallel_calls == AUTOTUNE ? available_cores() : options.num_parallel_calls;
  const std::uint64_t seed = options.seed ? *options.seed : default_generator().next_u64();
  Node n;
  n.cardinality = in->cardinality;
  n.batched = in->batched;
  auto shared = std::make_shared<const MapFn>(std::move(fn));
  n.open = [in, shared, threads, seed](std::uint64_t key) -> std::unique_ptr<Stream> {
    return std::make_unique<MapStream>(in->open(key), shared, threads, mix(seed, key));
  };
  return make_pipeline(std::move(n));
}

}  // namespace
}  // namespace detail

Pipeline Pipeline::map(std::function<Batch(Batch)> fn, int num_parallel_calls) const {
  if (!fn) throw Error("Pipeline.map: the function is empty");
  return detail::make_map(node_, [fn = std::move(fn)](Batch b, Generator&) { return fn(std::move(b)); },
                          {.num_parallel_calls = num_parallel_calls, .seed = 0});
}

Pipeline Pipeline::map(std::function<Batch(Batch, Generator&)> fn, MapOptions options) const {
  return detail::make_map(node_, std::move(fn), options);
}

}  // namespace kiln::data
