#!/usr/bin/env python3
"""Kiln's training speed on a shared machine: 1 and 2 threads, idle and beside one busy process.

  bench/busy_machine.py [--build-dir build] [--reps 5] [--window 10] [--out bench/RESULTS-busy.jsonl]
  bench/busy_machine.py --cli [--reps 5]   # kiln train's own choice against --threads 1 and 2

OpenMP threads that finish their share of a parallel loop wait for the others at its end;
libgomp's default is to spin there (GOMP_SPINCOUNT, 300,000 spins) before sleeping. When
another process holds one of the two cores, the waiting thread spins against it and the
thread it waits for runs only when the scheduler gives it the core back: a 2-thread run can
fall far below a 1-thread one. This script measures the article's CNN's training throughput
(build/bench/kiln_bench_cnn, batch 64, 32x32x3) under each wait policy in CONFIGS, at 1 and
2 threads, on an idle machine and beside one competing CPU-bound process (a busy loop), each
in a fresh process with a timed window of --window seconds, and appends one JSON line per
run plus one summary line (medians and the ratios the issue asks about) to --out.
The configurations alternate within each repetition, so drifts of the machine hit all.

--cli times whole `kiln train` processes instead (Fashion-MNIST, 1 epoch on 16,384 images,
evaluation on 2,000): without --threads (Kiln picks the idle cores), --threads 1 and
--threads 2, idle and busy; the figure is training samples per second of process wall time.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench_common import kiln_rev  # noqa: E402

# name -> environment of the run (OMP_WAIT_POLICY and GOMP_SPINCOUNT are removed first).
CONFIGS = {
    "libgomp default (spin, then sleep)": {},
    "active (spin only)": {"OMP_WAIT_POLICY": "active"},
    "GOMP_SPINCOUNT=10000": {"GOMP_SPINCOUNT": "10000"},
    "passive": {"OMP_WAIT_POLICY": "passive"},
}

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--build-dir", default="build")
ap.add_argument("--reps", type=int, default=5)
ap.add_argument("--window", type=float, default=10.0)
ap.add_argument("--out", default=os.path.join(HERE, "RESULTS-busy.jsonl"))
ap.add_argument("--cli", action="store_true", help="time kiln train's own thread choice against --threads 1 and 2")
args = ap.parse_args()
KILN_REV = kiln_rev()  # at the start: the tree measured, whatever is committed meanwhile
if args.cli:
    CONFIGS = {"kiln train (its choice)": [], "kiln train --threads 1": ["--threads", "1"],
               "kiln train --threads 2": ["--threads", "2"]}
    CLI_SAMPLES = 16384
bench = os.path.join(ROOT, args.build_dir, "kiln") if args.cli else \
    os.path.join(ROOT, args.build_dir, "bench", "kiln_bench_cnn")
if not os.access(bench, os.X_OK):
    sys.exit(f"{bench} is missing: build the kiln_bench_cnn target first")


def run_cli(config):
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        out = subprocess.run([bench, "train", "--dataset", "fashion-mnist", "--epochs", "1", "--train-samples",
                              str(CLI_SAMPLES), "--test-samples", "2000", "--verbose", "2", "--out",
                              os.path.join(tmp, "run")] + CONFIGS[config], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t0
    threads = next((line for line in out.stdout.splitlines() if line.startswith("Threads:")), "")
    return CLI_SAMPLES / wall, threads


def run(config, threads):
    env = dict(os.environ)
    for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT"):
        env.pop(k, None)
    env.update(CONFIGS[config])
    out = subprocess.run([bench, "--mode", "train", "--threads", str(threads), "--steps", "20", "--warmup", "10",
                          "--min-time", str(args.window)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["train_samples_per_s"]


records = []
out = open(args.out, "a")
for state in ("idle", "busy"):
    competitor = None
    if state == "busy":
        competitor = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(1)
    try:
        for rep in range(1, args.reps + 1):
            order = list(CONFIGS) if rep % 2 else list(reversed(CONFIGS))
            for config in order:
                for threads in ((0,) if args.cli else (1, 2)):
                    note = ""
                    if args.cli:
                        sps, note = run_cli(config)
                    else:
                        sps = run(config, threads)
                    rec = dict(bench="busy_machine_cli" if args.cli else "busy_machine", state=state, config=config,
                               threads=threads, rep=rep, train_samples_per_s=sps, kiln_said=note,
                               loadavg1=round(os.getloadavg()[0], 2))
                    records.append(rec)
                    out.write(json.dumps(rec) + "\n")
                    out.flush()
                    print(f"{state:<5} rep {rep} {config:<36} t{threads}: {sps:8.1f} samples/s", flush=True)
    finally:
        if competitor:
            competitor.kill()
            competitor.wait()


def med(state, config, threads):
    v = [r["train_samples_per_s"] for r in records if (r["state"], r["config"], r["threads"]) == (state, config,
                                                                                                    threads)]
    return statistics.median(v), min(v), max(v)


if args.cli:
    summary = dict(bench="busy_machine_cli", summary=True, command="bench/busy_machine.py " + " ".join(sys.argv[1:]),
                   kiln=KILN_REV, reps=args.reps, date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                   results={})
    print("\n| Command | idle | busy |")
    print("|---|---|---|")
    for config in CONFIGS:
        cells = {s: med(s, config, 0) for s in ("idle", "busy")}
        summary["results"][config] = {k: v[0] for k, v in cells.items()}
        print(f"| {config} | " + " | ".join(f"{m:,.0f} [{lo:,.0f}–{hi:,.0f}]" for m, lo, hi in cells.values()) + " |")
    out.write(json.dumps(summary) + "\n")
    out.close()
    sys.exit(0)

summary = dict(bench="busy_machine", summary=True, command="bench/busy_machine.py " + " ".join(sys.argv[1:]),
               kiln=KILN_REV, reps=args.reps, window_s=args.window,
               date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), results={})
print("\n| Configuration | idle t1 | idle t2 | busy t1 | busy t2 | busy t2 / busy t1 |")
print("|---|---|---|---|---|---|")
for config in CONFIGS:
    cells = {f"{s}_t{t}": med(s, config, t) for s in ("idle", "busy") for t in (1, 2)}
    summary["results"][config] = {k: v[0] for k, v in cells.items()}
    ratio = cells["busy_t2"][0] / cells["busy_t1"][0]
    summary["results"][config]["busy_t2_over_t1"] = round(ratio, 3)
    print(f"| {config} | " + " | ".join(f"{m:,.0f} [{lo:,.0f}–{hi:,.0f}]" for m, lo, hi in cells.values()) +
          f" | {ratio:.2f} |")
base = summary["results"]["libgomp default (spin, then sleep)"]
for config in CONFIGS:
    summary["results"][config]["idle_t2_vs_default"] = round(summary["results"][config]["idle_t2"] / base["idle_t2"],
                                                              3)
out.write(json.dumps(summary) + "\n")
out.close()
print(f"\nrecords appended to {os.path.relpath(args.out, ROOT)}")
