#!/usr/bin/env bash
# Installs Kiln's dependencies from Debian/Ubuntu packages and builds it in ./build.
#   scripts/setup.sh            install (when something is missing) and build
#   KILN_BUILD_DIR=dir scripts/setup.sh   build elsewhere
#   scripts/setup.sh --bench    also install what bench/run_bench.py's PyTorch and numpy peers need
# Idempotent: a second run installs nothing, rebuilds only what changed and prints
# nothing when there is nothing to do. Logs of the last configure and build are in
# the build folder (setup-*.log) and are shown when a step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config
  file                   # CPack (cpack -G DEB) reads the binaries' library dependencies with it
  libdnnl-dev            # oneDNN: convolution and GEMM kernels (JIT for AVX-512/AVX2)
  zlib1g-dev             # gzip'd IDX dataset files
  libcurl4-openssl-dev   # dataset downloads
  libssl-dev             # MD5 of downloads
  libarchive-dev         # reading cifar-10-binary.tar.gz
  nlohmann-json3-dev     # JSON: model configs, model-file headers, run folders, test fixtures
  libcli11-dev           # the kiln command line
  libstb-dev             # PNG files (stb_image_write), chart text; reading PNG/BMP/GIF images (stb_image)
  libturbojpeg0-dev      # reading JPEG images (image_dataset_from_directory)
  libgtest-dev           # tests
  dataset-fashion-mnist  # the real dataset the tests and the fallback run use
  wamerican              # /usr/share/dict/words: the word list `kiln lm` learns
  qemu-user              # tests run part of the suite on emulated CPUs without AVX-512/AVX2
  gnuplot-nox            # the PNG plots of a training run (curves, confusion matrix, ROC)
  libjs-chart.js         # Chart.js, inlined into each run's report.html
  chromium               # tests only: opens a run report headless and checks its charts
  clang libclang-rt-14-dev libomp-14-dev  # tests only: the ASan/UBSan build and the libFuzzer targets
  libprotobuf-dev protobuf-compiler  # ONNX files (Kiln::onnx): protobuf-lite and protoc for ONNX's schema
  python3-onnx           # ONNX's onnx.proto (the schema protoc compiles) and, in tests, onnx.checker
  nodejs                 # tests only: runs exported models in ONNX Runtime (onnxruntime-node, from npm)
  libopenmpi-dev openmpi-bin  # data-parallel training (Kiln::distributed, mpirun kiln train) and its mpi tests
)

# The benchmarks' peers, run as their users run them: Debian's torch and numpy call whatever
# libblas.so.3 is installed, and without OpenBLAS that is the reference BLAS (~20x slower).
bench_packages=(
  python3-torch python3-numpy
  python3-threadpoolctl  # the peers record which BLAS kernel and how many BLAS threads ran
  libopenblas0-pthread   # the BLAS PyTorch's users have
  libtcmalloc-minimal4 libjemalloc2  # allocators the search for PyTorch's best setup tries
)
if [[ ${1:-} == --bench ]]; then packages+=("${bench_packages[@]}"); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# Debian's nodejs leaves npm to its own package; other builds of nodejs bundle it (and may
# conflict with Debian's npm), so it is installed only when missing.
if ! command -v npm >/dev/null; then
  echo "setup: installing npm"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends npm
fi

build_dir="${KILN_BUILD_DIR:-build}"
mkdir -p "$build_dir"
if [[ ! -f $build_dir/CMakeCache.txt ]]; then
  echo "setup: configuring and building Kiln in $build_dir (a first build takes several minutes)"
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release >"$build_dir/setup-configure.log" 2>&1 ||
    { cat "$build_dir/setup-configure.log"; echo "setup: configuring failed (log: $build_dir/setup-configure.log)"; exit 1; }
fi
# Up to date, the build takes a second and prints nothing; otherwise it says what it did.
start=$SECONDS
if ! cmake --build "$build_dir" --parallel "$(nproc)" >"$build_dir/setup-build.log" 2>&1; then
  grep -E -B2 -A12 'error|FAILED' "$build_dir/setup-build.log" | head -80
  echo "setup: the build failed (whole log: $build_dir/setup-build.log)"
  exit 1
fi
# ONNX Runtime for the ONNX parity tests, from the npm registry into the build folder (the tests
# look there, or in $KILN_ORT_DIR, and skip without it). --ignore-scripts: the package ships its
# CPU binaries; its install script only fetches GPU ones.
ort_version=1.30.0
if [[ ! -f $build_dir/onnxruntime/node_modules/onnxruntime-node/package.json ]] ||
  ! grep -q "\"version\": \"$ort_version\"" "$build_dir/onnxruntime/node_modules/onnxruntime-node/package.json"; then
  echo "setup: installing onnxruntime-node $ort_version (npm) into $build_dir/onnxruntime for the ONNX tests"
  npm install --prefix "$build_dir/onnxruntime" --ignore-scripts --no-audit --no-fund --loglevel=error \
    "onnxruntime-node@$ort_version" >"$build_dir/setup-npm.log" 2>&1 ||
    { cat "$build_dir/setup-npm.log"; echo "setup: npm install failed; the ONNX Runtime tests will be skipped"; }
fi
steps=$(grep -cE '^\[[0-9]+/[0-9]+\] (Building|Linking)' "$build_dir/setup-build.log" || true)
if ((steps > 0)); then echo "setup: built $build_dir in $((SECONDS - start)) s ($steps compile and link steps)"; fi
