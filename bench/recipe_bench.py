#!/usr/bin/python3
"""Issue 17's time-to-accuracy measurements, recorded in bench/RESULTS-recipes.jsonl and drawn
in docs/images/recipes.png: Kiln's recipes (build/examples/time_to_accuracy fast|best) against
their PyTorch peer (bench/peers/torch_recipe.py), same network, schedule and augmentation.

  /usr/bin/python3 bench/recipe_bench.py [--build build] [--recipes fast,best] [--seeds 1,2,3,4,5]
      [--threads 2] [--dataset fashion_mnist|cifar10] [--data DIR] [--no-search] [--search-samples 6400]
      [--peer-curves] [--record FILE] [--plot FILE] [--allow-dirty] [FIELD=VALUE ...]
  /usr/bin/python3 bench/recipe_bench.py --quick       # smoke test of this script: 1 epoch, tiny widths
  /usr/bin/python3 bench/recipe_bench.py --plot-only   # redraw the plot from the record's latest run

For each recipe:
 1. The recipe's fields come from Kiln itself: its runner prints the recipe line before it loads
    any data (`time_to_accuracy NAME FIELD=VALUE... --dataset none` prints it, then stops), and
    the peer gets those fields as JSON plus the same FIELD=VALUE arguments. The peer prints the
    line back; the record says whether the two lines are identical.
 2. PyTorch's best setup (the fair-peer rules of bench/run_bench.py): coordinate descent over
    torch threads x OpenBLAS threads x allocator x memory format, one short trial each (one
    epoch on --search-samples images, training images/s), every trial recorded; --no-search
    takes the usual best guess (N torch threads, 1 OpenBLAS thread, tcmalloc, channels-last).
 3. For each seed, Kiln and the peer back to back, Kiln first for odd-numbered seeds and last
    for even ones, so that slow drifts of a shared machine hit both. Every run is a fresh
    process timed from outside (fork to exit: the whole-process wall time the issue's limits
    are about) with its peak RSS. The peer's command unsets OPENBLAS_CORETYPE and
    OPENBLAS_L2_SIZE (`env -u`; they hold OpenBLAS to an older kernel); Kiln's environment is
    left as it is.
 4. --peer-curves adds one untimed peer run (the first seed) with --eval-each-epoch: its test
    accuracy after every epoch against its own clock (evaluations left out), a curve in the plot.
    Kiln's runner scores the test set only at the end, so Kiln is drawn as points.

One record per recipe: every run, the means, the issue's targets (Fashion-MNIST: fast >= 0.930
mean test accuracy over the seeds within 60 s a run, best >= 0.940 within 300 s) and whether
each framework met them, the load average at the start and end, the git commit and whether the
tree was clean, the machine. A recorded run must come from a clean tree (--allow-dirty marks the
record instead). The plot is drawn with gnuplot from this run's records only.
"""
import argparse
import datetime
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench_common import is_dirty, kiln_rev, machine  # noqa: E402
PEER_PYTHON = "/usr/bin/python3"
PEER = "bench/peers/torch_recipe.py"
TCMALLOC = "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
JEMALLOC = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
ALLOCATORS = {"glibc": None, "tcmalloc": TCMALLOC, "jemalloc": JEMALLOC}
# Issue 17's targets: (mean test accuracy over the seeds, seconds of wall time a run).
TARGETS = {("fashion_mnist", "fast"): (0.930, 60.0), ("fashion_mnist", "best"): (0.940, 300.0)}
# The smoke test's changes: one epoch of a tiny network, enough to exercise every path.
QUICK_CHANGES = ["epochs=1", "widths=8,16"]

RECIPE_LINE = re.compile(
    r"^recipe (?P<name>\S+): widths (?P<widths>[0-9,]+) \(\+(?P<extra_convs>\d+) convs a stage\), "
    r"(?P<epochs>\d+) epochs, batch (?P<batch_size>\d+), AdamW lr (?P<learning_rate>\S+) wd (?P<weight_decay>\S+) "
    r"warmup (?P<warmup_epochs>\S+) ep, ema (?P<ema_momentum>\S+), "
    r"translate (?P<translate_pixels>\S+) px, flip (?P<flip>[01]), tta flip (?P<test_time_flip>[01]), "
    r"hidden (?P<hidden>\d+), dropout (?P<dropout>\S+), (?P<precision>\S+)$", re.M)
FINAL_LINE = re.compile(r"^Test accuracy: ([0-9.]+) \(without test-time augmentation ([0-9.]+)\); "
                        r"training ([0-9.]+) s, whole run ([0-9.]+) s$", re.M)


