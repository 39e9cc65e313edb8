// How busy other processes keep this process's cores: the arithmetic behind
// kiln::CoreUsage, apart from /proc so that tests can feed it text.
#pragma once

#include <string>
#include <vector>

namespace kiln::kernels::cpu {

// Non-idle time (user, nice, system, irq, softirq, steal), in clock ticks, of each CPU listed in
// /proc/stat text, indexed by CPU number; a CPU not listed is -1.
std::vector<long long> busy_ticks_per_cpu(const std::string& proc_stat);

// Cores' worth of CPU time that others used on `cpus` between two /proc/stat readings:
// (the CPUs' busy time - this process's own CPU time) / wall time, never below 0.
double others_busy_cores(const std::vector<long long>& before, const std::vector<long long>& after,
                         const std::vector<int>& cpus, double ticks_per_second, double own_cpu_seconds,
                         double wall_seconds);

// The CPUs this process may run on (its affinity mask); empty when the system will not say.
std::vector<int> allowed_cpus();

// The cores left for this process: all of them minus those others keep busy (rounded, so a
// background of less than half a core does not count), at least 1.
int idle_cores(int cores, double others_busy);

}  // namespace kiln::kernels::cpu
