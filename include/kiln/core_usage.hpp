// How much of this process's cores other processes use.
#pragma once

#include <chrono>
#include <vector>

namespace kiln {

// Measures, from construction to each measure(), the CPU time other processes spent on this
// process's cores (Linux: /proc/stat and getrusage; elsewhere it sees no one). Why: Kiln's
// threads share each parallel loop's work evenly and wait for one another at its end, so when
// another process holds one of two cores, a 2-thread run is slower than a 1-thread one (the
// waiting thread idles while the preempted one waits for its core; bench/busy_machine.py).
// `kiln train` measures while it loads the data and, unless --threads is given, uses only the
// idle cores. Clock ticks are 10 ms: leave at least 100 ms between construction and measure().
class CoreUsage {
 public:
  struct Reading {
    int cores;                 // this process's cores (its CPU affinity)
    double others_busy_cores;  // cores' worth of CPU time other processes used on them, per second
    int idle_cores;            // cores minus others' share, rounded (less than half a core does not count), >= 1
  };
  CoreUsage();
  Reading measure() const;
  std::chrono::steady_clock::time_point started() const { return start_; }

 private:
  std::chrono::steady_clock::time_point start_;
  std::vector<long long> busy_before_;
  double own_before_;
};

}  // namespace kiln