def recipe_fields(line):
    """recipes::describe's line -> the fields as torch_recipe.py's --recipe-json takes them."""
    m = RECIPE_LINE.search(line)
    if not m:
        raise ValueError(f"not a recipe line: {line!r}")
    r = m.groupdict()
    return dict(widths=[int(w) for w in r["widths"].split(",")], extra_convs=int(r["extra_convs"]),
                epochs=int(r["epochs"]), batch_size=int(r["batch_size"]), learning_rate=float(r["learning_rate"]),
                warmup_epochs=float(r["warmup_epochs"]), weight_decay=float(r["weight_decay"]),
                ema_momentum=float(r["ema_momentum"]),
                translate_pixels=float(r["translate_pixels"]), flip=r["flip"] == "1",
                test_time_flip=r["test_time_flip"] == "1", hidden=int(r["hidden"]), dropout=float(r["dropout"]),
                precision=r["precision"])


def kiln_recipe(a, name):
    """Kiln's recipe line for `name` with the changes: the runner prints it, then refuses the dataset."""
    out = subprocess.run([a.kiln, name, *a.changes, "--dataset", "none"], capture_output=True, text=True)
    m = RECIPE_LINE.search(out.stdout)
    if not m:
        sys.exit(f"recipe_bench.py: {a.kiln} printed no recipe line for {name}:\n{out.stdout}{out.stderr}")
    return m.group(0)


def command_text(argv):
    return " ".join(shlex.quote(x) for x in argv)


def run(argv):
    """A fresh process from the repository root: (rc, stdout + stderr, wall seconds fork to exit, peak RSS MB)."""
    with tempfile.TemporaryFile("w+") as out:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        return os.waitstatus_to_exitcode(status), out.read(), wall, usage.ru_maxrss / 1024


def data_args(a):
    return ["--dataset", a.dataset] + (["--data", a.data] if a.data else [])


def kiln_argv(a, name, seed):
    return [a.kiln, name, "--seed", str(seed), "--threads", str(a.threads), "--verbose", "2"] + data_args(a) + a.changes


def peer_argv(a, name, fields, setup, seed, extra=(), changes=True):
    # The peer's own command: OpenBLAS's CPU detection as its users get it, its setup's environment.
    env = ["env", "-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE", f"OPENBLAS_NUM_THREADS={setup['blas_threads']}"]
    if ALLOCATORS[setup["allocator"]]:
        env.append(f"LD_PRELOAD={ALLOCATORS[setup['allocator']]}")
    return env + [PEER_PYTHON, PEER, name, "--recipe-json", json.dumps(fields, separators=(",", ":")),
                  "--seed", str(seed), "--threads", str(setup["torch_threads"]), "--layout", setup["layout"],
                  *data_args(a), *extra, *(a.changes if changes else [])]


def fail(what, argv, output):
    sys.exit(f"recipe_bench.py: {what} failed:\n  {command_text(argv)}\n" +
             "\n".join("  | " + line for line in output.splitlines()[-15:]))


def kiln_run(a, name, seed):
    argv = kiln_argv(a, name, seed)
    rc, out, wall, rss = run(argv)
    m = FINAL_LINE.search(out)
    if rc != 0 or not m:
        fail("Kiln", argv, out)
    epochs = []
    for line in out.splitlines():  # the progress bar's last line of each epoch (--verbose 2)
        if re.match(r"^\s*\d+/\d+ - ", line) and "loss: " in line:
            epochs.append({k: float(v) for k, v in re.findall(r"\b(loss|accuracy): ([0-9.]+)", line)})
    return {"seed": seed, "test_accuracy": float(m.group(1)), "plain_test_accuracy": float(m.group(2)),
            "train_s": float(m.group(3)), "reported_whole_run_s": float(m.group(4)),
            "process_wall_s": round(wall, 2), "peak_rss_mb": round(rss, 1), "epochs": epochs,
            "recipe_line": RECIPE_LINE.search(out).group(0)}


def peer_run(a, name, fields, setup, seed, extra=(), changes=True):
    argv = peer_argv(a, name, fields, setup, seed, extra, changes)
    rc, out, wall, rss = run(argv)
    m = FINAL_LINE.search(out)
    summary = [line for line in out.splitlines() if line.startswith("{")]
    if rc != 0 or not m or not summary:
        fail("the PyTorch peer", argv, out)
    s = json.loads(summary[-1])
    env = {k: s.get(k) for k in ("allocator", "blas", "blas_version", "blas_kernel", "blas_threads",
                                 "openblas_coretype", "openblas_l2_size", "torch", "threads", "layout")}
    return {"seed": seed, "test_accuracy": s["test_accuracy"], "plain_test_accuracy": s["plain_test_accuracy"],
            "train_s": s["train_s"], "reported_whole_run_s": s["whole_run_s"], "process_wall_s": round(wall, 2),
            "peak_rss_mb": round(rss, 1), "epochs": s["epochs"], "train_samples": s["train_samples"],
            "recipe_line": RECIPE_LINE.search(out).group(0), "environment": env}, argv


