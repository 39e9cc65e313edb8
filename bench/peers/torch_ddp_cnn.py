#!/usr/bin/python3
"""PyTorch peer of build/bench/kiln_bench_distributed: the article's CNN on Fashion-MNIST-sized
random data (28x28x1, 10 classes) under DistributedDataParallel with the gloo backend,
--procs processes x --threads threads, global batch --batch split evenly, --warmup steps then
--steps timed ones. Prints one JSON line (process 0). Run with Debian's python (/usr/bin/python3)
and, as bench/distributed_bench.py does, `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`.
"""
import argparse
import json
import os
import time

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--procs", type=int, default=2)
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--warmup", type=int, default=10)
ap.add_argument("--steps", type=int, default=60)
ap.add_argument("--channels-last", action="store_true", help="torch.channels_last memory format")
args = ap.parse_args()

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
import torch.nn as nn  # noqa: E402

import peer_env  # noqa: E402


def article_cnn():
    m = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(64 * 3 * 3, 64), nn.ReLU(), nn.Linear(64, 10))
    for layer in m:
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return m


def worker(rank):
    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo", rank=rank, world_size=args.procs)
    torch.manual_seed(0)
    net = article_cnn()
    if args.channels_last:
        net = net.to(memory_format=torch.channels_last)
    model = nn.parallel.DistributedDataParallel(net)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    local = args.batch // args.procs
    g = torch.Generator().manual_seed(1 + rank)
    xs = torch.rand(8, local, 1, 28, 28, generator=g)
    if args.channels_last:
        xs = [x.contiguous(memory_format=torch.channels_last) for x in xs]
    ys = torch.randint(0, 10, (8, local), generator=g)

    def step(i):
        opt.zero_grad(set_to_none=True)
        loss_fn(model(xs[i % 8]), ys[i % 8]).backward()
        opt.step()

    for i in range(args.warmup):
        step(i)
    dist.barrier()
    start = time.perf_counter()
    for i in range(args.steps):
        step(i)
    dist.barrier()
    seconds = time.perf_counter() - start
    if rank == 0:
        print(json.dumps({"impl": "pytorch-ddp-gloo", "torch": torch.__version__, "ranks": args.procs,
                          "threads_per_rank": args.threads, "global_batch": args.batch, "steps": args.steps,
                          "channels_last": args.channels_last, "seconds": round(seconds, 2),
                          "samples_per_s": round(args.batch * args.steps / seconds, 1), **peer_env.environment()}),
              flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29517")
    mp.start_processes(worker, nprocs=args.procs, start_method="spawn")
