// MPI start-up, the world's shape, bounded collectives and ending the job on an error.
#include "distributed/runtime.hpp"

#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <thread>

#include "kiln/distributed.hpp"
#include "kiln/error.hpp"
#include "kiln/threading.hpp"

namespace kiln::distributed {
namespace {

struct World {
  bool started = false;  // by init()
  int rank = 0, size = 1, local_rank = 0, local_size = 1;
  double timeout = 300;
  MPI_Comm comm = MPI_COMM_NULL;
};

World& world_state() {
  static World w;
  return w;
}

void finalize_at_exit() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

std::string rank_prefix() {
  const World& w = world_state();
  return "kiln: rank " + std::to_string(w.rank) + " of " + std::to_string(w.size) + ": ";
}

// An exception nobody caught on one rank would leave the others waiting in a collective:
// name it, and end the job.
[[noreturn]] void terminate_job() {
  std::string what = "terminated";
  if (const std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what = ex.what();
    } catch (...) {
      what = "an unknown exception";
    }
  }
  abort(what, 1);
}

}  // namespace

namespace detail {

MPI_Comm comm() {
  if (!world_state().started) throw Error("kiln::distributed: call kiln::distributed::init() first");
  return world_state().comm;
}

void poke(std::vector<MPI_Request>& requests) {
  if (requests.empty()) return;
  int done = 0;
  MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
}

void wait_all(std::vector<MPI_Request>& requests, const char* what) {
  if (requests.empty()) return;
  const auto start = std::chrono::steady_clock::now();
  const double limit = world_state().timeout;
  for (long spins = 1;; ++spins) {
    int done = 0;
    MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE);
    if (done) break;
    if (spins % 256 == 0) {
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (waited > limit) {
        abort(std::string(what) + " waited " + std::to_string(int(waited)) + " s for the other ranks (timeout " +
              std::to_string(limit) +
              " s): a rank is stuck or its data differs (a different number of steps). Raise the timeout with "
              "kiln::distributed::set_timeout or --mpi-timeout if a step is that slow");
      }
      // More ranks than cores (--oversubscribe): let the rank being waited for run.
      std::this_thread::yield();
    }
  }
  requests.clear();
}

}  // namespace detail

// Open MPI's non-blocking collectives allocate a temporary buffer the size of the message on
// every call and free it when done. Above glibc's mmap threshold (128 KB) each is a fresh mapping
// whose pages fault on first touch: for the article's CNN (one 0.37 MB bucket) that was about 1 ms
// of a 5 ms step on 2 ranks (bench/distributed_bench.py). Buffers up to 32 MB (glibc's highest
// threshold; buckets default to 25 MB) now come from the heap, and freed heap memory is kept.
static void keep_collective_buffers_mapped() {
#if defined(__GLIBC__)
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
#endif
}

bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_NTASKS"}) {
    if (std::getenv(name)) return true;
  }
  return false;
}

void init(int* argc, char*** argv, const InitOptions& options) {
  World& w = world_state();
  if (w.started) return;
  int already = 0;
  MPI_Initialized(&already);
  if (!already) {
    int provided = 0;
    // MPI is called from the thread that runs fit() alone; pipeline workers never call it.
    MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided);
    std::atexit(finalize_at_exit);
  }
  keep_collective_buffers_mapped();
  MPI_Comm_dup(MPI_COMM_WORLD, &w.comm);
  // Errors are reported as return codes only where Kiln checks them; elsewhere MPI's default
  // (abort the job) is what a data-parallel run wants.
  MPI_Comm_rank(w.comm, &w.rank);
  MPI_Comm_size(w.comm, &w.size);
  MPI_Comm local;
  MPI_Comm_split_type(w.comm, MPI_COMM_TYPE_SHARED, w.rank, MPI_INFO_NULL, &local);
  MPI_Comm_rank(local, &w.local_rank);
  MPI_Comm_size(local, &w.local_size);
  MPI_Comm_free(&local);
  w.timeout = options.timeout_seconds;
  w.started = true;
  std::set_terminate(terminate_job);
  if (options.set_threads && w.local_size > 1) {
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    set_num_threads(std::max(1, static_cast<int>(cores / w.local_size)));
  }
}

bool initialized() { return world_state().started; }
int rank() { return world_state().rank; }
int world_size() { return world_state().size; }
int local_rank() { return world_state().local_rank; }
int local_size() { return world_state().local_size; }

void set_timeout(double seconds) {
  if (!(seconds > 0))
    throw Error("kiln::distributed::set_timeout: seconds must be positive, got " + std::to_string(seconds));
  world_state().timeout = seconds;
}
double timeout() { return world_state().timeout; }

void abort(const std::string& message, int exit_code) {
  std::cerr << rank_prefix() << message << std::endl;
  int started = 0;
  MPI_Initialized(&started);
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (started && !finalized) MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);
}

void barrier() {
  std::vector<MPI_Request> r(1);
  MPI_Ibarrier(detail::comm(), &r[0]);
  detail::wait_all(r, "barrier");
}

std::string broadcast(const std::string& text) {
  std::vector<MPI_Request> r(1);
  long long n = static_cast<long long>(text.size());
  MPI_Ibcast(&n, 1, MPI_LONG_LONG, 0, detail::comm(), &r[0]);
  detail::wait_all(r, "broadcast");
  std::string out = rank() == 0 ? text : std::string(static_cast<std::size_t>(n), '\0');
  r.resize(1);
  MPI_Ibcast(out.data(), static_cast<int>(n), MPI_CHAR, 0, detail::comm(), &r[0]);
  detail::wait_all(r, "broadcast");
  return out;
}

void sum(std::vector<double>& values) {
  if (world_size() == 1 && !initialized()) return;
  std::vector<MPI_Request> r(1);
  MPI_Iallreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, MPI_SUM, detail::comm(),
                 &r[0]);
  detail::wait_all(r, "summing metrics");
}

}  // namespace kiln::distributed
