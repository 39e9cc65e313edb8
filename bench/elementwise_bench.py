#!/usr/bin/python3
"""Kiln's pointwise activations and softmax against PyTorch's, alternating on one machine.

  /usr/bin/python3 bench/elementwise_bench.py [build] [--reps 5] [--threads 1,2] [--min-time 1.0]
      [--record bench/RESULTS-elementwise.jsonl] [--allow-dirty]

Each repetition runs build/bench/kiln_bench_elementwise and peers/torch_elementwise.py
(OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset, as for every peer) at each thread count,
Kiln first in odd repetitions and last in even ones, so that slow drifts of a shared
machine hit both. Both time the same ops on the same shapes: the median call over a
window of at least --min-time seconds. Prints a markdown table (median [min-max] ms per
call over the repetitions, and PyTorch / Kiln: above 1, Kiln is faster) and appends one
JSON line to the record. A recorded run must come from a clean tree.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench_common import is_dirty, kiln_rev, machine  # noqa: E402

PEER_ENV = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}


def run(cmd, env=None):
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.exit(f"elementwise_bench: {' '.join(cmd)} failed:\n{out.stderr}")
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def spread(values, digits=3):
    return {"median": round(statistics.median(values), digits), "min": round(min(values), digits),
            "max": round(max(values), digits)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("build", nargs="?", default=os.path.join(ROOT, "build"))
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--min-time", type=float, default=1.0)
    p.add_argument("--record", default=os.path.join(HERE, "RESULTS-elementwise.jsonl"), help="'' to print only")
    p.add_argument("--allow-dirty", action="store_true")
    a = p.parse_args()
    rev = kiln_rev()
    if is_dirty(rev) and a.record and not a.allow_dirty:
        sys.exit("elementwise_bench: the tree has uncommitted changes; a recorded run must come from a commit "
                 "(commit first, or --allow-dirty to mark the record)")
    kiln = os.path.join(os.path.abspath(a.build), "bench", "kiln_bench_elementwise")
    if not os.path.exists(kiln):
        sys.exit(f"elementwise_bench: {kiln} not found (build the benchmarks: cmake --build {a.build})")
    peer = os.path.join(HERE, "peers", "torch_elementwise.py")
    threads = [int(t) for t in a.threads.split(",")]
    load_start = os.getloadavg()[0]
    times = {}  # (framework, threads, op) -> [ms per repetition]
    peer_setup = None
    for rep in range(1, a.reps + 1):
        for t in threads:
            common = ["--threads", str(t), "--min-time", str(a.min_time)]
            runs = [("kiln", [kiln] + common, None), ("torch", ["/usr/bin/python3", peer] + common, PEER_ENV)]
            for framework, cmd, env in (runs if rep % 2 else runs[::-1]):
                for r in run(cmd, env):
                    times.setdefault((framework, t, r["op"]), []).append(r["ms"])
                    if framework == "torch":
                        peer_setup = {k: r.get(k) for k in ("torch", "allocator", "blas", "blas_kernel")}
        print(f"repetition {rep}/{a.reps} done", file=sys.stderr, flush=True)
    ops = list(dict.fromkeys(op for (_, _, op) in times))
    results = []
    print(f"\n| op | threads | Kiln, ms | PyTorch, ms | PyTorch / Kiln |\n|---|---|---|---|---|")
    for op in ops:
        for t in threads:
            k, q = times[("kiln", t, op)], times[("torch", t, op)]
            ratio = statistics.median(q) / statistics.median(k)
            results.append({"op": op, "threads": t, "kiln_ms": spread(k), "torch_ms": spread(q),
                            "torch_over_kiln": round(ratio, 2)})
            print(f"| {op} | {t} | {statistics.median(k):.3f} [{min(k):.3f}–{max(k):.3f}] | "
                  f"{statistics.median(q):.3f} [{min(q):.3f}–{max(q):.3f}] | {ratio:.2f} |")
    entry = {"bench": "elementwise", "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "command": " ".join(["/usr/bin/python3", "bench/elementwise_bench.py"] + sys.argv[1:]), "kiln": rev,
             "clean_tree": not is_dirty(rev), "machine": machine(), "peer": peer_setup,
             "reps": a.reps, "min_time_s": a.min_time, "load_1min_at_start": round(load_start, 2),
             "load_1min_at_end": round(os.getloadavg()[0], 2), "results": results}
    if a.record:
        with open(a.record, "a") as f:
            f.write(json.dumps(entry) + "\n")
        print(f"\nrecorded in {os.path.relpath(a.record, ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
