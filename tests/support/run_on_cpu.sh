#!/usr/bin/env bash
# Runs part of the test suite on an emulated older CPU (QEMU user mode), so
# the code paths for CPUs without AVX-512 (or without AVX2) are exercised on
# a machine that has them.   run_on_cpu.sh CPU_MODEL TEST_BINARY GTEST_FILTER
set -euo pipefail
cpu="$1" binary="$2" filter="$3"
if ! command -v qemu-x86_64 >/dev/null; then
  echo "skipped: qemu-x86_64 not installed (apt-get install qemu-user)"
  exit 77
fi
# KILN_EXPECT_CPU makes Portability.EmulatedCpuIsInEffect check that the
# emulated CPU really lacks the newer instructions.
export KILN_EXPECT_CPU="$cpu"
exec qemu-x86_64 -cpu "$cpu" "$binary" --gtest_filter="Portability.*:$filter" 2> >(grep -v "TCG doesn't support" >&2)
