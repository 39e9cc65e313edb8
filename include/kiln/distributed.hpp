// Data-parallel training on MPI (Open MPI): several processes ("ranks") train one model, each on
// its share of every global batch, and end every step with the same weights.
//
//   int main(int argc, char** argv) {
//     kiln::distributed::init(&argc, &argv);         // from mpirun's (or srun's) environment
//     auto model = make_model();                     // any Model: Sequential, functional, subclass
//     model->compile("adam", "sparse_categorical_crossentropy", {"accuracy"});
//     kiln::distributed::DataParallel ddp(*model);   // fit() on it now trains data-parallel
//     model->fit(x, y, {.epochs = 5, .batch_size = 256});  // 256 is the global batch
//   }
//
//   mpirun -np 4 ./train
//
// Link Kiln::distributed (kiln_distributed, built when CMake finds MPI); the core library
// never needs MPI. docs/distributed.md tells the whole story.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kiln {
class Model;
}

namespace kiln::distributed {

struct InitOptions {
  // A collective (gradient reduction, broadcast, metric sums) that waits longer than this for
  // the other ranks ends the whole job with a message naming the rank and the collective.
  double timeout_seconds = 300;
  // Kiln's threads per rank: the cores divided by the ranks on this machine, so that
  // `mpirun -np 2` on 2 cores does not oversubscribe them. False leaves the count alone.
  bool set_threads = true;
};

// Starts MPI (once; later calls do nothing). Run without a launcher it is a world of one rank.
// Also installs a terminate handler: an uncaught exception on any rank prints
// "kiln: rank R of N: <what>" and aborts every rank (MPI_Abort) rather than leaving the
// others waiting in a collective. MPI is finalized at exit.
void init(int* argc = nullptr, char*** argv = nullptr, const InitOptions& options = {});
bool initialized();
// True when this process was started by mpirun/mpiexec or srun (their environment variables).
bool launched_by_mpi();

int rank();        // 0 .. world_size() - 1 (0 before init)
int world_size();  // 1 before init
int local_rank();  // rank among the processes on this machine
int local_size();  // processes on this machine

void set_timeout(double seconds);
double timeout();

// Ends every rank of the job: "kiln: rank R of N: <message>" on standard error, then MPI_Abort.
[[noreturn]] void abort(const std::string& message, int exit_code = 1);

// Collectives over all ranks (bounded by the timeout).
void barrier();
// Rank 0's `text` on every rank (a run folder's name, ...).
std::string broadcast(const std::string& text);
// Element-wise sums over ranks, in place.
void sum(std::vector<double>& values);

struct DataParallelOptions {
  // Gradients are reduced in buckets of about this many megabytes (PyTorch DDP's
  // bucket_cap_mb, 25 MB; Horovod's fusion buffer is 64 MB), each launched as soon as all of
  // its gradients are ready, so the reduction overlaps the rest of the backward pass.
  double bucket_cap_mb = 25;
  // Dropout masks and augmentation differ per rank (seeded from the common seed and the rank);
  // false keeps every rank's generator as the program seeded it.
  bool seed_per_rank = true;
};

// What DataParallel did, for benchmarks: bytes reduced and the time spent.
struct CommunicationStats {
  std::int64_t steps = 0;
  std::int64_t buckets = 0;             // allreduce calls for gradients
  std::int64_t bytes = 0;               // gradient bytes each rank contributed
  double wait_seconds = 0;              // waiting for reductions before the optimizer step
  double launched_during_backward = 0;  // fraction of buckets started before backward ended
};

// Makes fit() and evaluate() on `model` data-parallel over all ranks while it lives: rank 0's
// weights and optimizer state go to every rank when fit begins; each rank trains on its rows
// of every global batch (batch_size is the global batch); gradients are averaged over ranks
// (weighted by each rank's share of the batch) with MPI_Allreduce in buckets; loss and
// metrics are summed over ranks so every rank reports global values; rank 0 alone prints,
// checkpoints (ModelCheckpoint) and logs (CSVLogger). The model must outlive it.
// Needs init(); one DataParallel per process at a time.
class DataParallel {
 public:
  explicit DataParallel(Model& model, const DataParallelOptions& options = {});
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // The buckets of the last plan: indices into model.trainable_weights(), in launch order.
  std::vector<std::vector<std::size_t>> buckets() const;
  CommunicationStats stats() const;

  class Reducer;

 private:
  std::shared_ptr<Reducer> reducer_;
};

}  // namespace kiln::distributed
