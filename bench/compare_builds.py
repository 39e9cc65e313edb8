#!/usr/bin/python3
"""Is a change slower? Runs the same benchmarks from two build folders (say, one of an older
commit in a git worktree and one of HEAD), alternating base and new in pairs so that a machine
whose speed drifts affects both alike, and records per workload the median, min and max of the
pair ratios new/base (above 1: the new build is faster) to bench/RESULTS-compare.jsonl.

  /usr/bin/python3 bench/compare_builds.py BASE_BUILD NEW_BUILD [--pairs 6] [--only cnn_train_1t,...]

Each build needs -DKILN_BUILD_BENCH=ON and its targets kiln_bench_cnn and kiln_bench_sequence.
Only flags every version of those benchmarks reads are passed (--steps sets the window), so a
build from before --min-time existed compares too. Needs an idle machine.
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

# name -> (program, arguments, the JSON field that is the rate); windows of about 5-10 s on 2 cores.
WORKLOADS = {
    "cnn_train_1t": ("kiln_bench_cnn", ["--mode", "train", "--threads", "1", "--steps", "400", "--shape", "32,32,3"],
                     "train_samples_per_s"),
    "cnn_train_2t": ("kiln_bench_cnn", ["--mode", "train", "--threads", "2", "--steps", "600", "--shape", "32,32,3"],
                     "train_samples_per_s"),
    "cnn_infer_2t": ("kiln_bench_cnn", ["--mode", "infer", "--threads", "2", "--infer-steps", "400", "--shape",
                                        "32,32,3"], "infer_samples_per_s"),
    "lstm_train_1t": ("kiln_bench_sequence", ["--model", "lstm", "--threads", "1", "--steps", "500"],
                      "sequences_per_s"),
    "lstm_train_2t": ("kiln_bench_sequence", ["--model", "lstm", "--threads", "2", "--steps", "800"],
                      "sequences_per_s"),
    "transformer_train_2t": ("kiln_bench_sequence", ["--model", "transformer", "--threads", "2", "--steps", "150"],
                             "sequences_per_s"),
}

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("base")
ap.add_argument("new")
ap.add_argument("--pairs", type=int, default=6)
ap.add_argument("--only", default="", help="comma-separated workload names (default: all of " +
                ", ".join(WORKLOADS) + ")")
ap.add_argument("--record", default=os.path.join(HERE, "RESULTS-compare.jsonl"))
args = ap.parse_args()
names = [n for n in args.only.split(",") if n] or list(WORKLOADS)
for n in names:
    if n not in WORKLOADS:
        sys.exit(f"compare_builds: unknown workload '{n}' (known: {', '.join(WORKLOADS)})")


def source_commit(build):
    """The commit (and whether its tree had changes) of the sources a build folder was configured from."""
    cache = os.path.join(build, "CMakeCache.txt")
    if not os.path.exists(cache):
        sys.exit(f"compare_builds: {build} is not a CMake build folder (no CMakeCache.txt)")
    with open(cache) as f:
        settings = f.read()
    source = re.search(r"^CMAKE_HOME_DIRECTORY:INTERNAL=(.*)$", settings, re.M).group(1)
    git = lambda *a: subprocess.run(["git", "-C", source] + list(a), capture_output=True, text=True).stdout.strip()
    unity = re.search(r"^KILN_UNITY_BUILD:BOOL=(.*)$", settings, re.M)
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
            "unity_build": unity.group(1) if unity else "absent"}


def rate(build, name):
    program, argv, field = WORKLOADS[name]
    path = os.path.join(build, "bench", program)
    out = subprocess.run([path] + argv, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"compare_builds: {path} {' '.join(argv)} failed:\n{out.stdout}{out.stderr}")
    line = [l for l in out.stdout.splitlines() if l.startswith("{")][-1]
    return json.loads(line)[field]


def spread(values, digits):
    return {"min": round(min(values), digits), "median": round(statistics.median(values), digits),
            "max": round(max(values), digits)}


builds = {"base": source_commit(args.base), "new": source_commit(args.new)}
results = {}
for name in names:
    base, new = [], []
    for pair in range(args.pairs):
        base.append(rate(args.base, name))
        new.append(rate(args.new, name))
        print(f"{name} pair {pair + 1}: base {base[-1]:.1f}, new {new[-1]:.1f}, ratio {new[-1] / base[-1]:.3f}",
              flush=True)
    ratios = [n / b for b, n in zip(base, new)]
    results[name] = {"base_per_s": spread(base, 1), "new_per_s": spread(new, 1), "ratio_new_over_base": spread(ratios, 3),
                     "pairs_new_faster": sum(r > 1 for r in ratios)}
    print(f"{name}: median ratio {statistics.median(ratios):.3f} ({results[name]['pairs_new_faster']} of "
          f"{args.pairs} pairs faster)", flush=True)

entry = {"bench": "compare_builds", "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
         "command": "/usr/bin/python3 bench/compare_builds.py " + " ".join(sys.argv[1:]), "builds": builds,
         "pairs": args.pairs, "load_1min_at_end": round(os.getloadavg()[0], 2), "workloads": results}
with open(args.record, "a") as f:
    f.write(json.dumps(entry) + "\n")
print(json.dumps(entry))
