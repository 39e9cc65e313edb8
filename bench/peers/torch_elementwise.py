#!/usr/bin/python3
"""PyTorch peer of `kiln_bench_elementwise`: the same pointwise activations and softmax,
on the same shapes, timed the same way (median call over a window of at least
--min-time seconds and 5 calls, one untimed call first). Prints one JSON line per op.

Forward ops run under torch.inference_mode() (no autograd bookkeeping), "fwd+bwd" ops
take the gradient of f(x).sum() with respect to x, as Kiln's do.

Run with Debian's python (/usr/bin/python3, package python3-torch).
"""
import argparse
import json
import time

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--rows", type=int, default=256)
ap.add_argument("--cols", type=int, default=4096)
ap.add_argument("--min-time", type=float, default=1.0)
ap.add_argument("--only", default="", help="comma-separated op names")
args = ap.parse_args()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from peer_env import environment  # noqa: E402

torch.set_num_threads(args.threads)
gen = torch.Generator().manual_seed(1)
x = torch.randn(args.rows, args.cols, generator=gen) * 3
positive = x.abs() + 1e-3
logits = torch.randn(1024, 1000, generator=gen) * 3
xg = x.clone().requires_grad_()


def forward(f, t):
    def call():
        with torch.inference_mode():
            f(t)
    return call


def gradient_of(f):
    def call():
        xg.grad = None
        f(xg).sum().backward()
    return call


OPS = [
    ("exp", forward(torch.exp, x)),
    ("log", forward(torch.log, positive)),
    ("sigmoid", forward(torch.sigmoid, x)),
    ("tanh", forward(torch.tanh, x)),
    ("elu", forward(F.elu, x)),
    ("selu", forward(F.selu, x)),
    ("silu", forward(F.silu, x)),
    ("gelu", forward(F.gelu, x)),
    ("gelu_tanh", forward(lambda t: F.gelu(t, approximate="tanh"), x)),
    ("softplus", forward(F.softplus, x)),
    ("mish", forward(F.mish, x)),
    ("softmax", forward(lambda t: torch.softmax(t, -1), logits)),
    ("log_softmax", forward(lambda t: torch.log_softmax(t, -1), logits)),
    ("tanh fwd+bwd", gradient_of(torch.tanh)),
    ("sigmoid fwd+bwd", gradient_of(torch.sigmoid)),
    ("silu fwd+bwd", gradient_of(F.silu)),
    ("gelu fwd+bwd", gradient_of(F.gelu)),
]

only = set(filter(None, args.only.split(",")))
env = environment()
for name, call in OPS:
    if only and name not in only:
        continue
    call()
    times = []
    total = 0.0
    while len(times) < 5 or total < args.min_time:
        t0 = time.perf_counter()
        call()
        dt = time.perf_counter() - t0
        times.append(1e3 * dt)
        total += dt
    times.sort()
    shape = [1024, 1000] if "softmax" in name else [args.rows, args.cols]
    print(json.dumps(dict(framework="torch", op=name, torch=torch.__version__, threads=torch.get_num_threads(),
                          shape=shape, ms=round(times[len(times) // 2], 4), calls=len(times), **env)), flush=True)
