#!/usr/bin/python3
"""PyTorch peer of Kiln's benchmarks: the article's CNN on the same work as
build/bench/kiln_bench_cnn and `build/kiln train --dataset fashion-mnist`.

Model (Keras defaults, as kiln::zoo::article_cnn):
  Conv2D(32, 3x3, valid, relu) -> MaxPool 2x2 -> Conv2D(64, 3x3, relu) -> MaxPool 2x2
  -> Conv2D(64, 3x3, relu) -> Flatten -> Dense(64, relu) -> Dense(10)
  Glorot-uniform kernels, zero biases; softmax cross-entropy on the logits with
  integer labels; Adam(lr 1e-3, betas .9/.999, eps 1e-7).

Modes (each prints JSON lines on stdout, the last one the summary):
  --mode train   random 32x32x3 data: a pool of 8 batches of --batch (64), --warmup
                 steps, then --steps timed training steps -> train_samples_per_s
  --mode infer   one random batch of --infer-batch (256), 5 warm-up forward passes,
                 then --infer-steps timed ones under torch.inference_mode()
  --mode fit     Fashion-MNIST from /usr/share/datasets/fashion-mnist/*.gz (28x28x1):
                 --epochs (10) of shuffled batches of --batch, inputs / 255, test
                 accuracy after every epoch (batches of --eval-batch, default --batch,
                 as Kiln's and Keras's validation) and a final evaluation, as `kiln train`.
                 --train-samples/--test-samples N keep the first N images, as in kiln train.
                 Start-up run: --epochs 1 --train-samples 64 --test-samples 64 stops after
                 the first training step (and a 64-image evaluation, as the same kiln command).

Set-up options: --threads N calls torch.set_num_threads(N) (0: leave torch's default);
--layout nhwc puts model and inputs in torch.channels_last (default nchw, torch's default);
--script (inference) runs a frozen TorchScript module (torch.jit.freeze of torch.jit.script:
folded constants and fused conv+relu, how PyTorch serves a model on CPU). Allocator and
OpenBLAS threads come from the environment (LD_PRELOAD, OPENBLAS_NUM_THREADS);
bench/run_bench.py searches them for the "best" setup. --min-time S extends the timed
window of train/infer to at least S seconds (more steps than --steps when fast).
The record names the allocator and the OpenBLAS kernel and threads (threadpoolctl).

Run with Debian's python (/usr/bin/python3, package python3-torch).
"""
import argparse
import gzip
import json
import os
import resource
import sys
import time

T_IMPORT = time.perf_counter()

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--mode", choices=["train", "infer", "fit"], default="train")
ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads(N); 0 keeps torch's default")
ap.add_argument("--layout", choices=["nchw", "nhwc"], default="nchw")
ap.add_argument("--batch", type=int, default=64)
ap.add_argument("--warmup", type=int, default=20)
ap.add_argument("--steps", type=int, default=200)
ap.add_argument("--infer-batch", type=int, default=256)
ap.add_argument("--infer-steps", type=int, default=50)
ap.add_argument("--min-time", type=float, default=0.0, help="train/infer: timed window of at least this many seconds")
ap.add_argument("--script", action="store_true", help="infer: a frozen TorchScript module")
ap.add_argument("--epochs", type=int, default=10)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--train-samples", type=int, default=0, help="fit: use only the first N training images (0: all)")
ap.add_argument("--test-samples", type=int, default=0, help="fit: use only the first N test images (0: all)")
ap.add_argument("--eval-batch", type=int, default=0, help="fit: evaluation batch (0: same as --batch)")
ap.add_argument("--fashion-dir", default="/usr/share/datasets/fashion-mnist")
args = ap.parse_args()

import numpy as np  # noqa: E402
from peer_env import environment, seconds_since_launch, timed_window  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

if args.threads > 0:
    torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
MEMORY_FORMAT = torch.channels_last if args.layout == "nhwc" else torch.contiguous_format





