// Checks used by the emulated-CPU runs (tests/support/run_on_cpu.sh).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

TEST(Portability, EmulatedCpuIsInEffect) {
  const char* expected = std::getenv("KILN_EXPECT_CPU");
  if (!expected) GTEST_SKIP() << "not running under run_on_cpu.sh";
  __builtin_cpu_init();
  const std::string cpu = expected;
  // Haswell has AVX2 but no AVX-512; Nehalem has neither.
  EXPECT_FALSE(__builtin_cpu_supports("avx512f")) << "the emulated " << cpu << " must not report AVX-512";
  if (cpu == "Nehalem") {
    EXPECT_FALSE(__builtin_cpu_supports("avx2"));
  }
  if (cpu == "Haswell") {
    EXPECT_TRUE(__builtin_cpu_supports("avx2"));
  }
}

}  // namespace
