#!/bin/sh
# Data-parallel training of the article's CNN on Fashion-MNIST-sized data (docs/distributed.md):
#   Kiln, 1 rank x 1 thread and 2 ranks x 1 thread (mpirun; the speed-up should be >= 1.8x),
#   PyTorch DistributedDataParallel with gloo, 2 processes x 1 thread,
# with Kiln's allreduce bandwidth (25 MB) and communication time per step. Appends one JSON line
# per run, with the commit and machine load, to bench/RESULTS-distributed.jsonl.
# Needs an idle machine (uptime load < 1.5) and a build with -DKILN_BUILD_BENCH=ON:
#   cmake --build build --target kiln_bench_distributed && bench/distributed_bench.sh [build]
set -eu
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/bench/RESULTS-distributed.jsonl
bench=$build/bench/kiln_bench_distributed
steps=${STEPS:-60}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
commit=$(git -C "$root" rev-parse --short HEAD)
record() {  # adds the commit and the load to a JSON line on stdin
  /usr/bin/python3 -c 'import json, sys, os
for line in sys.stdin:
    if line.startswith("{"):
        r = json.loads(line); r["commit"] = sys.argv[1]; r["load_1min"] = os.getloadavg()[0]
        print(json.dumps(r))' "$commit" | tee -a "$out"
}
echo "load: $(cut -d' ' -f1 /proc/loadavg)"
mpirun -np 1 "$bench" --batch 64 --steps "$steps" --threads 1 | record
mpirun -np 2 --bind-to core "$bench" --batch 64 --steps "$steps" --threads 1 | record
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 \
  /usr/bin/python3 "$root/bench/peers/torch_ddp_cnn.py" --procs 2 --threads 1 --batch 64 --steps "$steps" | record
tail -n 3 "$out" | /usr/bin/python3 -c 'import json, sys
r = [json.loads(l) for l in sys.stdin]
print("kiln 2 ranks / 1 rank: %.2fx; kiln 2 ranks / pytorch ddp 2 procs: %.2fx; allreduce %.2f GB/s, comm %.2f ms/step"
      % (r[1]["samples_per_s"] / r[0]["samples_per_s"], r[1]["samples_per_s"] / r[2]["samples_per_s"],
         r[1]["allreduce_bus_gb_per_s"], r[1]["comm_ms_per_step"]))'