def article_cnn(c, h, w):
    h3, w3 = ((h - 2) // 2 - 2) // 2 - 2, ((w - 2) // 2 - 2) // 2 - 2
    model = nn.Sequential(
        nn.Conv2d(c, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(),
        nn.Flatten(),
        nn.Linear(64 * h3 * w3, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)  # Keras glorot_uniform: the same fans
            nn.init.zeros_(m.bias)
    return model.to(memory_format=MEMORY_FORMAT)


def emit(**record):
    record.update(framework="torch", torch=torch.__version__, mode=args.mode, layout=args.layout,
                  script=args.script, threads=torch.get_num_threads(), **environment(),
                  self_peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
    print(json.dumps(record), flush=True)


def load_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def head(a, n):
    return a[:n] if n > 0 else a


def images(u8):
    """uint8 [N, 28, 28] -> uint8 [N, 1, 28, 28]; each batch becomes float32 / 255 when it is used, as Kiln
    keeps its datasets (a float32 copy of the whole set would cost 4x the memory)."""
    return torch.from_numpy(np.array(u8[:, None], copy=True))


def as_input(u8_batch):
    return (u8_batch.float() / 255).contiguous(memory_format=MEMORY_FORMAT)


def labels(u8):
    return torch.from_numpy(u8.astype(np.int64))


model = None
optimizer = None
loss_fn = nn.CrossEntropyLoss()


def make_model(c, h, w):
    global model, optimizer
    model = article_cnn(c, h, w)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)


def train_step(x, y):
    optimizer.zero_grad(set_to_none=True)
    logits = model(x)
    loss = loss_fn(logits, y)
    loss.backward()
    optimizer.step()
    return logits, loss


if args.mode == "train":
    make_model(3, 32, 32)
    gen = torch.Generator().manual_seed(1)
    pool = [(torch.rand((args.batch, 3, 32, 32), generator=gen).contiguous(memory_format=MEMORY_FORMAT),
             torch.randint(0, 10, (args.batch,), generator=gen)) for _ in range(8)]
    model.train()
    for i in range(args.warmup):
        train_step(*pool[i % 8])
    steps, dt = timed_window(lambda i: train_step(*pool[i % 8]), args.steps, args.min_time)
    emit(batch=args.batch, warmup=args.warmup, steps=steps, timed_s=round(dt, 3),
         train_samples_per_s=round(steps * args.batch / dt, 1), train_ms_per_step=round(1e3 * dt / steps, 3))

elif args.mode == "infer":
    make_model(3, 32, 32)
    gen = torch.Generator().manual_seed(1)
    x = torch.rand((args.infer_batch, 3, 32, 32), generator=gen).contiguous(memory_format=MEMORY_FORMAT)
    model.eval()
    with torch.inference_mode():
        net = torch.jit.freeze(torch.jit.script(model)) if args.script else model
        for _ in range(5):
            net(x)
        steps, dt = timed_window(lambda i: net(x), args.infer_steps, args.min_time)
    emit(infer_batch=args.infer_batch, infer_steps=steps, timed_s=round(dt, 3),
         infer_samples_per_s=round(steps * args.infer_batch / dt, 1))

else:  # fit
    d = args.fashion_dir
    xtr = images(head(load_idx(f"{d}/train-images-idx3-ubyte.gz"), args.train_samples))
    ytr = labels(head(load_idx(f"{d}/train-labels-idx1-ubyte.gz"), args.train_samples))
    xte = images(head(load_idx(f"{d}/t10k-images-idx3-ubyte.gz"), args.test_samples))
    yte = labels(head(load_idx(f"{d}/t10k-labels-idx1-ubyte.gz"), args.test_samples))
    make_model(1, 28, 28)
    n, batch = xtr.shape[0], args.batch
    eval_batch = args.eval_batch or batch
    gen = torch.Generator().manual_seed(args.seed)

    def evaluate():
        model.eval()
        correct = 0
        with torch.inference_mode():
            for b in range(0, xte.shape[0], eval_batch):
                correct += (model(as_input(xte[b:b + eval_batch])).argmax(1) == yte[b:b + eval_batch]).sum().item()
        return correct / xte.shape[0]

    t_fit = time.perf_counter()
    first_step = None
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(n, generator=gen)  # shuffled every epoch, as Keras fit
        t_epoch = time.perf_counter()
        loss_sum, correct = 0.0, 0
        for b in range(0, n, batch):
            idx = order[b:b + batch]
            y = ytr[idx]
            logits, loss = train_step(as_input(xtr[idx]), y)
            loss_sum += loss.item() * y.shape[0]
            correct += (logits.argmax(1) == y).sum().item()
            if first_step is None:
                first_step = seconds_since_launch()
        train_s = time.perf_counter() - t_epoch
        emit(epoch=epoch, train_loss=round(loss_sum / n, 4), train_acc=round(correct / n, 4), test_acc=round(evaluate(), 4),
             epoch_train_s=round(train_s, 2), epoch_train_samples_per_s=round(n / train_s, 1))
    test_acc = evaluate()  # the final model.evaluate of `kiln train`
    emit(summary=True, epochs=args.epochs, batch=batch, train_samples=n, test_samples=xte.shape[0], seed=args.seed,
         test_acc=round(test_acc, 4), fit_wall_s=round(time.perf_counter() - t_fit, 2),
         first_step_since_launch_s=round(first_step, 3), process_s_at_end=round(seconds_since_launch(), 3),
         import_to_end_s=round(time.perf_counter() - T_IMPORT, 3))
sys.stdout.flush()
