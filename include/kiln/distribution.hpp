// The core's hooks for distributed training: what fit(), evaluate() and the optimizers
// ask of a run spread over several processes. The core knows no transport; kiln_distributed
// (kiln/distributed.hpp, MPI) implements Strategy, and a program without it never pays for
// more than a null pointer test.
//
// One process is one rank, so the installed strategy is process-wide (like
// torch.distributed's default group): fit() on the model a strategy covers
//   * calls on_fit_begin() (rank 0's weights and optimizer state to every rank),
//   * trains each rank on its rows of every global batch (shard_rows),
//   * lets the optimizer call reduce_gradients() before each update,
//   * sums loss and metric states over ranks (sum) so every rank reports global values.
#pragma once
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "kiln/tensor.hpp"

namespace kiln {
class Model;
}

namespace kiln::distribution {

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Whether fit() on `model` trains data-parallel (another model fits locally).
  virtual bool covers(const Model& model) const = 0;
  // Before the first step: every rank takes rank 0's weights and optimizer state.
  virtual void on_fit_begin(Model& model) = 0;
  // Before each step: this rank trains on `local` of the global batch's `global` samples.
  virtual void on_step_begin(std::int64_t local, std::int64_t global) = 0;
  // The optimizer, before it updates: each gradient becomes the global batch's gradient
  // (every rank's, weighted by its share of the batch), identical on every rank.
  virtual void reduce_gradients(std::vector<Tensor>& grads, const std::vector<Tensor>& params) = 0;
  // Element-wise sums over ranks, in place (loss sums, metric counts); every rank gets them.
  virtual void sum(std::vector<double>& values) = 0;

  // Set by fit() while it trains a covered model: only then do optimizers reduce.
  bool training = false;
};

// Installs the process's strategy (nullptr: single process).
void set_strategy(std::shared_ptr<Strategy> strategy);
// The installed strategy, or nullptr.
Strategy* strategy();
// The strategy that covers `model`, or nullptr.
Strategy* strategy_for(const Model& model);
// True on rank 0, or when not distributed: the rank that prints and writes files.
bool is_chief();

// Rows [begin, end) of a global batch of n samples that `rank` of `world` trains on: as even
// as can be, the first n % world ranks taking one more.
std::pair<std::int64_t, std::int64_t> shard_rows(std::int64_t n, int rank, int world);

}  // namespace kiln::distribution
