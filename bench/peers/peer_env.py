"""What every PyTorch/numpy peer records about how it ran, and the timed window they share.

A peer's figures mean little without its set-up: which allocator was loaded, which
OpenBLAS kernel ran (OPENBLAS_CORETYPE overrides OpenBLAS's CPU detection, and Debian's
torch uses whatever libblas.so.3 the alternatives point to: the reference BLAS is ~20x
slower than OpenBLAS), and how many threads each pool had. threadpoolctl reads the last
two from the loaded libraries themselves.
"""
import os
import time


def allocator():
    with open("/proc/self/maps") as f:
        maps = f.read()
    for name in ("tcmalloc", "jemalloc", "mimalloc"):
        if name in maps:
            return name
    return "glibc"


def blas_info():
    """The BLAS the process loaded, as threadpoolctl sees it (None when nothing is known)."""
    try:
        import threadpoolctl
    except ImportError:
        return dict(blas="unknown (python3-threadpoolctl missing)")
    for lib in threadpoolctl.threadpool_info():
        if lib.get("user_api") == "blas":
            return dict(blas=lib.get("internal_api"), blas_version=lib.get("version"),
                        blas_kernel=lib.get("architecture"), blas_threads=lib.get("num_threads"),
                        blas_library=lib.get("filepath"))
    # Nothing threadpoolctl knows: Debian's reference BLAS (libblas3) has no thread pool.
    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if "libblas" in line})
    return dict(blas="reference" if paths else "none loaded", blas_library=paths[0] if paths else None)


def environment():
    """The fields every peer record carries."""
    record = dict(allocator=allocator(), openblas_num_threads=os.environ.get("OPENBLAS_NUM_THREADS"),
                  openblas_coretype=os.environ.get("OPENBLAS_CORETYPE"),
                  openblas_l2_size=os.environ.get("OPENBLAS_L2_SIZE"))
    record.update(blas_info())
    return record


def timed_window(step, steps, min_time):
    """Runs step(i) at least `steps` times and for at least `min_time` seconds; (steps run, seconds).

    A fixed step count makes a fast set-up's window short and noisy; a minimum time gives
    every set-up a window of the same length (the brief asks >= 10 s per measurement)."""
    t0 = time.perf_counter()
    i = 0
    while i < steps or time.perf_counter() - t0 < min_time:
        step(i)
        i += 1
    return i, time.perf_counter() - t0


def seconds_since_launch():
    """Seconds since this process was created (the kernel's start time, 10 ms ticks): a whole
    run's wall time, imports and data loading included."""
    with open("/proc/self/stat") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        uptime = float(f.read().split()[0])
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
