// The machinery behind kiln::data::Pipeline: a pipeline is an immutable graph of Nodes;
// iterating it opens a Stream per node, each pulling from the one it wraps.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "kiln/data/dataset.hpp"
#include "kiln/data/pipeline.hpp"

namespace kiln::data::detail {

class Stream {
 public:
  virtual ~Stream() = default;
  virtual std::optional<Batch> next() = 0;
};

struct Node {
  // A fresh pass; `key` decides every random choice of the pass (see pipeline.hpp).
  std::function<std::unique_ptr<Stream>(std::uint64_t key)> open;
  std::int64_t cardinality = 0;
  bool batched = false;
  // Set for an in-memory source (whole or fully shuffled), so that batch() can gather whole
  // batches at once instead of stacking rows one by one.
  std::shared_ptr<const Dataset> memory;
  std::optional<std::uint64_t> permutation_seed;  // a full shuffle of `memory`, reshuffled per key
  bool reshuffle = true;
};

// A well-mixed 64-bit function of two values (splitmix64 finaliser), for deriving seeds.
std::uint64_t mix(std::uint64_t a, std::uint64_t b);

// The row order of a fully shuffled in-memory source for one pass.
std::vector<std::int64_t> permutation(std::int64_t n, std::optional<std::uint64_t> seed, bool reshuffle,
                                      std::uint64_t key);

// Stacks elements (each x, inputs and y) along a new first axis; an Error names `where`.
Batch stack(const std::vector<Batch>& elements, const std::string& where);

// The cores this process may use (AUTOTUNE's worker count).
int available_cores();

Pipeline make_pipeline(Node node);

}  // namespace kiln::data::detail