# ------------------------------------------------------------------ PyTorch's best setup
def default_setup(a):
    return dict(torch_threads=a.threads, blas_threads=1, allocator="tcmalloc" if os.path.exists(TCMALLOC) else "glibc",
                layout="nhwc")


def describe_setup(s):
    return (f"{s['torch_threads']} torch thread(s), {s['blas_threads']} OpenBLAS thread(s), {s['allocator']}, "
            f"{'channels-last' if s['layout'] == 'nhwc' else 'NCHW'}")


def search(a, name, fields):
    """Coordinate descent from the usual best guess, one trial a setup: (best setup, trials)."""
    dims = [("torch_threads", sorted({1, a.threads})), ("blas_threads", sorted({1, a.threads})),
            ("allocator", [k for k, v in ALLOCATORS.items() if v is None or os.path.exists(v)]),
            ("layout", ["nchw", "nhwc"])]
    trial_fields = dict(fields, epochs=1)
    trials = {}

    def trial(setup):
        key = tuple(sorted(setup.items()))
        if key not in trials:
            # The changes are in the fields already; left off here so that epochs=1 holds.
            result, argv = peer_run(a, name, trial_fields, setup, a.seeds[0],
                                    ["--train-samples", str(a.search_samples), "--test-samples", "500"], changes=False)
            rate = result["train_samples"] / result["train_s"] if result["train_s"] > 0 else 0.0
            trials[key] = {"setup": dict(setup), "train_images_per_s": round(rate, 1),
                           "process_wall_s": result["process_wall_s"], "blas_kernel": result["environment"]["blas_kernel"]}
            print(f"  search {name:<5} {rate:9.1f} images/s  {describe_setup(setup)}", flush=True)
        return trials[key]["train_images_per_s"]

    best = default_setup(a)
    best_rate = trial(best)
    for dim, choices in dims:
        for choice in choices:
            candidate = dict(best, **{dim: choice})
            rate = trial(candidate)
            if rate > best_rate:
                best, best_rate = candidate, rate
    return best, list(trials.values())


# ------------------------------------------------------------------ measuring
def mean(values):
    return sum(values) / len(values)


def summary(runs, target):
    accs, walls = [r["test_accuracy"] for r in runs], [r["process_wall_s"] for r in runs]
    s = {"mean_test_accuracy": round(mean(accs), 4), "min_test_accuracy": min(accs),
         "mean_plain_test_accuracy": round(mean([r["plain_test_accuracy"] for r in runs]), 4),
         "mean_process_wall_s": round(mean(walls), 2), "max_process_wall_s": max(walls),
         "mean_train_s": round(mean([r["train_s"] for r in runs]), 2),
         "max_peak_rss_mb": max(r["peak_rss_mb"] for r in runs)}
    if target:
        s["meets_target"] = mean(accs) >= target[0] and max(walls) <= target[1]  # unrounded
    return s


