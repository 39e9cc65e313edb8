#!/usr/bin/python3
"""Kiln against PyTorch on the article's CNN: one command, one table.

  bench/run_bench.py [--reps 5] [--fashion-reps 3] [--skip-fashion] [--build-dir build] [--out bench/RESULTS.md]
  bench/run_bench.py --quick          # smoke run: 1 rep, few steps, a short Fashion-MNIST run
  bench/run_bench.py --only-sequence  # only the LSTM and Transformer-block rows (bench/peers/torch_lstm.py, ...)
  bench/run_bench.py --no-search      # PyTorch "best" = the fixed setup of earlier runs, no search

The PyTorch peer runs as its best user would run it: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE
(set in some environments, and holding OpenBLAS to an older kernel) are unset in the peer's
own command, and before the timed repetitions a search over torch threads x OpenBLAS threads
x allocator x memory format (x frozen TorchScript for inference) picks PyTorch's best setup
for each workload and thread count (coordinate descent from the usual best guess; every
trial is recorded). Each timed window lasts at least --window seconds (default 10).
A full run refuses a tree with uncommitted changes (--allow-dirty to override).

Builds nothing: it expects the binaries of scripts/setup.sh in --build-dir (kiln,
bench/kiln_bench_cnn, bench/kiln_bench_gemm). The PyTorch peer (bench/peers/torch_cnn.py)
runs under /usr/bin/python3 (Debian's python3-torch) and is skipped, with a message,
when `import torch` fails there.

Every measurement is a fresh process; peak RSS is that process's own (wait4's
ru_maxrss). Within a repetition the Kiln and PyTorch runs of one measurement follow
each other, Kiln first on odd repetitions and last on even ones, so that slow drifts
of the machine hit both. The table gives median [min-max] over repetitions and the
ratio of medians Kiln/PyTorch against PyTorch's best setup and out of the box.
See bench/README.md.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench_common import cpu_fields, is_dirty, kiln_rev, ram_kib  # noqa: E402
PEER_PYTHON = "/usr/bin/python3"
TORCH_PEER = "bench/peers/torch_cnn.py"
NUMPY_GEMM = "bench/peers/numpy_gemm.py"
TORCH_SEQUENCE_PEERS = {"lstm": "bench/peers/torch_lstm.py", "transformer": "bench/peers/torch_transformer.py"}
TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
FASHION_DIR = "/usr/share/datasets/fashion-mnist"

# FLOPs per sample of the 32x32x3 CNN (multiply-add = 2 FLOPs, conv and dense layers):
# forward 4,548,608 MACs; training = forward + weight gradients + input gradients
# of every layer but the first conv.
TRAIN_MFLOP_PER_SAMPLE = 25.74
INFER_MFLOP_PER_SAMPLE = 9.10

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                             formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
ap.add_argument("--reps", type=int, default=None, help="repetitions of every measurement (default 5; --quick: 1)")
ap.add_argument("--fashion-reps", type=int, default=None,
                help="repetitions of the Fashion-MNIST 10-epoch runs, the first N reps (default min(reps, 3))")
ap.add_argument("--skip-fashion", action="store_true", help="leave out the Fashion-MNIST end-to-end runs")
ap.add_argument("--skip-torch", action="store_true", help="Kiln only")
ap.add_argument("--skip-sequence", action="store_true", help="leave out the LSTM and Transformer-block rows")
ap.add_argument("--only-sequence", action="store_true", help="only the LSTM and Transformer-block rows")
ap.add_argument("--quick", action="store_true",
                help="smoke run: 20 training steps, 5 inference steps, short GEMM timing, "
                     "1 Fashion-MNIST epoch on 4096 images")
ap.add_argument("--build-dir", default="build", help="where scripts/setup.sh built Kiln (default build)")
ap.add_argument("--out", default=None,
                help="Markdown report (default bench/RESULTS.md; --quick: BUILD_DIR/bench-quick.md); "
                     "the raw records go next to it as .jsonl")
ap.add_argument("--threads", default="1,2", help="thread counts of the CNN rows (default 1,2)")
ap.add_argument("--window", type=float, default=None,
                help="minimum seconds of every timed window (default 10; --quick: 0.5)")
ap.add_argument("--search-window", type=float, default=None,
                help="minimum seconds of each search trial's window (default 3; --quick: 0.3)")
ap.add_argument("--no-search", action="store_true", help="PyTorch best = the fixed setup, no search")
ap.add_argument("--allow-dirty", action="store_true", help="run from a tree with uncommitted changes")
ap.add_argument("--peer-python", default=PEER_PYTHON,
                help=f"python with torch and numpy for the peers (default {PEER_PYTHON}, Debian's python3-torch)")
args = ap.parse_args()
PEER_PYTHON = args.peer_python

reps = args.reps if args.reps is not None else (1 if args.quick else 5)
fashion_reps = 0 if args.skip_fashion or args.only_sequence else (args.fashion_reps if args.fashion_reps is not None else min(reps, 3))
thread_counts = [int(t) for t in args.threads.split(",")]
build_dir = os.path.join(ROOT, args.build_dir) if not os.path.isabs(args.build_dir) else args.build_dir
out_md = args.out or (os.path.join(build_dir, "bench-quick.md") if args.quick else os.path.join(HERE, "RESULTS.md"))
out_jsonl = os.path.splitext(out_md)[0] + ".jsonl"

WINDOW = args.window if args.window is not None else (0.5 if args.quick else 10.0)
SEARCH_WINDOW = args.search_window if args.search_window is not None else (0.3 if args.quick else 3.0)
if args.quick:
    CNN = dict(steps=20, warmup=5, infer_steps=5)
    SEQUENCE = dict(steps=10, warmup=3)
    GEMM_MIN_TIME = 0.2
    FASHION = dict(epochs=1, train_samples=4096, test_samples=1000)
else:
    CNN = dict(steps=200, warmup=20, infer_steps=50)
    SEQUENCE = dict(steps=100, warmup=10)
    GEMM_MIN_TIME = 1.0
    FASHION = dict(epochs=10, train_samples=0, test_samples=0)
BATCH, INFER_BATCH, GEMM_SIZE = 64, 256, 2048


def rel(path):
    return os.path.relpath(path, ROOT)


# ------------------------------------------------------------------ checks
KILN = os.path.join(build_dir, "kiln")
KILN_CNN = os.path.join(build_dir, "bench", "kiln_bench_cnn")
KILN_GEMM = os.path.join(build_dir, "bench", "kiln_bench_gemm")
KILN_SEQUENCE = os.path.join(build_dir, "bench", "kiln_bench_sequence")
missing = [p for p in (KILN, KILN_CNN, KILN_GEMM) + (() if args.skip_sequence else (KILN_SEQUENCE,))
           if not os.access(p, os.X_OK)]
if missing:
    sys.exit("run_bench.py builds nothing and these binaries are missing: " + ", ".join(rel(p) for p in missing) +
             f"\nBuild them first: scripts/setup.sh (into build/), or cmake --build {rel(build_dir)} "
             "--target kiln_cli kiln_bench_cnn kiln_bench_gemm; pick another build with --build-dir.")


def probe(code):
    """(ok, detail) of running code under the peer python."""
    try:
        p = subprocess.run([PEER_PYTHON, "-c", code], capture_output=True, text=True, timeout=120)
    except OSError as e:
        return False, str(e)
    lines = (p.stdout if p.returncode == 0 else p.stderr).strip().splitlines()
    return p.returncode == 0, lines[-1] if lines else ""


notes = []
torch_ok, torch_detail = (False, "--skip-torch") if args.skip_torch else probe("import torch; print(torch.__version__)")
if not torch_ok and not args.skip_torch:
    msg = (f"PyTorch peer skipped: `import torch` fails under {PEER_PYTHON} ({torch_detail}). "
           "Install Debian's python3-torch to compare.")
    print(msg, flush=True)
    notes.append(msg)
if torch_ok:
    blas_ok, blas_detail = probe("import torch, threadpoolctl; print(next((l['internal_api'] for l in "
                                 "threadpoolctl.threadpool_info() if l['user_api'] == 'blas'), 'reference'))")
    if not blas_ok or blas_detail != "openblas":
        msg = (f"PyTorch's BLAS is {blas_detail or 'unknown'}, not OpenBLAS: Debian's torch uses whatever libblas.so.3 "
               "the alternatives point to, and the reference BLAS is ~20x slower; its Linear/LSTM products are "
               "handicapped. Install libopenblas0-pthread (and python3-threadpoolctl) for a fair peer.")
        print("WARNING: " + msg, flush=True)
        notes.append(msg)
numpy_ok, numpy_detail = probe("import numpy; print(numpy.__version__)")
if not numpy_ok:
    msg = f"numpy GEMM reference skipped: `import numpy` fails under {PEER_PYTHON} ({numpy_detail})."
    print(msg, flush=True)
    notes.append(msg)
tcmalloc_ok = os.path.exists(TCMALLOC)
jemalloc_ok = os.path.exists(JEMALLOC)
if torch_ok and not tcmalloc_ok:
    msg = f"{TCMALLOC} is missing (Debian libtcmalloc-minimal4): PyTorch's best setup runs with glibc malloc."
    print(msg, flush=True)
    notes.append(msg)
fashion_ok = all(os.path.exists(os.path.join(FASHION_DIR, f)) for f in
                 ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                  "t10k-labels-idx1-ubyte.gz"))
if not fashion_ok:
    msg = f"Fashion-MNIST rows and start-up skipped: {FASHION_DIR} lacks the *.gz files (Debian dataset-fashion-mnist)."
    print(msg, flush=True)
    notes.append(msg)
    fashion_reps = 0


# ------------------------------------------------------------------ setups
# An entry: (framework, setup name, extra environment, extra arguments). An environment value of
# None unsets the variable. Every peer runs with OpenBLAS's CPU detection, as its users run it.
PEER_ENV = {"OPENBLAS_CORETYPE": None, "OPENBLAS_L2_SIZE": None}
ALLOCATORS = {"glibc": None, "tcmalloc": TCMALLOC, "jemalloc": JEMALLOC}


def peer_env(**extra):
    env = dict(PEER_ENV)
    env.update({k: v for k, v in extra.items() if v is not None})
    return env


# The fixed "best" setup of earlier runs: the starting point of the search, and --no-search.
def default_setup(workload, threads):
    if workload in ("lstm", "transformer"):
        return dict(torch_threads=1, blas_threads=threads, allocator="tcmalloc" if tcmalloc_ok else "glibc")
    setup = dict(torch_threads=threads, blas_threads=1, allocator="tcmalloc" if tcmalloc_ok else "glibc",
                 layout="nhwc")
    if workload == "infer":
        setup["script"] = False
    return setup


def setup_args(setup):
    """(environment, peer arguments) of a setup."""
    env = peer_env(OPENBLAS_NUM_THREADS=str(setup["blas_threads"]), LD_PRELOAD=ALLOCATORS[setup["allocator"]])
    argv = ["--threads", str(setup["torch_threads"])]
    if "layout" in setup:
        argv += ["--layout", setup["layout"]]
    if setup.get("script"):
        argv += ["--script"]
    return env, argv


def describe(setup):
    parts = [f"{setup['torch_threads']} torch thread{'s' if setup['torch_threads'] > 1 else ''}",
             f"{setup['blas_threads']} OpenBLAS thread{'s' if setup['blas_threads'] > 1 else ''}", setup["allocator"]]
    if "layout" in setup:
        parts.append("channels-last" if setup["layout"] == "nhwc" else "NCHW")
    if setup.get("script"):
        parts.append("frozen TorchScript")
    return ", ".join(parts)


best_setups = {}  # (workload, threads) -> setup; filled by the search (or the defaults)


def torch_best(threads, workload="train"):
    env, argv = setup_args(best_setups.get((workload, threads)) or default_setup(workload, threads))
    return ("torch", "best", env, argv)


TORCH_OOB = ("torch", "oob", peer_env(), ["--layout", "nchw"])

# Taken now: the binaries and scripts are this tree's, whatever is edited or committed
# while the run goes on.
KILN_REV = kiln_rev()
if is_dirty(KILN_REV) and not (args.quick or args.allow_dirty):
    sys.exit("run_bench.py: the tree has uncommitted changes; a recorded run must come from a commit "
             "(commit first, or --allow-dirty for a run that is not recorded as one).")


# ------------------------------------------------------------------ running
records = []
commands = {}  # label -> command line as run the first time
# Written beside the record and moved over it only at the very end, so that a run that is refused,
# fails or is interrupted leaves the committed record as it was.
jsonl = open(out_jsonl + ".partial", "w")


def command_text(env, argv):
    unset = " ".join(f"-u {k}" for k, v in env.items() if v is None)
    prefix = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items() if v is not None)
    prefix = (f"env {unset} " if unset else "") + prefix
    return (prefix.strip() + " " if prefix.strip() else "") + " ".join(shlex.quote(a) for a in argv)


def run(label, key, env_extra, argv, parse, rep):
    """Runs argv from the repository root in a fresh process; returns its record."""
    env = dict(os.environ)
    for k, v in env_extra.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    rec = {}
    if p.returncode == 0:
        try:
            rec.update(parse(stdout))
        except (ValueError, KeyError, IndexError, StopIteration) as e:
            rec["error"] = f"could not parse the output: {e!r}"
    # The harness's own fields win over anything the benchmark printed.
    rec.update(label=label, key=key, rep=rep, rc=-1 if "error" in rec else p.returncode, process_wall_s=round(wall, 3),
               peak_rss_mb=round(usage.ru_maxrss / 1024, 1), cmd=command_text(env_extra, argv),
               loadavg1=round(os.getloadavg()[0], 2))
    if rec["rc"] != 0:
        rec.setdefault("error", "exit status %d" % p.returncode)
        rec["output_tail"] = (stdout + stderr)[-1500:]
        print(f"  FAILED {label}: {rec['error']}\n    {rec['cmd']}\n" +
              "\n".join("    | " + line for line in rec["output_tail"].splitlines()[-10:]), flush=True)
    commands.setdefault(label, rec["cmd"])
    records.append(rec)
    jsonl.write(json.dumps(rec) + "\n")
    jsonl.flush()
    return rec


def last_json(stdout):
    return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


def all_json(stdout):
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def parse_kiln_train(stdout):
    acc = re.findall(r"^Test accuracy: ([0-9.]+)", stdout, re.M)
    mem = re.findall(r"^Peak memory: ([0-9.]+) MB", stdout, re.M)
    val = [float(v) for v in re.findall(r"val_accuracy: ([0-9.]+)", stdout)]
    return dict(test_acc=float(acc[-1]), self_peak_rss_mb=float(mem[-1]), val_acc_per_epoch=val)


def parse_torch_fit(stdout):
    recs = all_json(stdout)
    summary = recs[-1]
    summary["val_acc_per_epoch"] = [r["test_acc"] for r in recs if "epoch" in r]
    return summary


def parse_gemm(api_prefix):
    def parse(stdout):
        recs = all_json(stdout)
        rec = next(r for r in recs if r["api"].startswith(api_prefix))
        bf16 = next((r for r in recs if r["api"] == "onednn matmul bf16" and "gflops_median" in r), None)
        if bf16:
            rec["bf16_gflops"] = bf16["gflops_median"]
        return rec
    return parse


def say(rec, what):
    if rec["rc"] == 0:
        print(f"  {rec['label']:<38} {what(rec):<28} {rec['peak_rss_mb']:7.0f} MB  {rec['process_wall_s']:6.1f} s",
              flush=True)


def ordered(entries, rep):
    """Kiln first on odd repetitions (1, 3, ...), last on even ones."""
    return entries if rep % 2 == 1 else list(reversed(entries))


def cnn_common(mode, window):
    return ["--mode", mode, "--batch", str(BATCH), "--warmup", str(CNN["warmup"]), "--steps", str(CNN["steps"]),
            "--infer-batch", str(INFER_BATCH), "--infer-steps", str(CNN["infer_steps"]), "--min-time", str(window)]


def cnn_entries(mode, threads, with_oob):
    common = cnn_common(mode, WINDOW)
    entries = [("kiln", "kiln", {}, [KILN_CNN] + common + ["--threads", str(threads)])]
    if torch_ok:
        fw, setup, env, extra = torch_best(threads, mode)
        entries.append((fw, setup, env, [PEER_PYTHON, TORCH_PEER] + common + extra))
        if with_oob:
            entries.append(("torch", "oob", TORCH_OOB[2], [PEER_PYTHON, TORCH_PEER] + common + TORCH_OOB[3]))
    return entries


def fit_entries(threads, seed, epochs, train_samples, test_samples):
    kiln = [KILN, "train", "--dataset", "fashion-mnist", "--verbose", "2", "--seed", str(seed), "--threads", str(threads),
            "--epochs", str(epochs)]
    peer = ["--mode", "fit", "--seed", str(seed), "--epochs", str(epochs), "--batch", str(BATCH)]
    if train_samples:
        kiln += ["--train-samples", str(train_samples)]
        peer += ["--train-samples", str(train_samples)]
    if test_samples:
        kiln += ["--test-samples", str(test_samples)]
        peer += ["--test-samples", str(test_samples)]
    entries = [("kiln", "kiln", {}, kiln)]
    if torch_ok:
        fw, setup, env, extra = torch_best(threads)
        entries.append((fw, setup, env, [PEER_PYTHON, TORCH_PEER] + peer + extra))
        entries.append(("torch", "oob", TORCH_OOB[2], [PEER_PYTHON, TORCH_PEER] + peer + TORCH_OOB[3]))
    return entries


# LSTM training and a Transformer block's forward+backward. PyTorch's best 2-core
# setting for its LSTM is 1 torch thread and N OpenBLAS threads (its recurrent and
# Linear GEMMs are OpenBLAS calls; more torch threads only add contention), with tcmalloc.
def sequence_common(window):
    return ["--steps", str(SEQUENCE["steps"]), "--warmup", str(SEQUENCE["warmup"]), "--min-time", str(window)]


def sequence_entries(model, threads, with_oob):
    common = sequence_common(WINDOW)
    entries = [("kiln", "kiln", {}, [KILN_SEQUENCE, "--model", model, "--threads", str(threads)] + common)]
    if torch_ok:
        fw, setup, env, extra = torch_best(threads, model)
        peer = [PEER_PYTHON, TORCH_SEQUENCE_PEERS[model]] + common
        entries.append((fw, setup, env, peer + extra))
        if with_oob:
            entries.append(("torch", "oob", peer_env(), peer))
    return entries


# ------------------------------------------------------------------ the search for PyTorch's best setup
SEARCH_METRIC = {"train": "train_samples_per_s", "infer": "infer_samples_per_s", "lstm": "sequences_per_s",
                 "transformer": "sequences_per_s"}


def search_dimensions(workload, threads):
    dims = [("torch_threads", sorted({1, threads})), ("blas_threads", sorted({1, threads})),
            ("allocator", ["glibc"] + (["tcmalloc"] if tcmalloc_ok else []) + (["jemalloc"] if jemalloc_ok else []))]
    if workload in ("train", "infer"):
        dims.append(("layout", ["nchw", "nhwc"]))
    if workload == "infer":
        dims.append(("script", [False, True]))
    return dims


def search_argv(workload, setup):
    env, extra = setup_args(setup)
    if workload in ("train", "infer"):
        return env, [PEER_PYTHON, TORCH_PEER] + cnn_common(workload, SEARCH_WINDOW) + extra
    return env, [PEER_PYTHON, TORCH_SEQUENCE_PEERS[workload]] + sequence_common(SEARCH_WINDOW) + extra


def search(workload, threads):
    """Coordinate descent over the set-up dimensions, one short trial per set-up."""
    tried = {}

    def trial(setup):
        key = tuple(sorted(setup.items()))
        if key not in tried:
            env, argv = search_argv(workload, setup)
            rec = run(f"search {workload} t{threads}: {describe(setup)}", ("search", workload, threads, key), env,
                      argv, last_json, 0)
            tried[key] = rec.get(SEARCH_METRIC[workload], 0) if rec["rc"] == 0 else 0
            print(f"  search {workload:<11} t{threads}  {tried[key]:9.1f}  {describe(setup)}", flush=True)
        return tried[key]

    best = default_setup(workload, threads)
    best_value = trial(best)
    for name, choices in search_dimensions(workload, threads):
        for choice in choices:
            candidate = dict(best, **{name: choice})
            value = trial(candidate)
            if value > best_value:
                best, best_value = candidate, value
    return best, best_value, len(tried)


def label_of(fw, setup, what):
    return f"{what} {'kiln' if fw == 'kiln' else 'torch ' + setup}"


load_at_start = os.getloadavg()[0]
if load_at_start > 0.5:
    msg = (f"The 1-minute load average was {load_at_start:.2f} at the start: other processes share the CPUs, and "
           "2-thread runs slow down many-fold when one of their threads is preempted. Figures are unreliable.")
    print("WARNING: " + msg, flush=True)
    notes.append(msg)

start = time.time()
t_start = datetime.datetime.now(datetime.timezone.utc)
print(f"Kiln vs PyTorch: {reps} rep(s), Fashion-MNIST {fashion_reps} rep(s){' (quick)' if args.quick else ''}; "
      f"raw records -> {rel(out_jsonl)}", flush=True)
def run_sequence_rows(rep):
    for model in ("lstm", "transformer"):
        for i, t in enumerate(thread_counts):
            for fw, setup, env, argv in ordered(sequence_entries(model, t, with_oob=(i == 0)), rep):
                tt = "default" if setup == "oob" else t
                rec = run(f"{model} {'kiln' if fw == 'kiln' else 'torch ' + setup} t{tt}",
                          ("sequence", model, setup, tt), env, argv, last_json, rep)
                say(rec, lambda r: f"{r['sequences_per_s']:.0f} sequences/s (t={r['threads']})")


search_lines = []
if torch_ok:
    workloads = ([] if args.only_sequence else ["train", "infer"]) + ([] if args.skip_sequence else ["lstm", "transformer"])
    if not args.no_search:
        print(f"=== search for PyTorch's best setup ({SEARCH_WINDOW:g} s per trial)", flush=True)
    for workload in workloads:
        for t in thread_counts:
            if args.no_search:
                best_setups[(workload, t)] = default_setup(workload, t)
                continue
            best, value, n = search(workload, t)
            best_setups[(workload, t)] = best
            search_lines.append(f"| {workload} | {t} | {describe(best)} | {value:,.0f} | {n} |")
            print(f"  best {workload} t{t}: {describe(best)}", flush=True)

for rep in range(1, reps + 1):
    print(f"=== rep {rep}/{reps}  (load average {os.getloadavg()[0]:.2f}, {time.time() - start:.0f} s elapsed)", flush=True)
    if args.only_sequence:
        run_sequence_rows(rep)
        continue

    # fp32 GEMM rate, Kiln's kernel and numpy's BLAS, 1 and 2 threads.
    for t in thread_counts:
        entries = [("kiln", f"gemm t{t}", {}, [KILN_GEMM, "--threads", str(t), "--size", str(GEMM_SIZE),
                                                  "--min-time", str(GEMM_MIN_TIME)])]
        if numpy_ok:
            entries.append(("numpy", f"gemm t{t}", peer_env(OPENBLAS_NUM_THREADS=str(t)),
                            [PEER_PYTHON, NUMPY_GEMM, "--size", str(GEMM_SIZE), "--min-time", str(GEMM_MIN_TIME)]))
        for fw, _, env, argv in ordered(entries, rep):
            rec = run(f"gemm {fw} t{t}", ("gemm", fw, t), env, argv,
                      parse_gemm("kernels") if fw == "kiln" else last_json, rep)
            say(rec, lambda r: f"{r['gflops_median']:.0f} GFLOP/s")
            if fw == "kiln" and rec["rc"] == 0:
                # The same process measured oneDNN's bf16 matmul: the peak mixed precision is measured against.
                bf16 = dict(rec)
                bf16.update(key=("gemm", "bf16", t), label=f"gemm onednn bf16 t{t}", gflops_median=rec.get("bf16_gflops"))
                records.append(bf16)
                jsonl.write(json.dumps(bf16) + "\n")

    # CNN throughput: training and inference in separate processes, so that each has its own peak RSS.
    for mode, metric in (("train", "train_samples_per_s"), ("infer", "infer_samples_per_s")):
        for i, t in enumerate(thread_counts):
            # Out of the box does not set threads: one run per repetition serves every thread row.
            for fw, setup, env, argv in ordered(cnn_entries(mode, t, with_oob=(i == 0)), rep):
                tt = "default" if setup == "oob" else t
                rec = run(f"cnn {mode} {'kiln' if fw == 'kiln' else 'torch ' + setup} t{tt}",
                          ("cnn", mode, setup, tt), env, argv, last_json, rep)
                say(rec, lambda r: f"{r[metric]:.0f} samples/s (t={r['threads']})")

    if not args.skip_sequence:
        run_sequence_rows(rep)

    if fashion_ok:
        # Start-up: the Fashion-MNIST run stopped after its first training step (1 epoch of 64 images).
        for fw, setup, env, argv in ordered(fit_entries(2, 0, 1, BATCH, BATCH), rep):
            rec = run(label_of(fw, setup, "startup"), ("startup", setup), env, argv,
                      parse_kiln_train if fw == "kiln" else parse_torch_fit, rep)
            say(rec, lambda r: f"{r['process_wall_s']:.3f} s")

    if rep <= fashion_reps:
        for fw, setup, env, argv in ordered(fit_entries(2, rep - 1, **{k: FASHION[k] for k in FASHION}), rep):
            rec = run(label_of(fw, setup, "fashion"), ("fashion", setup), env, argv,
                      parse_kiln_train if fw == "kiln" else parse_torch_fit, rep)
            say(rec, lambda r: f"acc {r['test_acc']:.4f}")
jsonl.close()
elapsed = time.time() - start


# ------------------------------------------------------------------ summary
def values(key, field):
    return [r[field] for r in records if r["key"] == key and r["rc"] == 0 and r.get(field) is not None]


def median(key, field):
    v = values(key, field)
    return statistics.median(v) if v else None


def fmt_num(x, digits):
    if digits == 0:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def cell(key, field, digits=0, scale=1.0):
    v = [x * scale for x in values(key, field)]
    if not v:
        return "—"
    m = statistics.median(v)
    if len(v) == 1:
        return fmt_num(m, digits)
    return f"{fmt_num(m, digits)} [{fmt_num(min(v), digits)}–{fmt_num(max(v), digits)}]"


def ratio(a, b, diff=False):
    if a is None or b is None or (not diff and b == 0):
        return "—"
    return f"{a - b:+.4f}" if diff else f"{a / b:.2f}"


def torch_threads(key):
    v = values(key, "threads")
    return statistics.median(v) if v else None


def row(metric, kkey, bkey, okey, field, digits=0, diff=False):
    k, b, o = median(kkey, field), median(bkey, field), median(okey, field)
    return (f"| {metric} | {cell(kkey, field, digits)} | {cell(bkey, field, digits) if torch_ok else 'skipped'} | "
            f"{cell(okey, field, digits) if torch_ok else 'skipped'} | {ratio(k, b, diff)} | {ratio(k, o, diff)} |")


lines = []
oob_threads = torch_threads(("cnn", "train", "oob", "default"))
oob_desc = f"NCHW, torch's default threads ({oob_threads:g} here)" if oob_threads else "NCHW, torch's default threads"
lines += ["| Measurement | Kiln | PyTorch best | PyTorch out of the box | Kiln/best | Kiln/out of box |",
          "|---|---|---|---|---|---|"]
for t in thread_counts:
    lines.append(row(f"CNN training, samples/s ↑, {t} thread{'s' if t > 1 else ''}", ("cnn", "train", "kiln", t),
                     ("cnn", "train", "best", t), ("cnn", "train", "oob", "default"), "train_samples_per_s"))
for t in thread_counts:
    lines.append(row(f"CNN inference (batch {INFER_BATCH}), samples/s ↑, {t} thread{'s' if t > 1 else ''}",
                     ("cnn", "infer", "kiln", t), ("cnn", "infer", "best", t), ("cnn", "infer", "oob", "default"),
                     "infer_samples_per_s"))
for t in thread_counts:
    lines.append(row(f"Peak RSS of the CNN training process, MB ↓, {t} thread{'s' if t > 1 else ''}",
                     ("cnn", "train", "kiln", t), ("cnn", "train", "best", t), ("cnn", "train", "oob", "default"),
                     "peak_rss_mb"))
sequence_lines = []
if not args.skip_sequence:
    for model, what in (("lstm", "LSTM training (input 32, hidden 128, 64 steps, batch 64, Dense 10, Adam)"),
                        ("transformer", "Transformer block forward+backward (d_model 128, 4 heads, FF 512, "
                                        "64 steps, batch 32)")):
        for t in thread_counts:
            sequence_lines.append(row(f"{what}, sequences/s ↑, {t} thread{'s' if t > 1 else ''}",
                                      ("sequence", model, "kiln", t), ("sequence", model, "best", t),
                                      ("sequence", model, "oob", "default"), "sequences_per_s"))
lines = lines[:2] + sequence_lines if args.only_sequence else lines + sequence_lines
if fashion_reps:
    what = ("10 epochs" if FASHION["epochs"] == 10 and not FASHION["train_samples"]
            else f"{FASHION['epochs']} epoch(s), {FASHION['train_samples'] or 60000} train / "
                 f"{FASHION['test_samples'] or 10000} test images")
    lines.append(row(f"Fashion-MNIST {what}, 2 threads: wall time of the process, s ↓", ("fashion", "kiln"),
                     ("fashion", "best"), ("fashion", "oob"), "process_wall_s", 1))
    lines.append(row("Fashion-MNIST: test accuracy (Kiln − PyTorch in the ratio columns)", ("fashion", "kiln"),
                     ("fashion", "best"), ("fashion", "oob"), "test_acc", 4, diff=True))
    lines.append(row("Fashion-MNIST: peak RSS of the training process, MB ↓", ("fashion", "kiln"), ("fashion", "best"),
                     ("fashion", "oob"), "peak_rss_mb"))
if fashion_ok and not args.only_sequence:
    lines.append(row("Start-up: launch to exit of a run stopped after its first training step, s ↓",
                     ("startup", "kiln"), ("startup", "best"), ("startup", "oob"), "process_wall_s", 3))
    lines.append(row("Start-up run: peak RSS, MB ↓", ("startup", "kiln"), ("startup", "best"), ("startup", "oob"),
                     "peak_rss_mb"))

# GEMM and the fraction of it the CNN reaches.
glines = ["| Threads | Kiln GEMM (oneDNN sgemm), GFLOP/s | numpy GEMM (OpenBLAS), GFLOP/s | "
          "Machine fp32 GEMM rate (the faster) | Kiln training GFLOP/s (% of machine) | "
          "Kiln inference GFLOP/s (%) | PyTorch best training GFLOP/s (%) | PyTorch best inference GFLOP/s (%) | "
          "oneDNN bf16 matmul, GFLOP/s (bf16 peak) |",
          "|---|---|---|---|---|---|---|---|---|"]
for t in thread_counts:
    kg, ng = median(("gemm", "kiln", t), "gflops_median"), median(("gemm", "numpy", t), "gflops_median")
    machine = max([g for g in (kg, ng) if g is not None], default=None)

    def eff(key, field, mflop):
        sps = median(key, field)
        if sps is None:
            return "—"
        g = sps * mflop / 1e3
        return f"{g:.0f} ({100 * g / machine:.0f}%)" if machine else f"{g:.0f}"

    glines.append(
        f"| {t} | {cell(('gemm', 'kiln', t), 'gflops_median')} | {cell(('gemm', 'numpy', t), 'gflops_median')} | "
        f"{f'{machine:.0f}' if machine else '—'} {'(Kiln)' if machine and machine == kg else '(numpy)' if machine else ''} | "
        f"{eff(('cnn', 'train', 'kiln', t), 'train_samples_per_s', TRAIN_MFLOP_PER_SAMPLE)} | "
        f"{eff(('cnn', 'infer', 'kiln', t), 'infer_samples_per_s', INFER_MFLOP_PER_SAMPLE)} | "
        f"{eff(('cnn', 'train', 'best', t), 'train_samples_per_s', TRAIN_MFLOP_PER_SAMPLE)} | "
        f"{eff(('cnn', 'infer', 'best', t), 'infer_samples_per_s', INFER_MFLOP_PER_SAMPLE)} | "
        f"{cell(('gemm', 'bf16', t), 'gflops_median')} |")


# ------------------------------------------------------------------ machine
def cpu_info():
    fields, flags = cpu_fields()
    simd = [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16") if f in flags]
    mem_kb = ram_kib()
    return (f"{fields.get('model name', platform.processor())} (vendor {fields.get('vendor_id', '?')}, family "
            f"{fields.get('cpu family', '?')}, model {fields.get('model', '?')}, stepping {fields.get('stepping', '?')}), "
            f"{os.cpu_count()} logical CPUs ({len(os.sched_getaffinity(0))} usable), "
            f"{'hypervisor' if 'hypervisor' in flags else 'bare metal'}, SIMD: {' '.join(simd)}, "
            f"{mem_kb / 1048576:.0f} GiB RAM, Linux {platform.release()}")


def first(key, field):
    v = values(key, field)
    return v[0] if v else None


openblas_core = first(("gemm", "numpy", thread_counts[0]), "openblas_core")
peer_blas_kernel = next((r.get("blas_kernel") for r in records if r.get("framework") == "torch" and r.get("blas_kernel")),
                        None)
invocation = "bench/run_bench.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
md = []
md += ["# Kiln vs PyTorch: benchmark results" + (" (quick smoke run, not a measurement)" if args.quick else ""), ""]
md += [f"Made by `{invocation.strip()}` on {t_start:%Y-%m-%d %H:%M} UTC in {elapsed / 60:.1f} min; Kiln {KILN_REV}, "
       f"binaries from `{rel(build_dir)}/`. "
       f"PyTorch {torch_detail if torch_ok else 'not run'}, numpy {numpy_detail if numpy_ok else 'not run'} (Debian, `{PEER_PYTHON}`).", ""]
md += [f"**CPU**: {cpu_info()}.", ""]
md += ["## Method", "",
       f"- Every figure is the **median [min–max] over {reps} repetition{'s' if reps > 1 else ''}** "
       f"({fashion_reps} for Fashion-MNIST), each run a fresh process. Within a repetition the Kiln and PyTorch runs of "
       "a measurement follow each other (Kiln first in odd repetitions, last in even ones), so slow drifts of the machine "
       "hit both. The ratio columns divide the medians, Kiln/PyTorch: ↑ rows (higher is better) favour Kiln above 1, "
       "↓ rows (lower is better) below 1.",
       ("- **PyTorch best**: for each workload and thread count, the fastest setup of a search (coordinate descent, "
        f"one {SEARCH_WINDOW:g}-second trial per setup, every trial in the raw records) over torch threads "
        "(`torch.set_num_threads`), OpenBLAS threads (`OPENBLAS_NUM_THREADS`), allocator (glibc, tcmalloc "
        "`LD_PRELOAD`ed, jemalloc) and memory format (NCHW or `torch.channels_last`), and for inference eager "
        "`torch.inference_mode()` or a frozen TorchScript module; the table under Results names the winners."
        if not args.no_search else
        "- **PyTorch best** (`--no-search`): `torch.channels_last` (NHWC) model and inputs, `torch.set_num_threads(N)`, "
        "`OPENBLAS_NUM_THREADS=1`, tcmalloc preloaded; LSTM and Transformer: 1 torch thread, `OPENBLAS_NUM_THREADS=N`, "
        "tcmalloc.") +
       f" **PyTorch out of the box**: {oob_desc}, glibc malloc; one run per repetition serves both thread rows. "
       "Every PyTorch and numpy process runs with `OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` unset (`env -u`), so that "
       f"OpenBLAS picks its kernel for this CPU as it does for its users: {peer_blas_kernel or 'unknown'} here "
       "(threadpoolctl, in each record's `blas_kernel`). The uint8 Fashion-MNIST images are converted to float32 "
       "batch by batch, as Kiln does.",
       f"- **Timed windows** last at least {WINDOW:g} s each (the step counts below are minimums; each record has "
       "its `steps` and `timed_s`).",
       "- **CNN** (the article's, Keras defaults: Glorot-uniform kernels, zero biases, Adam 1e-3 β .9/.999 ε 1e-7, "
       f"softmax cross-entropy with integer labels), 32×32×3 random inputs: a pool of 8 batches of {BATCH}, "
       f"{CNN['warmup']} warm-up steps, then {CNN['steps']} timed training steps; inference: 5 warm-up then "
       f"{CNN['infer_steps']} timed forward passes at batch {INFER_BATCH} (`torch.inference_mode`, Kiln `NoGradGuard`). "
       "Training and inference run in separate processes, so the training process's peak RSS is training's alone.",
       "- **Peak RSS** is each process's own maximum resident set (`ru_maxrss` from `wait4`, the figure "
       "`/usr/bin/time -v` prints), which includes the framework's code and, for PyTorch, the Python interpreter and "
       "`import torch` (about 230 MB by itself).",
       f"- **Fashion-MNIST** (`{FASHION_DIR}`, 28×28×1, same layers): {FASHION['epochs']} epoch(s), batch {BATCH}, "
       "shuffled, inputs / 255, test accuracy after every epoch and a final evaluation (batches of 64), 2 threads, "
       "seed = repetition − 1 on both sides (the frameworks' random streams differ, so accuracies are comparable "
       "only as a distribution). Wall time is the whole process: start, data loading, training, evaluation, exit.",
       "- **Start-up**: wall time from launch to exit of the same Fashion-MNIST command cut to one epoch of 64 "
       "training images and 64 test images (`--epochs 1 --train-samples 64 --test-samples 64`), i.e. load the whole "
       "dataset, build the model, take **one training step**, evaluate 64 images, exit. For PyTorch this includes the "
       "interpreter and `import torch`; the peer also records, in the raw records, the time from process creation to "
       "the end of its first step (`first_step_since_launch_s`).",
       f"- **GEMM**: {GEMM_SIZE}×{GEMM_SIZE}×{GEMM_SIZE} float32, GFLOP/s = 2·N³ / time of the median call (two untimed "
       "calls first). Kiln: `kiln::kernels::cpu::gemm<float>` (oneDNN's JIT sgemm, AVX-512 here). numpy: `numpy.matmul` "
       f"on Debian's OpenBLAS with `OPENBLAS_NUM_THREADS=N`; OpenBLAS kernel: {openblas_core or 'unknown'}. "
       "The machine's fp32 GEMM rate is the faster of the two at each thread count.",
       f"- **Achieved GFLOP/s** = samples/s × {TRAIN_MFLOP_PER_SAMPLE} MFLOP per training sample (exact conv+dense "
       f"count; conv1 needs no input gradient) or × {INFER_MFLOP_PER_SAMPLE:.2f} MFLOP per inference sample.",
       f"- **LSTM** (`kiln_bench_sequence --model lstm`, `peers/torch_lstm.py`): LSTM(32 → 128) over 64 steps, the "
       "last output → Dense(10), softmax cross-entropy, Adam 1e-3 ε 1e-7; a pool of 8 random batches of 64, "
       f"{SEQUENCE['warmup']} warm-up then {SEQUENCE['steps']} timed training steps. **Transformer block** "
       "(`--model transformer`, `peers/torch_transformer.py`): one post-norm encoder block (d_model 128, 4 heads, "
       "feed-forward 512, ReLU, no dropout; PyTorch's `nn.TransformerEncoderLayer` in training mode) on random "
       "[32, 64, 128] batches: forward and backward of mean(block(x) · r), weight gradients, no optimizer. "
       "Out of the box: torch's defaults.",
       "- Benchmarks are not tests: the test suite asserts no timing.", ""]
busy = [r for r in records if r["loadavg1"] > 2.5]
if busy:
    notes.append(f"{len(busy)} of {len(records)} runs ended with a 1-minute load average above 2.5 (highest "
                 f"{max(r['loadavg1'] for r in busy):.2f}; the benchmarks themselves add up to 2): another process may "
                 "have competed for the CPUs. Each run's load average is in the raw records (`loadavg1`).")
if notes:
    md += ["## Notes from this run", ""] + [f"- {n}" for n in notes] + [""]
md += ["## Results", ""] + lines + [""]
if search_lines:
    md += ["PyTorch's best setups found by the search (samples or sequences per second of the winning trial):", "",
           "| Workload | Threads | Best setup | Trial rate | Setups tried |", "|---|---|---|---|---|"] + search_lines + [""]
if not args.only_sequence:
    md += ["## fp32 GEMM and the fraction of it the CNN reaches", ""] + glines + [""]
md += ["## Exact commands", "",
       "Run from the repository root, each as its own process (the first repetition's; Fashion-MNIST seeds are "
       "repetition − 1). Environment as found plus the variables shown.", "", "```"]
for label, cmd in commands.items():
    if label.startswith("search "):
        continue
    md.append(f"# {label}")
    md.append(cmd.replace(ROOT + "/", ""))
md += ["```", "", f"Raw records (one JSON line per process): `{rel(out_jsonl)}`.", ""]
report = "\n".join(md)
with open(out_md + ".partial", "w") as f:
    f.write(report)
os.replace(out_jsonl + ".partial", out_jsonl)
os.replace(out_md + ".partial", out_md)
print()
print("\n".join(["**CPU**: " + cpu_info(), ""] + lines + [""] + ([] if args.only_sequence else glines)))
print(f"\nReport: {rel(out_md)}; raw records: {rel(out_jsonl)} ({elapsed / 60:.1f} min)")
failed = [r for r in records if r["rc"] != 0]
if failed:
    print(f"{len(failed)} run(s) failed; see the FAILED lines above.")
    sys.exit(1)
