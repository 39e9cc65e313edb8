#!/usr/bin/env bash
# Installs the build in BUILD_DIR into a temporary prefix and builds a downstream
# project against it, as a user of Kiln would: find_package(Kiln 0.2) and
# Kiln::kiln, pkg-config, and the static libraries. Then it checks that
#   - the program trains, saves, loads and predicts (train_save_load),
#   - a predict-only program gives the expected classes, linked shared, static and
#     through pkg-config,
#   - the predict-only program's ldd shows no I/O library (libcurl, OpenSSL,
#     libarchive, zlib): the core library does not drag them in.
# Usage: downstream_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$(cd "${1:?source dir}" && pwd)
build=$(cd "${2:?build dir}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "downstream: FAILED: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }
for f in include/kiln/kiln.hpp bin/kiln; do [[ -e $work/prefix/$f ]] || fail "the install lacks $f"; done

cmake -S "$src/tests/install/downstream" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >"$work/configure.log" || { cat "$work/configure.log"; fail "configure"; }
cmake --build "$work/build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "build"; }

# A version the package does not satisfy is refused (0.x: minor versions are not compatible).
mkdir -p "$work/wrong"
printf 'cmake_minimum_required(VERSION 3.20)\nproject(p CXX)\nfind_package(Kiln 0.1 REQUIRED)\n' >"$work/wrong/CMakeLists.txt"
if cmake -S "$work/wrong" -B "$work/wrong/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null 2>&1; then
  fail "find_package(Kiln 0.1) accepted version 0.2"
fi

# As a subproject (add_subdirectory): Kiln's targets are there under the same names,
# and its tests, benchmarks and install rules are not (configuring only: building
# Kiln a second time would take minutes).
mkdir -p "$work/sub"
cat >"$work/sub/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.20)
project(sub CXX)
add_subdirectory("$src" kiln)
add_executable(predict "$src/tests/install/downstream/predict.cpp")
target_link_libraries(predict PRIVATE Kiln::kiln)
foreach(t Kiln::kiln Kiln::data Kiln::report Kiln::all kiln_cli)
  if(NOT TARGET \${t})
    message(FATAL_ERROR "no target \${t}")
  endif()
endforeach()
if(TARGET kiln_tests OR TARGET kiln_bench_cnn)
  message(FATAL_ERROR "a subproject build includes Kiln's tests or benchmarks")
endif()
CMAKE
cmake -S "$work/sub" -B "$work/sub/build" -G Ninja >"$work/sub.log" 2>&1 || { cat "$work/sub.log"; fail "add_subdirectory"; }

cd "$work"
OMP_NUM_THREADS=1 "$work/build/train_save_load" "$work/model.safetensors" || fail "train_save_load"
expected=0101
for program in predict predict_static; do
  got=$(OMP_NUM_THREADS=1 "$work/build/$program" "$work/model.safetensors") || fail "$program"
  [[ $got == "$expected" ]] || fail "$program predicted $got, expected $expected"
done

# pkg-config, as a Makefile would use it.
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig:$work/prefix/lib/x86_64-linux-gnu/pkgconfig"
libdir=$(pkg-config --variable=libdir kiln) || fail "pkg-config kiln"
# shellcheck disable=SC2046
c++ -std=c++20 -O1 "$src/tests/install/downstream/predict.cpp" -o "$work/predict_pc" $(pkg-config --cflags --libs kiln) \
  -Wl,-rpath,"$libdir" || fail "building with pkg-config"
got=$(OMP_NUM_THREADS=1 "$work/predict_pc" "$work/model.safetensors") || fail "predict_pc"
[[ $got == "$expected" ]] || fail "predict_pc predicted $got, expected $expected"

for program in predict predict_static predict_pc; do
  libs=$(ldd "$work/build/$program" 2>/dev/null || ldd "$work/$program")
  if grep -E 'libcurl|libssl|libcrypto|libarchive|libz\.so' <<<"$libs"; then
    fail "$program links I/O libraries it does not use"
  fi
  grep -q 'libkiln\.so' <<<"$libs" || [[ $program == predict_static ]] || fail "$program does not link libkiln.so"
done
echo "downstream: installed, built against with CMake and pkg-config, trained, saved, loaded, predicted $expected;"
echo "downstream: predict-only programs link no curl, OpenSSL, libarchive or zlib"