def bench_recipe(a, name):
    kiln_line = kiln_recipe(a, name)
    fields = recipe_fields(kiln_line)
    print(f"{kiln_line}\n  PyTorch peer: {PEER}", flush=True)
    if a.no_search:
        setup, trials = default_setup(a), []
    else:
        setup, trials = search(a, name, fields)
    print(f"  PyTorch's setup: {describe_setup(setup)}", flush=True)
    target = TARGETS.get((a.dataset, name)) if not a.quick else None
    load = [os.getloadavg()[0]]
    kiln_runs, peer_runs, peer_cmd = [], [], None
    for i, seed in enumerate(a.seeds):
        for which in (("kiln", "torch") if i % 2 == 0 else ("torch", "kiln")):
            if which == "kiln":
                r = kiln_run(a, name, seed)
                kiln_runs.append(r)
            else:
                r, argv = peer_run(a, name, fields, setup, seed)
                peer_cmd = peer_cmd or command_text(argv)
                peer_runs.append(r)
            print(f"  {name:<5} seed {seed} {which:<5} test accuracy {r['test_accuracy']:.4f} "
                  f"(without tta {r['plain_test_accuracy']:.4f}), {r['process_wall_s']:.1f} s wall, "
                  f"{r['peak_rss_mb']:.0f} MB", flush=True)
    load.append(os.getloadavg()[0])
    entry = {"bench": "recipe_time_to_accuracy", "recipe": name, "dataset": a.dataset, "threads": a.threads,
             "seeds": a.seeds, "changes": a.changes, "kiln_recipe_line": kiln_line, "fields": fields,
             "recipe_lines_match": all(r["recipe_line"] == kiln_line for r in kiln_runs + peer_runs),
             "target": {"mean_test_accuracy": f">= {target[0]}", "process_wall_s": f"<= {target[1]:g} every run"}
             if target else None,
             "kiln": {**summary(kiln_runs, target), "runs": kiln_runs},
             "torch": {**summary(peer_runs, target), "setup": setup, "setup_text": describe_setup(setup),
                       "environment": peer_runs[0]["environment"], "runs": peer_runs},
             "setup_search": {"samples": a.search_samples, "trials": trials} if trials else None,
             "loadavg1_start_end": [round(x, 2) for x in load],
             "kiln_command": command_text(kiln_argv(a, name, a.seeds[0])), "peer_command": peer_cmd}
    if a.peer_curves:
        curve, _ = peer_run(a, name, fields, setup, a.seeds[0], ["--eval-each-epoch"])
        entry["torch_curve"] = {"seed": a.seeds[0], "note": "untimed run; elapsed_s leaves the evaluations out",
                                "epochs": curve["epochs"]}
    return entry


def record(a, entry):
    entry = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "run_id": a.run_id, "command": " ".join(["/usr/bin/python3", "bench/recipe_bench.py"] + sys.argv[1:]),
             "kiln_commit": a.rev,
             "clean_tree": not a.dirty, "machine": a.machine, **entry}
    short = {k: v for k, v in entry.items() if k not in ("kiln", "torch", "setup_search", "torch_curve", "machine")}
    for fw in ("kiln", "torch"):  # the summaries, without the runs
        short[fw] = {k: v for k, v in entry[fw].items() if k not in ("runs", "environment")}
    print(json.dumps(short), flush=True)
    if a.record:
        with open(a.record, "a") as f:
            f.write(json.dumps(entry) + "\n")
    return entry


