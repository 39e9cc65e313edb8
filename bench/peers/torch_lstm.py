#!/usr/bin/python3
"""PyTorch peer of `kiln_bench_sequence --model lstm`: LSTM training throughput.

Model (as the Kiln benchmark): nn.LSTM(input 32, hidden 128, batch_first) over
sequences of --seq (64) steps, the last step's output -> nn.Linear(128, 10),
softmax cross-entropy on the logits with integer labels, Adam(lr 1e-3,
betas .9/.999, eps 1e-7). A pool of 8 random batches of --batch (64), --warmup
untimed steps, then --steps timed training steps. Prints one JSON line.

Threads: --threads N calls torch.set_num_threads(N) (0: torch's default).
OpenBLAS threads (torch's LSTM runs one OpenBLAS GEMM per step on CPU) and the
allocator come from the environment (OPENBLAS_NUM_THREADS, LD_PRELOAD);
bench/run_bench.py searches them for the "best" setup. --min-time S extends the
timed window to at least S seconds.

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
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--seq", type=int, default=64)
ap.add_argument("--features", type=int, default=32)
ap.add_argument("--units", type=int, default=128)
args = ap.parse_args()

import torch  # noqa: E402
from peer_env import environment, timed_window  # noqa: E402
import torch.nn as nn  # noqa: E402

if args.threads > 0:
    torch.set_num_threads(args.threads)
torch.manual_seed(0)



class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(args.features, args.units, batch_first=True)
        self.head = nn.Linear(args.units, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
loss_fn = nn.CrossEntropyLoss()
gen = torch.Generator().manual_seed(1)
pool = [(torch.randn(args.batch, args.seq, args.features, generator=gen),
         torch.randint(0, 10, (args.batch,), generator=gen)) for _ in range(8)]


def step(x, y):
    optimizer.zero_grad(set_to_none=True)
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


for i in range(args.warmup):
    step(*pool[i % 8])
steps, dt = timed_window(lambda i: step(*pool[i % 8]), args.steps, args.min_time)
print(json.dumps(dict(framework="torch", model="lstm", torch=torch.__version__, threads=torch.get_num_threads(),
                      **environment(), batch=args.batch, seq=args.seq, steps=steps, warmup=args.warmup,
                      timed_s=round(dt, 3), sequences_per_s=round(steps * args.batch / dt, 1),
                      ms_per_step=round(1e3 * dt / steps, 3),
                      self_peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))),
      flush=True)
