#!/usr/bin/python3
"""fp32 GEMM rate of numpy's BLAS (Debian: OpenBLAS), the reference for Kiln's GEMM benchmark.

  /usr/bin/python3 bench/peers/numpy_gemm.py [--size 2048] [--min-time 1.0] [--min-reps 5]

C[M,N] = A[M,K] @ B[K,N] in float32; GFLOP/s = 2*M*N*K / seconds of one call, median and
best call after two untimed ones (as build/bench/kiln_bench_gemm). The thread count is
OpenBLAS's own: set OPENBLAS_NUM_THREADS in the environment. The kernel OpenBLAS picked
(openblas_get_corename; OPENBLAS_CORETYPE overrides its CPU detection) is reported.
Prints one JSON line.
"""
import argparse
import ctypes
import json
import os
import time

import numpy as np

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--size", type=int, default=2048)
ap.add_argument("--min-time", type=float, default=1.0)
ap.add_argument("--min-reps", type=int, default=5)
args = ap.parse_args()


def openblas_info():
    """(core name, threads) from the OpenBLAS numpy loaded, or (None, None)."""
    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if "blas" in line.split()[-1].lower() and ".so" in line})
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode(), lib.openblas_get_num_threads()
        except (OSError, AttributeError):
            continue
    return None, None


n = args.size
rng = np.random.default_rng(0)
a = rng.uniform(-1, 1, (n, n)).astype(np.float32)
b = rng.uniform(-1, 1, (n, n)).astype(np.float32)
c = np.empty((n, n), dtype=np.float32)
np.matmul(a, b, out=c)
np.matmul(a, b, out=c)
times = []
while len(times) < args.min_reps or sum(times) < args.min_time:
    t0 = time.perf_counter()
    np.matmul(a, b, out=c)
    times.append(time.perf_counter() - t0)
times.sort()
flops = 2.0 * n * n * n
core, threads = openblas_info()
print(json.dumps(dict(framework="numpy", bench="gemm", api="numpy.matmul (BLAS sgemm)", m=n, n=n, k=n,
                      threads=threads, gflops_median=round(flops / times[len(times) // 2] / 1e9, 1),
                      gflops_best=round(flops / times[0] / 1e9, 1), reps=len(times), openblas_core=core,
                      OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE"),
                      OPENBLAS_NUM_THREADS=os.environ.get("OPENBLAS_NUM_THREADS"), numpy=np.__version__)), flush=True)