# ------------------------------------------------------------------ the plot
def plot(entries, path):
    """Test accuracy against whole-process wall time: a point a run, the peer's curve when recorded."""
    with tempfile.TemporaryDirectory() as tmp:
        # Colour by framework, point shape by recipe.
        series, colors, shapes = [], {"kiln": "#1f77b4", "torch": "#d62728"}, {"kiln": [7, 9, 11], "torch": [5, 13, 15]}
        for n, e in enumerate(entries):
            for fw, label in (("kiln", "Kiln"), ("torch", "PyTorch")):
                data = os.path.join(tmp, f"{n}-{fw}.dat")
                with open(data, "w") as f:
                    for r in e[fw]["runs"]:
                        f.write(f"{r['process_wall_s']} {r['test_accuracy']}\n")
                series.append(f"'{data}' using 1:2 with points pt {shapes[fw][n % 3]} ps 1.4 lc rgb '{colors[fw]}' "
                              f"title '{label} {e['recipe']}'")
            curve = e.get("torch_curve")
            if curve and any("test_accuracy" in ep for ep in curve["epochs"]):
                data = os.path.join(tmp, f"{n}-curve.dat")
                with open(data, "w") as f:
                    for ep in curve["epochs"]:
                        if "test_accuracy" in ep:
                            f.write(f"{ep['elapsed_s']} {ep['test_accuracy']}\n")
                series.append(f"'{data}' using 1:2 with linespoints pt 1 dt {2 + n} lc rgb '#d62728' "
                              f"title 'PyTorch {e['recipe']} per epoch (seed {curve['seed']})'")
        arrows = []
        for e in entries:
            target = TARGETS.get((e["dataset"], e["recipe"])) if e.get("target") else None
            if target:  # the limits, as dashed lines
                arrows.append(f"set arrow from graph 0, first {target[0]} to graph 1, first {target[0]} nohead dt 3 lc rgb 'gray40'")
                arrows.append(f"set arrow from {target[1]}, graph 0 to {target[1]}, graph 1 nohead dt 3 lc rgb 'gray40'")
        e0 = entries[0]
        title = (f"{e0['dataset']}: test accuracy (with test-time flips) against wall time\\n"
                 f"{e0['threads']} thread(s), Kiln {e0['kiln_commit']}, {e0['date']}")
        script = "\n".join([
            "set terminal pngcairo size 960,700 noenhanced font 'Sans,11' linewidth 1.5",
            f"set output '{path}'",
            f'set title "{title}"',  # in double quotes gnuplot reads the backslash-n as a new line
            "set xlabel 'wall time of the whole process, s (log scale; the per-epoch curves leave their evaluations out)'",
            "set ylabel 'test accuracy'",
            "set logscale x", "set grid", "set key outside below horizontal maxcols 3", "set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05",
            *arrows,
            "plot " + ", \\\n     ".join(series), ""])
        with open(os.path.join(tmp, "recipes.gp"), "w") as f:
            f.write(script)
        out = subprocess.run(["gnuplot", os.path.join(tmp, "recipes.gp")], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit("recipe_bench.py: gnuplot failed:\n" + out.stderr + script)
    print(f"plot: {os.path.relpath(path, ROOT) if path.startswith(ROOT) else path}", flush=True)


def latest_run(record_path):
    with open(record_path) as f:
        entries = [json.loads(line) for line in f if line.strip()]
    entries = [e for e in entries if e.get("bench") == "recipe_time_to_accuracy"]
    if not entries:
        sys.exit(f"recipe_bench.py: {record_path} holds no recipe records")
    return [e for e in entries if e["run_id"] == entries[-1]["run_id"]]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("changes", nargs="*", metavar="FIELD=VALUE", help="recipe changes, given to Kiln and the peer alike")
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--recipes", default="fast,best")
    p.add_argument("--seeds", default="1,2,3,4,5")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--dataset", choices=["fashion_mnist", "cifar10"], default="fashion_mnist")
    p.add_argument("--data", help="the dataset's folder (Kiln's --data; default: where Kiln finds it)")
    p.add_argument("--no-search", action="store_true", help="PyTorch's usual best guess instead of the search")
    p.add_argument("--search-samples", type=int, default=6400, help="training images of a search trial's epoch")
    p.add_argument("--peer-curves", action="store_true", help="one untimed peer run a recipe scored after every epoch")
    p.add_argument("--record", help="where records go ('' to print only; default bench/RESULTS-recipes.jsonl, "
                                    "--quick: print only)")
    p.add_argument("--plot", help="the PNG (default docs/images/recipes.png; --quick: /tmp/kiln-recipes-quick.png)")
    p.add_argument("--plot-only", action="store_true", help="redraw the plot from the record's latest run")
    p.add_argument("--allow-dirty", action="store_true")
    p.add_argument("--quick", action="store_true", help="smoke test: seed 1, one thread, " + " ".join(QUICK_CHANGES))
    a = p.parse_intermixed_args()  # FIELD=VALUE may come before or after the options
    if a.record is None:
        a.record = "" if a.quick else os.path.join(HERE, "RESULTS-recipes.jsonl")
    a.plot = os.path.abspath(a.plot or ("/tmp/kiln-recipes-quick.png" if a.quick else
                                        os.path.join(ROOT, "docs", "images", "recipes.png")))
    if a.plot_only:
        plot(latest_run(a.record or os.path.join(HERE, "RESULTS-recipes.jsonl")), a.plot)
        return
    if a.quick:
        a.seeds, a.threads, a.search_samples = "1", 1, 1000
        a.changes = QUICK_CHANGES + a.changes
    for c in a.changes:
        if "=" not in c:
            sys.exit(f"recipe_bench.py: {c!r} is not FIELD=VALUE")
    a.kiln = os.path.join(os.path.abspath(a.build), "examples", "time_to_accuracy")
    if not os.access(a.kiln, os.X_OK):
        sys.exit(f"recipe_bench.py: {a.kiln} is missing (build the examples first)")
    a.seeds = [int(s) for s in a.seeds.split(",")]
    a.rev = kiln_rev()
    a.dirty = is_dirty(a.rev)
    if a.dirty and a.record and not a.allow_dirty:
        sys.exit("recipe_bench.py: the tree has uncommitted changes; a recorded run must come from a commit "
                 "(commit first, or --allow-dirty to mark the record)")
    a.machine = machine()
    a.run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    if os.getloadavg()[0] > 0.5:
        print(f"WARNING: the 1-minute load average is {os.getloadavg()[0]:.2f}: other processes share the CPUs "
              "and the wall times are unreliable", flush=True)
    entries = [record(a, bench_recipe(a, name)) for name in a.recipes.split(",")]
    plot(entries, a.plot)


if __name__ == "__main__":
    main()
