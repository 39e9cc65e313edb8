#!/usr/bin/python3
"""PyTorch peer of `kiln_bench_sequence --model transformer`: one Transformer
block, forward and backward.

nn.TransformerEncoderLayer(d_model 128, 4 heads, feed-forward 512, ReLU,
dropout 0, batch_first, post-norm), in training mode (no fused inference
path), on a pool of 8 random batches [--batch 32, --seq 64, 128]: --warmup
untimed steps, then --steps timed steps of forward and backward of
mean(block(x) * r) for a fixed random r, gradients for every weight (set to
None before each step; no optimizer). Prints one JSON line.

--threads N calls torch.set_num_threads(N) (0: torch's default); OpenBLAS
threads and the allocator come from the environment (OPENBLAS_NUM_THREADS,
LD_PRELOAD), as bench/run_bench.py's search sets them. --min-time S extends
the timed window to at least S seconds.

Run with Debian's python (/usr/bin/python3, package python3-torch).
"""
import argparse
import json
import resource

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads(N); 0 keeps torch's default")
ap.add_argument("--steps", type=int, default=100)
ap.add_argument("--warmup", type=int, default=10)
ap.add_argument("--min-time", type=float, default=0.0, help="timed window of at least this many seconds")
ap.add_argument("--batch", type=int, default=32)
ap.add_argument("--seq", type=int, default=64)
args = ap.parse_args()

import torch  # noqa: E402
from peer_env import environment, timed_window  # noqa: E402
import torch.nn as nn  # noqa: E402

if args.threads > 0:
    torch.set_num_threads(args.threads)
torch.manual_seed(0)



D_MODEL = 128
block = nn.TransformerEncoderLayer(D_MODEL, 4, 512, dropout=0.0, batch_first=True)
block.train()
params = list(block.parameters())
gen = torch.Generator().manual_seed(1)
pool = [torch.randn(args.batch, args.seq, D_MODEL, generator=gen) for _ in range(8)]
r = torch.randn(args.batch, args.seq, D_MODEL, generator=gen)


def step(x):
    for p in params:
        p.grad = None
    loss = (block(x) * r).mean()
    loss.backward()
    return loss


for i in range(args.warmup):
    step(pool[i % 8])
steps, dt = timed_window(lambda i: step(pool[i % 8]), args.steps, args.min_time)
print(json.dumps(dict(framework="torch", model="transformer", torch=torch.__version__, threads=torch.get_num_threads(),
                      **environment(), batch=args.batch, seq=args.seq, steps=steps, warmup=args.warmup,
                      timed_s=round(dt, 3), sequences_per_s=round(steps * args.batch / dt, 1),
                      ms_per_step=round(1e3 * dt / steps, 3),
                      self_peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))),
      flush=True)
