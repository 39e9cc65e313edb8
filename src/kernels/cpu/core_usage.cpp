#include "kernels/cpu/core_usage.hpp"

#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "kiln/core_usage.hpp"

namespace kiln {
namespace kernels::cpu {

std::vector<long long> busy_ticks_per_cpu(const std::string& proc_stat) {
  std::vector<long long> busy;
  std::istringstream lines(proc_stat);
  std::string line;
  while (std::getline(lines, line)) {
    // "cpuN user nice system idle iowait irq softirq steal guest guest_nice"; "cpu " is the total.
    if (line.size() < 4 || line.compare(0, 3, "cpu") != 0 || line[3] < '0' || line[3] > '9') continue;
    std::istringstream fields(line.substr(3));
    long long cpu = -1, user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    fields >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    if (!fields && !fields.eof()) continue;
    if (cpu < 0 || cpu > 65535) continue;
    if (static_cast<long long>(busy.size()) <= cpu) busy.resize(static_cast<std::size_t>(cpu) + 1, -1);
    // Guest time is already part of user time; steal is time the hypervisor gave to someone else.
    busy[static_cast<std::size_t>(cpu)] = user + nice + system + irq + softirq + steal;
  }
  return busy;
}

double others_busy_cores(const std::vector<long long>& before, const std::vector<long long>& after,
                         const std::vector<int>& cpus, double ticks_per_second, double own_cpu_seconds,
                         double wall_seconds) {
  if (!(wall_seconds > 0) || !(ticks_per_second > 0)) return 0.0;
  long long ticks = 0;
  for (const int c : cpus) {
    const auto i = static_cast<std::size_t>(c);
    if (c < 0 || i >= before.size() || i >= after.size() || before[i] < 0 || after[i] < 0) continue;
    ticks += std::max(0LL, after[i] - before[i]);
  }
  return std::max(0.0, (static_cast<double>(ticks) / ticks_per_second - own_cpu_seconds) / wall_seconds);
}

std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
  }
  return cpus;
}

int idle_cores(int cores, double others_busy) {
  return std::max(1, cores - static_cast<int>(std::lround(std::max(0.0, others_busy))));
}

}  // namespace kernels::cpu

namespace {

std::string read_proc_stat() {
  std::ifstream in("/proc/stat");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

double own_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

}  // namespace

CoreUsage::CoreUsage()
    : start_(std::chrono::steady_clock::now()),
      busy_before_(kernels::cpu::busy_ticks_per_cpu(read_proc_stat())),
      own_before_(own_cpu_seconds()) {}

CoreUsage::Reading CoreUsage::measure() const {
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const auto busy_after = kernels::cpu::busy_ticks_per_cpu(read_proc_stat());
  const auto cpus = kernels::cpu::allowed_cpus();
  const int cores = cpus.empty() ? 1 : static_cast<int>(cpus.size());
  const double others =
      kernels::cpu::others_busy_cores(busy_before_, busy_after, cpus, static_cast<double>(sysconf(_SC_CLK_TCK)),
                                      own_cpu_seconds() - own_before_, wall);
  return {cores, others, kernels::cpu::idle_cores(cores, others)};
}

}  // namespace kiln
