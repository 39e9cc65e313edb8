#!/usr/bin/python3
"""Issue 16's mixed-precision measurements, recorded in bench/RESULTS-bf16.jsonl: Kiln in float32
against Kiln under the mixed_bfloat16 policy (--precision bf16), same binaries, same machine.

speed (default): the article's CNN on random 32x32x3 batches (build/bench/kiln_bench_cnn), training
  (batch 64) and inference (batch 256), at 1 and 2 threads; with --lstm also the LSTM training
  benchmark (build/bench/kiln_bench_sequence --model lstm). Each repetition runs the float32 and
  the bf16 process back to back, float32 first in odd repetitions and last in even ones, so that
  slow drifts of a shared machine hit both; every timed window lasts at least --window seconds.
  Records the medians, their ratio (bf16 / float32) and the ratio of each repetition's pair.
accuracy: Fashion-MNIST, `kiln train --dataset fashion-mnist --epochs 10 --threads 2` in float32 and
  in bf16 for each --seeds, test accuracies and their difference (issue 16 asks <= 0.003).

  /usr/bin/python3 bench/bf16_bench.py [build] [speed|accuracy|all] [--reps 5] [--window 10]
      [--threads 1,2] [--lstm] [--epochs 10] [--seeds 1] [--record FILE] [--allow-dirty]

Targets (issue 16): CNN training >= 1.6x and inference >= 1.8x float32's samples/s at 2 threads;
Fashion-MNIST accuracy within 0.003; LSTM training >= 1.4x. A recorded run must come from a clean
tree (--allow-dirty marks the record instead). The 1-minute load average is recorded at the start
and end of every measurement: on a busy machine the figures are unreliable.
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PRECISIONS = ["float32", "bf16"]
sys.path.insert(0, HERE)
from bench_common import is_dirty, kiln_rev  # noqa: E402


def native_bf16():
    with open("/proc/cpuinfo") as f:
        flags = next((line for line in f if line.startswith("flags")), "")
    return "avx512_bf16" in flags.split() or "amx_bf16" in flags.split()


def record(a, entry):
    entry = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "command": " ".join(["/usr/bin/python3", "bench/bf16_bench.py"] + sys.argv[1:]),
             "kiln": a.rev,
             "native_bf16": native_bf16(), **entry}
    print(json.dumps(entry), flush=True)
    if a.record:
        with open(a.record, "a") as f:
            f.write(json.dumps(entry) + "\n")


def run_json(cmd):
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(" ".join(cmd) + "\n" + out.stdout + out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def paired(a, name, make_cmd, field, threads):
    """Alternating float32/bf16 runs: {precision: [values]} and the per-repetition ratios."""
    values = {p: [] for p in PRECISIONS}
    load = [os.getloadavg()[0]]
    for rep in range(1, a.reps + 1):
        order = PRECISIONS if rep % 2 else PRECISIONS[::-1]
        for p in order:
            values[p].append(run_json(make_cmd(p))[field])
    load.append(os.getloadavg()[0])
    f32, bf16 = statistics.median(values["float32"]), statistics.median(values["bf16"])
    record(a, {"bench": name, "threads": threads, "reps": a.reps, "window_s": a.window, "field": field,
               "float32": values["float32"], "bf16": values["bf16"],
               "float32_median": round(f32, 1), "bf16_median": round(bf16, 1),
               "speedup_of_medians": round(bf16 / f32, 3),
               "speedup_per_rep": [round(b / f, 3) for f, b in zip(values["float32"], values["bf16"])],
               "loadavg1_start_end": [round(x, 2) for x in load], "example_command": " ".join(make_cmd("bf16"))})


def speed(a):
    cnn = os.path.join(a.build, "bench", "kiln_bench_cnn")
    for t in a.threads:
        for mode, field in (("train", "train_samples_per_s"), ("infer", "infer_samples_per_s")):
            paired(a, f"cnn_{mode}", lambda p, mode=mode, t=t: [
                cnn, "--mode", mode, "--threads", str(t), "--min-time", str(a.window), "--precision", p], field, t)
        if a.lstm:
            seq = os.path.join(a.build, "bench", "kiln_bench_sequence")
            paired(a, "lstm_train", lambda p, t=t: [
                seq, "--model", "lstm", "--threads", str(t), "--min-time", str(a.window), "--precision", p],
                "sequences_per_s", t)


def accuracy(a):
    kiln = os.path.join(a.build, "kiln")
    for seed in a.seeds:
        result = {}
        for p in PRECISIONS:
            start = time.time()
            out = subprocess.run([kiln, "train", "--dataset", "fashion-mnist", "--epochs", str(a.epochs),
                                  "--threads", "2", "--seed", str(seed), "--verbose", "2", "--precision", p,
                                  "--out", os.path.join(a.work, f"run-{p}-{seed}")],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(out.stdout + out.stderr)
            result[p] = {"test_accuracy": float(re.search(r"Test accuracy: ([0-9.]+)", out.stdout).group(1)),
                         "seconds": round(time.time() - start, 1)}
        record(a, {"bench": "fashion_mnist_accuracy", "epochs": a.epochs, "threads": 2, "seed": seed, **result,
                   "accuracy_difference": round(result["bf16"]["test_accuracy"] - result["float32"]["test_accuracy"], 4),
                   "target": {"abs(accuracy_difference)": "<= 0.003"}})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("build", nargs="?", default=os.path.join(ROOT, "build"))
    p.add_argument("which", nargs="?", default="speed", choices=["speed", "accuracy", "all"])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--window", type=float, default=10.0, help="seconds each timed window lasts at least")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--lstm", action="store_true", help="also the LSTM training benchmark")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seeds", default="1")
    p.add_argument("--work", default="/tmp/kiln-bf16-bench", help="accuracy: where the run folders go")
    p.add_argument("--record", default=os.path.join(HERE, "RESULTS-bf16.jsonl"), help="'' to print only")
    p.add_argument("--allow-dirty", action="store_true")
    a = p.parse_args()
    a.build = os.path.abspath(a.build)
    a.threads = [int(t) for t in a.threads.split(",")]
    a.seeds = [int(s) for s in a.seeds.split(",")]
    a.rev = kiln_rev()
    a.dirty = is_dirty(a.rev)
    if a.dirty and not a.allow_dirty:
        sys.exit("bf16_bench.py: the tree has uncommitted changes; a recorded run must come from a commit "
                 "(commit first, or --allow-dirty to mark the record)")
    if not native_bf16():
        print("bf16_bench.py: this CPU has no native bf16; --precision bf16 runs in float32 here", flush=True)
    os.makedirs(a.work, exist_ok=True)
    if a.which in ("speed", "all"):
        speed(a)
    if a.which in ("accuracy", "all"):
        accuracy(a)


if __name__ == "__main__":
    main()
