#!/usr/bin/env bash
# Kiln's concurrency tests under ThreadSanitizer, in a clang build beside the main one.
# ctest runs these steps (tests/CMakeLists.txt, labels sanitizer;tsan):
#
#   scripts/tsan.sh build DIR   configure and build DIR: clang, -fsanitize=thread, the test binary only
#   scripts/tsan.sh test DIR    the threading tests (KILN_TSAN_FILTER) as built in DIR
#
# Exits 77 (ctest: skipped) when clang or its ThreadSanitizer runtime is missing.
# KILN_SANITIZE_JOBS sets the build's parallelism (default: all cores).
#
# What TSan sees, and why OpenMP runs one thread here:
#  - Kiln's own code is instrumented (caches, allocator, autograd, layers, its kernels). oneDNN
#    comes from the system, uninstrumented, and JITs its kernels at run time, so TSan does not
#    see inside it (ignore_noninstrumented_modules: nor report what it does through libc); that
#    threads never mix weights is checked by the tests themselves, which compare every thread's
#    results bitwise with the serial ones.
#  - TSan orders whatever happens on either side of a lock, and a model's calls take the
#    allocator's lock often, which can hide an unlocked access between them; so a kernel-level
#    test (Conv2dCache.ThreadsWithTheirOwnWeightsShareIt) runs the convolution cache with no
#    other lock around. Removing the cache's lock makes TSan fail that test.
#  - OMP_NUM_THREADS=1 (and kiln::set_num_threads(1) in each test thread): OpenMP's worker
#    threads synchronise through barriers in the OpenMP runtime, which is not built for TSan
#    (Debian's oneDNN uses GCC's libgomp entry points, served by LLVM's libomp here), so TSan
#    would report their accesses as races that are not. With one OpenMP thread each parallel
#    region runs on its caller, and the threads under test are the tests' std::threads.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
step=${1:?step: build or test}
dir=${2:?build folder}
jobs=${KILN_SANITIZE_JOBS:-$(nproc)}
filter=${KILN_TSAN_FILTER:-Concurrency.*:Conv2dCache.*}

# shellcheck source=scripts/clang_probe.sh
source "$root/scripts/clang_probe.sh"
have_clang() {
  clang_can_build -fsanitize=thread $'#include <thread>\nint main() { std::thread t([] {}); t.join(); }' run
}

case $step in
  build)
    if ! have_clang; then
      echo "tsan: clang with its ThreadSanitizer runtime is not installed (apt-get install clang"
      echo "libclang-rt-14-dev libomp-14-dev), or TSan cannot run here; skipped"
      exit 77
    fi
    start=$SECONDS
    flags="-fsanitize=thread -fno-omit-frame-pointer"
    cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" \
      -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" \
      -DKILN_SANITIZE=OFF -DKILN_BUILD_BENCH=OFF -DKILN_SANITIZER_TESTS=OFF -DKILN_BUILD_STATIC=OFF -DKILN_INSTALL=OFF \
      -DKILN_MPI=OFF >/dev/null
    cmake --build "$dir" --parallel "$jobs" --target kiln_tests
    echo "tsan: built $dir in $((SECONDS - start)) s"
    ;;
  test)
    if [[ ! -x $dir/tests/kiln_tests ]]; then
      echo "tsan: no ThreadSanitizer build in $dir; skipped"
      exit 77
    fi
    start=$SECONDS
    # halt_on_error: the first race ends the run with an error (a failing test).
    TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1} OMP_NUM_THREADS=1 \
      "$dir/tests/kiln_tests" --gtest_filter="$filter"
    echo "tsan: threading tests ran in $((SECONDS - start)) s"
    ;;
  *)
    echo "usage: $0 build|test DIR" >&2
    exit 2
    ;;
esac
