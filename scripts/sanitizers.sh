#!/usr/bin/env bash
# Kiln under AddressSanitizer and UndefinedBehaviorSanitizer, and its fuzzers, in a
# clang build beside the main one. ctest runs these steps (tests/CMakeLists.txt):
#
#   scripts/sanitizers.sh build DIR           configure and build DIR: clang, -fsanitize=address,undefined,
#                                             and libFuzzer's coverage instrumentation
#   scripts/sanitizers.sh test DIR            the whole test suite as built in DIR
#   scripts/sanitizers.sh fuzz DIR NAME SECS  fuzzer NAME for SECS seconds, from fuzz/corpus/NAME
#
# Exits 77 (ctest: skipped) when clang or its sanitizer runtimes are missing.
# KILN_SANITIZE_JOBS sets the build's and the suite's parallelism (default: all cores).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
step=${1:?step: build, test or fuzz}
dir=${2:?build folder}
jobs=${KILN_SANITIZE_JOBS:-$(nproc)}

# Sanitizer settings, and why:
#  - detect_leaks: LeakSanitizer is on (Linux's default), so leaks fail the tests too.
#  - halt_on_error / -fno-sanitize-recover: the first report ends the process with an error.
#  - The clang build uses LLVM's OpenMP runtime (libomp) while Debian's oneDNN is linked
#    to GCC's (libgomp); libomp provides libgomp's entry points, so one thread pool runs
#    both. oneDNN's JIT code is not instrumented (it is generated at run time), which only
#    means ASan does not see inside those kernels; no suppression is needed for it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# shellcheck source=scripts/clang_probe.sh
source "$root/scripts/clang_probe.sh"
have_clang() {
  clang_can_build -fsanitize=fuzzer,address,undefined \
    'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }'
}

case $step in
  build)
    if ! have_clang; then
      echo "sanitizers: clang with its sanitizer and libFuzzer runtimes is not installed"
      echo "(apt-get install clang libclang-rt-14-dev libomp-14-dev); skipped"
      exit 77
    fi
    start=$SECONDS
    cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
      -DKILN_SANITIZE=ON -DKILN_FUZZ=ON -DKILN_BUILD_BENCH=OFF -DKILN_SANITIZER_TESTS=OFF \
      -DKILN_BUILD_STATIC=OFF -DKILN_INSTALL=OFF -DKILN_UNITY_BUILD=OFF -DKILN_MPI=OFF >/dev/null
    cmake --build "$dir" --parallel "$jobs"
    echo "sanitizers: built $dir in $((SECONDS - start)) s"
    ;;
  test)
    if [[ ! -x $dir/tests/kiln_tests ]]; then
      echo "sanitizers: no sanitizer build in $dir; skipped"
      exit 77
    fi
    start=$SECONDS
    # (-LE: the header, package and documentation checks do not depend on the sanitizers; the main build runs them.)
    ctest --test-dir "$dir" --output-on-failure -j "$jobs" -LE 'install|docs'
    echo "sanitizers: suite ran in $((SECONDS - start)) s"
    ;;
  fuzz)
    name=${3:?fuzzer: model_file, idx, cifar10, onnx, image or csv}
    seconds=${4:-40}
    fuzzer=$dir/fuzz/kiln_fuzz_$name
    if [[ ! -x $fuzzer ]]; then
      echo "sanitizers: no fuzzer $fuzzer; skipped"
      exit 77
    fi
    # New inputs go to a scratch folder; the committed seeds stay as they are.
    corpus=$(mktemp -d)
    trap 'rm -rf "$corpus"' EXIT
    options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=65536
             -print_final_stats=1 -artifact_prefix="$dir/fuzz/$name-")
    if [[ -f $root/fuzz/$name.dict ]]; then options+=(-dict="$root/fuzz/$name.dict"); fi
    "$fuzzer" "${options[@]}" "$corpus" "$root/fuzz/corpus/$name"
    ;;
  *)
    echo "usage: $0 build|test|fuzz DIR [NAME SECONDS]" >&2
    exit 2
    ;;
esac
