// Pipeline: a streaming input pipeline, as tf.data.Dataset — a source of examples and
// composable steps, evaluated lazily while the model trains:
//
//   auto train = kiln::data::image_dataset_from_directory("photos", {.image_size = {64, 64}});
//   auto augmented = train.map([](kiln::data::Batch b, kiln::Generator& g) { ...; return b; });
//   model.fit(augmented, {.epochs = 10});
//
// An element is a Batch: one example (x without the batch axis, y a scalar or a vector)
// before batch(), a batch after it. Nothing runs until the pipeline is iterated; each step
// holds at most its own buffer (shuffle's, prefetch's, map's in-flight elements), so memory
// is bounded by the buffers, not by the data.
//
// Reproducibility: every random choice (shuffle's order, a map's Generator) is a function
// of the step's seed, the iteration (fit's epoch) and the element's position, never of
// thread timing. Iterating epoch e gives the same elements, in the same order, whatever the
// thread counts, the prefetch depths, or the epochs iterated before — which is all a
// checkpoint needs to continue a run exactly: the epoch it stopped at.
#pragma once
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "kiln/data/dataset.hpp"
#include "kiln/random.hpp"

namespace kiln::data {

namespace detail {
struct Node;
class Stream;
}  // namespace detail

// As tf.data.AUTOTUNE: map() uses one worker per core this process may use; prefetch()
// keeps two elements ready.
inline constexpr int AUTOTUNE = -1;
// cardinality() of a pipeline that never ends (repeat() without a count).
inline constexpr std::int64_t INFINITE_CARDINALITY = -1;

struct MapOptions {
  // Worker threads (AUTOTUNE: the cores this process may use; 1: on the iterating thread).
  // Elements come out in input order whatever the count; each worker runs Kiln's kernels
  // on one thread, as the parallelism is across elements.
  int num_parallel_calls = AUTOTUNE;
  // Seeds the Generator each call receives (by default drawn from the default generator
  // when map() is called, so manual_seed() fixes it).
  std::optional<std::uint64_t> seed;
};

class Pipeline {
 public:
  // An empty pipeline (no elements).
  Pipeline();
  // Every example of an in-memory dataset, in order, converted as Dataset::batch converts
  // them (uint8 to float32 times the rescale factor). Batching it draws whole batches at once.
  Pipeline(const Dataset& dataset);  // NOLINT(google-explicit-constructor): fit(dataset) reads as Keras
  // `count` examples, the i-th made by `example(i)` on the iterating thread (keep it cheap:
  // decoding belongs in map(), which runs on workers).
  static Pipeline from_function(std::int64_t count, std::function<Batch(std::int64_t)> example);

  // fn applied to every element. A map may drop an element by returning a Batch without x.
  Pipeline map(std::function<Batch(Batch)> fn, int num_parallel_calls = AUTOTUNE) const;
  // The same, with a Generator seeded from (seed, iteration, element position): random
  // augmentation that is reproducible and independent of the thread count.
  Pipeline map(std::function<Batch(Batch, Generator&)> fn, MapOptions options = {}) const;
  // tf.data's shuffle: a buffer of `buffer_size` elements, each output drawn uniformly from
  // it and replaced by the next input. A buffer as large as the data is a full shuffle.
  // reshuffle_each_iteration: a different order every epoch (still fixed by the seed).
  Pipeline shuffle(std::int64_t buffer_size, std::optional<std::uint64_t> seed = {},
                   bool reshuffle_each_iteration = true) const;
  // Stacks `batch_size` consecutive elements along a new first axis (the last batch may be
  // smaller unless drop_remainder). Elements must agree in shape and dtype.
  Pipeline batch(std::int64_t batch_size, bool drop_remainder = false) const;
  // Computes up to `buffer_size` elements ahead on a background thread, so that reading,
  // decoding and batching overlap with training (AUTOTUNE: 2).
  Pipeline prefetch(std::int64_t buffer_size = AUTOTUNE) const;
  // Keeps the elements of the first complete iteration and replays them afterwards: in
  // memory, or (filename given) in that file, which later pipelines — and later runs — read
  // instead of recomputing. An iteration abandoned midway caches nothing. As tf.data, the
  // file is trusted to hold this pipeline's elements: delete it when the data changes.
  Pipeline cache(const std::filesystem::path& filename = {}) const;
  Pipeline take(std::int64_t count) const;
  Pipeline skip(std::int64_t count) const;
  // The elements `count` times over (-1: forever); each pass is a new iteration (reshuffled).
  Pipeline repeat(std::int64_t count = -1) const;

  // Number of elements, or INFINITE_CARDINALITY. A map that drops elements makes this an
  // upper bound.
  std::int64_t cardinality() const;
  // Whether the elements are batches (batch() was applied).
  bool batched() const;

  class Iterator {
   public:
    explicit Iterator(std::unique_ptr<detail::Stream> stream);
    Iterator(Iterator&&) noexcept;
    Iterator& operator=(Iterator&&) noexcept;
    ~Iterator();
    // The next element, or nullopt at the end. Errors of any step (a file that cannot be
    // decoded, in a worker thread) are thrown here.
    std::optional<Batch> next();

   private:
    std::unique_ptr<detail::Stream> stream_;
  };
  // One pass over the elements; `iteration` (fit's epoch) selects the shuffle orders and
  // random draws, so iterating the same number twice gives the same elements.
  Iterator iterate(std::uint64_t iteration = 0) const;
  // Every element of one pass, in order (for small pipelines and tests).
  std::vector<Batch> collect(std::uint64_t iteration = 0) const;

  // For steps written outside this file (kiln::data's own sources).
  explicit Pipeline(std::shared_ptr<const detail::Node> node);
  const std::shared_ptr<const detail::Node>& node() const { return node_; }

 private:
  std::shared_ptr<const detail::Node> node_;
};

}  // namespace kiln::data
