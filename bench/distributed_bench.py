#!/usr/bin/python3
"""Issue 15's data-parallel benchmark (docs/distributed.md): the article's CNN on Fashion-MNIST-sized
data (28x28x1, 10 classes, global batch 64), alternating in each repetition
  Kiln 1 rank x 1 thread, Kiln 2 ranks x 1 thread (mpirun), two independent 1-rank processes
  (one per CPU, half the batch each, no communication: the ceiling for 2 ranks on this machine),
  and PyTorch DistributedDataParallel with gloo, 2 processes x 1 thread (its best memory format
  of the two, each tried every time),
and records min/median/max samples/s of each, the speed-ups, Kiln's communication time per step
and allreduce bandwidth, to bench/RESULTS-distributed.jsonl. Needs an idle machine and a build
with -DKILN_BUILD_BENCH=ON (target kiln_bench_distributed).

  /usr/bin/python3 bench/distributed_bench.py BUILD_DIR [--reps 3] [--steps 400]
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
from bench_common import is_dirty, kiln_rev  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("build")
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--steps", type=int, default=400, help="timed steps per run (400 x 64 samples: ~10 s on 1 rank)")
ap.add_argument("--record", default=os.path.join(HERE, "RESULTS-distributed.jsonl"))
args = ap.parse_args()
KILN_REV = kiln_rev()  # at the start: the tree measured, whatever is committed meanwhile

MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
PEER_ENV = {k: v for k, v in MPI_ENV.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}


def last_json(stdout):
    return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


def json_line(cmd, env):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(" ".join(cmd) + "\n" + out.stdout + out.stderr)
    return last_json(out.stdout)


def kiln(ranks):
    return json_line(["mpirun", "-np", str(ranks), "--bind-to", "core",
                      os.path.join(args.build, "bench", "kiln_bench_distributed"), "--batch", "64",
                      "--steps", str(args.steps), "--threads", "1"], MPI_ENV)


def independent():
    """The ceiling for 2 ranks here: two single-rank processes, one per CPU, each on half the global batch,
    with no communication at all; their samples/s added."""
    cmd = [os.path.join(args.build, "bench", "kiln_bench_distributed"), "--batch", "32",
           "--steps", str(2 * args.steps), "--threads", "1"]
    procs = [subprocess.Popen(["taskset", "-c", str(cpu)] + cmd, env=MPI_ENV, stdout=subprocess.PIPE, text=True)
             for cpu in sorted(os.sched_getaffinity(0))[:2]]
    total = 0.0
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            sys.exit("independent run failed:\n" + out)
        total += last_json(out)["samples_per_s"]
    return {"samples_per_s": total}


def peer(channels_last):
    return json_line(["/usr/bin/python3", os.path.join(HERE, "peers", "torch_ddp_cnn.py"), "--procs", "2",
                      "--threads", "1", "--batch", "64", "--steps", str(args.steps)] +
                     (["--channels-last"] if channels_last else []), PEER_ENV)


def spread(values, digits=1):
    return {"min": round(min(values), digits), "median": round(statistics.median(values), digits),
            "max": round(max(values), digits)}


runs = {"kiln_1": [], "kiln_2": [], "independent_2": [], "ddp": []}
peers = []
for rep in range(args.reps):
    runs["kiln_1"].append(kiln(1))
    runs["kiln_2"].append(kiln(2))
    runs["independent_2"].append(independent())
    tries = [peer(False), peer(True)]
    peers.extend(tries)
    runs["ddp"].append(max(tries, key=lambda r: r["samples_per_s"]))
    print(f"rep {rep + 1}: " + ", ".join(f"{k} {v[-1]['samples_per_s']:.0f}/s" for k, v in runs.items()), flush=True)

rate = {k: [r["samples_per_s"] for r in v] for k, v in runs.items()}
speedup = [b / a for a, b in zip(rate["kiln_1"], rate["kiln_2"])]
vs_ddp = [b / a for a, b in zip(rate["ddp"], rate["kiln_2"])]
ceiling = [b / a for a, b in zip(rate["kiln_1"], rate["independent_2"])]
two = runs["kiln_2"]
entry = {
    "bench": "distributed_cnn", "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "command": "/usr/bin/python3 bench/distributed_bench.py " + " ".join(sys.argv[1:]),
    "commit": KILN_REV.split()[0], "dirty": is_dirty(KILN_REV),
    "load_1min_at_end": round(os.getloadavg()[0], 2), "reps": args.reps, "steps": args.steps, "global_batch": 64,
    "samples_per_s": {k: spread(v) for k, v in rate.items()},
    "speedup_2_ranks_over_1": spread(speedup, 3),
    "independent_2_over_1": spread(ceiling, 3),
    "kiln_2_ranks_over_ddp": spread(vs_ddp, 3),
    "kiln_comm_ms_per_step": round(statistics.median(r["comm_ms_per_step"] for r in two), 3),
    "kiln_gradient_mb_per_step": two[0]["gradient_mb_per_step"],
    "allreduce_25mb_ms": round(statistics.median(r["allreduce_25mb_ms"] for r in two), 2),
    "allreduce_bus_gb_per_s": round(statistics.median(r["allreduce_bus_gb_per_s"] for r in two), 3),
    "ddp_channels_last_chosen": [r["channels_last"] for r in runs["ddp"]],
    "peer": {k: peers[0].get(k) for k in ("torch", "allocator", "blas", "blas_kernel", "blas_version",
                                         "openblas_coretype", "openblas_l2_size")},
    "targets": {"speedup_2_ranks_over_1": ">= 1.8", "kiln_2_ranks_over_ddp": ">= 1.5"},
}
print(json.dumps(entry), flush=True)
with open(args.record, "a") as f:
    f.write(json.dumps(entry) + "\n")
