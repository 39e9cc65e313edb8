// The arithmetic that tells `kiln train` how many cores other processes leave idle,
// on /proc/stat text written here, and the live probe's bounds.
#include <gtest/gtest.h>

#include "kernels/cpu/core_usage.hpp"
#include "kiln/core_usage.hpp"

namespace kiln::kernels::cpu {
namespace {

// Two CPUs; fields: user nice system idle iowait irq softirq steal guest guest_nice.
const char* kStatBefore =
    "cpu  300 0 100 5000 10 0 0 0 0 0\n"
    "cpu0 100 0 50 2500 5 0 0 0 0 0\n"
    "cpu1 200 0 50 2500 5 0 0 0 0 0\n"
    "intr 12345\n"
    "ctxt 678\n";

TEST(CoreUsage, BusyTicksAreUserNiceSystemIrqSoftirqStealPerCpu) {
  const auto busy = busy_ticks_per_cpu("cpu  9 9 9 9 9 9 9 9 9 9\ncpu0 1 2 3 1000 7 4 5 6 50 0\ncpu2 10 0 0 0\n");
  ASSERT_EQ(busy.size(), 3u);
  EXPECT_EQ(busy[0], 1 + 2 + 3 + 4 + 5 + 6);  // idle, iowait and guest (already in user) left out
  EXPECT_EQ(busy[1], -1);                     // not listed
  EXPECT_EQ(busy[2], 10);                     // an old kernel's shorter line
}

TEST(CoreUsage, OneBusyProcessBesideUsIsOneCore) {
  // Over 2 s at 100 ticks/s, cpu0 was busy 200 ticks (ours: 2 s of CPU time) and cpu1 200 ticks (someone else).
  const auto before = busy_ticks_per_cpu(kStatBefore);
  const auto after =
      busy_ticks_per_cpu("cpu0 250 0 100 2500 5 0 0 0 0 0\ncpu1 350 0 100 2500 5 0 0 0 0 0\n");
  const double others = others_busy_cores(before, after, {0, 1}, 100.0, 2.0, 2.0);
  EXPECT_DOUBLE_EQ(others, 1.0);
  EXPECT_EQ(idle_cores(2, others), 1);
}

TEST(CoreUsage, LightBackgroundDoesNotCostACore) {
  const auto before = busy_ticks_per_cpu(kStatBefore);
  // 30 ticks of others' work in 1 s on two cores: 0.3 of a core.
  const auto after = busy_ticks_per_cpu("cpu0 130 0 50 2500 5 0 0 0 0 0\ncpu1 200 0 50 2500 5 0 0 0 0 0\n");
  const double others = others_busy_cores(before, after, {0, 1}, 100.0, 0.0, 1.0);
  EXPECT_NEAR(others, 0.3, 1e-12);
  EXPECT_EQ(idle_cores(2, others), 2);
  EXPECT_EQ(idle_cores(2, 0.6), 1);
  EXPECT_EQ(idle_cores(4, 2.4), 2);
}

TEST(CoreUsage, OnlyThisProcesssCpusCountAndNothingGoesNegative) {
  const auto before = busy_ticks_per_cpu(kStatBefore);
  const auto after = busy_ticks_per_cpu("cpu0 100 0 50 2500 5 0 0 0 0 0\ncpu1 400 0 50 2500 5 0 0 0 0 0\n");
  // cpu1 is busy, but this process may run on cpu0 only.
  EXPECT_DOUBLE_EQ(others_busy_cores(before, after, {0}, 100.0, 0.0, 1.0), 0.0);
  // Our own CPU time exceeds the ticks seen (10 ms tick rounding): 0, not negative.
  EXPECT_DOUBLE_EQ(others_busy_cores(before, before, {0, 1}, 100.0, 0.5, 1.0), 0.0);
  // A CPU missing from one reading, and a zero wall time, count nothing.
  EXPECT_DOUBLE_EQ(others_busy_cores(before, after, {0, 1, 7}, 100.0, 0.0, 0.0), 0.0);
  EXPECT_EQ(idle_cores(1, 5.0), 1);  // never fewer than one thread
}

TEST(CoreUsage, LiveReadingIsWithinThisProcesssCores) {
  const CoreUsage usage;
  const CoreUsage::Reading r = usage.measure();
  EXPECT_GE(r.cores, 1);
  EXPECT_GE(r.others_busy_cores, 0.0);
  EXPECT_GE(r.idle_cores, 1);
  EXPECT_LE(r.idle_cores, r.cores);
}

}  // namespace
}  // namespace kiln::kernels::cpu
