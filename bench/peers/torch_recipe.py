#!/usr/bin/python3
"""PyTorch peer of Kiln's time-to-accuracy recipes (examples/recipes/, examples/time_to_accuracy.cpp).

The same network, schedule, augmentation and evaluation as recipes::run, written the way a
PyTorch user would, with every recipe field taken from the command line (bench/recipe_bench.py
reads them from Kiln's own recipe line, so the two cannot drift apart):

  torch_recipe.py fast --recipe-json '{"widths": [32, 64, 128], "extra_convs": 0, ...}' [--seed N]
      [--threads N] [--layout nchw|nhwc] [--dataset fashion_mnist|cifar10] [--data DIR]
      [--eval-each-epoch] [--train-samples N] [--test-samples N] [FIELD=VALUE ...]

FIELD=VALUE arguments override the JSON (Kiln's runner takes the same ones). Every field of
recipes::Recipe must be given: a peer with defaults of its own would quietly train something
else once the recipe changes.

What it mirrors (Keras semantics, as Kiln implements them):
  - uint8 images kept as loaded, scaled by 1/255 one batch at a time;
  - training-only augmentation: each image mirrored left-right with probability 1/2, then
    translated by a real shift uniform in [-p, p] pixels on each axis, nearest sampling with
    Kiln's rule (a sample is taken where the unrounded source coordinate lies inside the image,
    from the rounded pixel; elsewhere 0). Both are exact on uint8, so they run before the
    conversion to float (the same numbers, a quarter of the bytes to move);
  - per stage: Conv 3x3 same (no bias) -> MaxPool 2 -> BatchNorm (eps 1e-3, Keras momentum 0.9)
    -> ReLU, then extra_convs x [Conv -> BN -> ReLU]; Flatten -> [Dense(hidden) -> ReLU] -> Dropout
    -> Dense; Glorot-uniform
    kernels, zero biases;
  - cross-entropy; AdamW (decay w -= lr*wd*w on every trainable weight,
    betas 0.9/0.999, eps 1e-7); per step, Keras's CosineDecay with linear warm-up from lr/10;
  - when ema_momentum > 0, Keras's use_ema (first step copies, then ema = m*ema + (1-m)*w),
    swapped in after the last step; BatchNorm's running statistics are not averaged;
  - test-time augmentation: mean softmax of each test image and its mirror image; accuracy
    printed with and without it; shuffled every epoch, last partial batch kept.

Output: the recipe line and the final "Test accuracy: ..." line in the format of Kiln's runner,
one line an epoch ("Epoch i/n - ... elapsed S s"; elapsed counts from the process's creation and
leaves out the time of --eval-each-epoch's evaluations, so it is the clock of an unobserved
run), and last a JSON summary (setup, allocator and OpenBLAS kernel via peer_env.py).

Set-up: --threads N calls torch.set_num_threads(N); --layout nhwc runs torch.channels_last.
Allocator (LD_PRELOAD) and OpenBLAS threads (OPENBLAS_NUM_THREADS) come from the environment;
bench/recipe_bench.py searches them, with the threads and the layout, for PyTorch's best setup.
Run with Debian's python (/usr/bin/python3, package python3-torch).
"""
import argparse
import gzip
import json
import math
import os
import resource
import sys
import tarfile
import time

ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("recipe", help="the recipe's name (printed only: the fields come from --recipe-json and FIELD=VALUE)")
ap.add_argument("changes", nargs="*", metavar="FIELD=VALUE")
ap.add_argument("--recipe-json", default="{}", help="the recipe's fields as a JSON object")
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads(N); 0 keeps torch's default")
ap.add_argument("--layout", choices=["nchw", "nhwc"], default="nhwc")
ap.add_argument("--dataset", choices=["fashion_mnist", "cifar10"], default="fashion_mnist")
ap.add_argument("--data", help="the dataset's folder (Fashion-MNIST: /usr/share/datasets/fashion-mnist)")
ap.add_argument("--eval-each-epoch", action="store_true", help="test accuracy after every epoch (not timed)")
ap.add_argument("--train-samples", type=int, default=0, help="only the first N training images (0: all)")
ap.add_argument("--test-samples", type=int, default=0, help="only the first N test images (0: all)")
args = ap.parse_intermixed_args()  # FIELD=VALUE may come before or after the options

# --------------------------------------------------------------------------- the recipe
FIELDS = ["widths", "extra_convs", "epochs", "batch_size", "learning_rate", "warmup_epochs", "weight_decay",
          "ema_momentum", "translate_pixels", "flip", "test_time_flip", "hidden", "dropout", "precision"]


def field_value(field, value):
    """A field's value from JSON or FIELD=VALUE text, read as recipes::with_changes reads it."""
    def number(v):
        x = float(v)
        if not math.isfinite(x):
            raise ValueError(f"{field} must be a finite number, got {v!r}")
        return x
    if field == "widths":
        parts = value if isinstance(value, list) else str(value).split(",")
        widths = [int(number(p)) for p in parts]
        if not widths or any(w < 1 for w in widths):
            raise ValueError(f"widths must be whole numbers >= 1, got {value!r}")
        return widths
    if field in ("flip", "test_time_flip"):
        if value in (True, 1, "1", "true"):
            return True
        if value in (False, 0, "0", "false"):
            return False
        raise ValueError(f"{field} must be true or false, got {value!r}")
    if field == "precision":
        if value not in ("float32", "bf16"):
            raise ValueError(f"precision must be float32 or bf16, got {value!r}")
        return value
    if field in ("extra_convs", "epochs", "batch_size", "hidden"):
        return int(number(value))  # Kiln truncates, as static_cast does
    return number(value)


def read_recipe():
    given = json.loads(args.recipe_json)
    for change in args.changes:
        if "=" not in change:
            sys.exit(f"torch_recipe.py: {change!r} is not FIELD=VALUE")
        k, v = change.split("=", 1)
        given[k] = v
    unknown = sorted(set(given) - set(FIELDS) - {"name"})
    missing = [f for f in FIELDS if f not in given]
    if unknown or missing:
        sys.exit(f"torch_recipe.py: unknown fields {unknown}, missing fields {missing} "
                 "(every field of recipes::Recipe must be given)")
    try:
        r = {f: field_value(f, given[f]) for f in FIELDS}
    except ValueError as e:
        sys.exit(f"torch_recipe.py: {e}")
    if r["epochs"] < 1 or r["batch_size"] < 1 or r["extra_convs"] < 0 or r["hidden"] < 0:
        sys.exit("torch_recipe.py: epochs and batch_size must be >= 1, extra_convs and hidden >= 0")
    r["name"] = args.recipe
    return r


def describe(r):
    """recipes::describe's line; %g is the default format of a C++ ostream."""
    return (f"recipe {r['name']}: widths {','.join(map(str, r['widths']))} (+{r['extra_convs']} convs a stage), "
            f"{r['epochs']} epochs, batch {r['batch_size']}, AdamW lr {r['learning_rate']:g} wd {r['weight_decay']:g} "
            f"warmup {r['warmup_epochs']:g} ep, ema {r['ema_momentum']:g}, "
            f"translate {r['translate_pixels']:g} px, flip {int(r['flip'])}, tta flip {int(r['test_time_flip'])}, "
            f"hidden {r['hidden']}, dropout {r['dropout']:g}, {r['precision']}")


R = read_recipe()
print(describe(R), flush=True)

import numpy as np  # noqa: E402
from peer_env import environment, seconds_since_launch  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

if args.threads > 0:
    torch.set_num_threads(args.threads)
MEMORY_FORMAT = torch.channels_last if args.layout == "nhwc" else torch.contiguous_format


# --------------------------------------------------------------------------- data
def read_idx(folder, stem):
    """An IDX file, gzipped (Debian's dataset-fashion-mnist) or not."""
    plain = os.path.join(folder, stem)
    raw = gzip.open(plain + ".gz").read() if os.path.exists(plain + ".gz") else open(plain, "rb").read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_mnist(folder):
    folder = folder or "/usr/share/datasets/fashion-mnist"
    x = [read_idx(folder, f"{s}-images-idx3-ubyte")[..., None] for s in ("train", "t10k")]
    y = [read_idx(folder, f"{s}-labels-idx1-ubyte") for s in ("train", "t10k")]
    return x[0], y[0], x[1], y[1]


CIFAR_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def cifar10(folder):
    """The binary release, as Kiln finds it: the batches' folder, its parent, or the tarball beside them."""
    if not folder:
        sys.exit("torch_recipe.py: --dataset cifar10 needs --data DIR")
    if os.path.isfile(os.path.join(folder, CIFAR_FILES[0])):
        blobs = [open(os.path.join(folder, f), "rb").read() for f in CIFAR_FILES]
    elif os.path.isdir(os.path.join(folder, "cifar-10-batches-bin")):
        blobs = [open(os.path.join(folder, "cifar-10-batches-bin", f), "rb").read() for f in CIFAR_FILES]
    else:
        tar_path = folder if os.path.isfile(folder) else os.path.join(folder, "cifar-10-binary.tar.gz")
        with tarfile.open(tar_path) as tar:
            members = {m.name.removeprefix("./"): m for m in tar.getmembers()}
            blobs = [tar.extractfile(members["cifar-10-batches-bin/" + f]).read() for f in CIFAR_FILES]
    records = [np.frombuffer(b, dtype=np.uint8).reshape(-1, 3073) for b in blobs]
    train, test = np.concatenate(records[:5]), records[5]

    def split(rec):  # label byte, then the R, G and B planes: to [N, 32, 32, 3] as Kiln
        return np.ascontiguousarray(rec[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)), rec[:, 0]
    return (*split(train), *split(test))


def head(a, n):
    return a[:n] if n > 0 else a


t_load = time.perf_counter()
xtr, ytr, xte, yte = (fashion_mnist if args.dataset == "fashion_mnist" else cifar10)(args.data)
xtr, ytr = torch.from_numpy(np.array(head(xtr, args.train_samples))), torch.from_numpy(head(ytr, args.train_samples).astype(np.int64))
xte, yte = torch.from_numpy(np.array(head(xte, args.test_samples))), torch.from_numpy(head(yte, args.test_samples).astype(np.int64))
load_s = time.perf_counter() - t_load
N, H, W, C = xtr.shape
CLASSES = int(ytr.max()) + 1  # as recipes::run: the largest training label + 1

torch.manual_seed(args.seed)
gen = torch.Generator().manual_seed(args.seed)  # shuffling and augmentation


def as_input(u8):
    """uint8 [B, H, W, C] -> float [B, C, H, W] / 255; the permuted view is channels-last already."""
    return (u8.permute(0, 3, 1, 2).float() / 255).contiguous(memory_format=MEMORY_FORMAT)


ROWS, COLS = torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64)


def source_index(positions, shift, size):
    """Kiln's nearest sampling of a translation: the source of output i is i - shift, taken when it lies
    in [0, size - 1] before rounding, from pixel round(i - shift) (half away from zero)."""
    src = positions[None, :] - shift[:, None]
    inside = (src >= 0) & (src <= size - 1)
    return torch.floor(src + 0.5).clamp_(0, size - 1).long(), inside


def augment(u8):
    """RandomFlip("horizontal") then RandomTranslation(p/H, p/W, constant 0, nearest), as one gather."""
    b = u8.shape[0]
    p = R["translate_pixels"]
    if p > 0:
        shifts = (torch.rand(b, 2, generator=gen, dtype=torch.float64) * 2 - 1) * p
        iy, in_y = source_index(ROWS, shifts[:, 0], H)
        ix, in_x = source_index(COLS, shifts[:, 1], W)
    else:
        iy, in_y = ROWS.long().expand(b, H), None
        ix, in_x = COLS.long().expand(b, W), None
    if R["flip"]:
        mirrored = torch.rand(b, generator=gen) < 0.5
        ix = torch.where(mirrored[:, None], W - 1 - ix, ix)  # the translation reads the mirrored image
    out = u8[torch.arange(b)[:, None, None], iy[:, :, None], ix[:, None, :]]
    if in_y is not None:
        out = out * (in_y[:, :, None] & in_x[:, None, :])[..., None].to(torch.uint8)
    return out


# --------------------------------------------------------------------------- model
def build_model():
    layers, channels, h, w = [], C, H, W
    for width in R["widths"]:
        layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.MaxPool2d(2),
                   nn.BatchNorm2d(width, eps=1e-3, momentum=0.1), nn.ReLU(inplace=True)]  # Keras momentum 0.9
        h, w, channels = h // 2, w // 2, width
        for _ in range(R["extra_convs"]):
            layers += [nn.Conv2d(width, width, 3, padding=1, bias=False),
                       nn.BatchNorm2d(width, eps=1e-3, momentum=0.1), nn.ReLU(inplace=True)]
    layers.append(nn.Flatten())
    features = channels * h * w
    if R["hidden"] > 0:
        layers += [nn.Linear(features, R["hidden"]), nn.ReLU(inplace=True)]
        features = R["hidden"]
    if R["dropout"] > 0:
        layers.append(nn.Dropout(R["dropout"]))
    layers.append(nn.Linear(features, CLASSES))
    model = nn.Sequential(*layers)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)  # Keras glorot_uniform: the same fans
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model.to(memory_format=MEMORY_FORMAT)


model = build_model()
params = [p for p in model.parameters() if p.requires_grad]
optimizer = torch.optim.AdamW(params, lr=R["learning_rate"], betas=(0.9, 0.999), eps=1e-7,
                              weight_decay=R["weight_decay"], foreach=True)
loss_fn = nn.CrossEntropyLoss()
STEPS_PER_EPOCH = (N + R["batch_size"] - 1) // R["batch_size"]
TOTAL = R["epochs"] * STEPS_PER_EPOCH
WARMUP = min(R["warmup_epochs"] * STEPS_PER_EPOCH, TOTAL - 1)
DECAY = TOTAL - WARMUP


def learning_rate(step):
    """Keras CosineDecay(lr/10, total - warmup, alpha 0, warmup_target lr, warmup) at 0-based `step`."""
    peak = R["learning_rate"]
    s = min(float(step), DECAY + WARMUP)
    if s < WARMUP:
        return (peak - peak / 10) * s / WARMUP + peak / 10
    return peak * 0.5 * (1 + math.cos(math.pi * (s - WARMUP) / DECAY))


AUTOCAST = R["precision"] == "bf16"  # Keras's mixed_bfloat16: bf16 compute, float32 weights


def forward(x):
    if AUTOCAST:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return model(x).float()
    return model(x)


def evaluate():
    """(accuracy with test-time flips when the recipe has them, accuracy without), batches of 500 as Kiln."""
    model.eval()
    plain = tta = 0
    with torch.inference_mode():
        for b in range(0, xte.shape[0], 500):
            x, y = as_input(xte[b:b + 500]), yte[b:b + 500]
            p = torch.softmax(forward(x), 1)
            plain += (p.argmax(1) == y).sum().item()
            if R["test_time_flip"]:
                p = (p + torch.softmax(forward(torch.flip(x, dims=[3])), 1)) * 0.5
                tta += (p.argmax(1) == y).sum().item()
    n = xte.shape[0]
    return (tta if R["test_time_flip"] else plain) / n, plain / n


# --------------------------------------------------------------------------- training
ema = None
step = 0
epochs, eval_s = [], 0.0
t_fit = time.perf_counter()
for epoch in range(1, R["epochs"] + 1):
    model.train()
    t_epoch = time.perf_counter()
    order = torch.randperm(N, generator=gen)  # reshuffled every epoch, the last batch kept partial
    loss_sum, correct = 0.0, 0
    for b in range(0, N, R["batch_size"]):
        idx = order[b:b + R["batch_size"]]
        y = ytr[idx]
        x = as_input(augment(xtr[idx]) if R["flip"] or R["translate_pixels"] > 0 else xtr[idx])
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(step)
        optimizer.zero_grad(set_to_none=True)
        logits = forward(x)
        loss = loss_fn(logits, y)
        loss.backward()
        optimizer.step()
        if R["ema_momentum"] > 0:
            with torch.no_grad():
                if ema is None:  # Keras's first step: the average starts at the updated weights
                    ema = [p.detach().clone() for p in params]
                else:
                    for e, p in zip(ema, params):
                        e.lerp_(p, 1 - R["ema_momentum"])
        step += 1
        loss_sum += loss.item() * y.shape[0]
        correct += (logits.argmax(1) == y).sum().item()
    rec = dict(epoch=epoch, loss=round(loss_sum / N, 4), accuracy=round(correct / N, 4),
               epoch_s=round(time.perf_counter() - t_epoch, 2), elapsed_s=round(seconds_since_launch() - eval_s, 2))
    line = (f"Epoch {epoch}/{R['epochs']} - {rec['epoch_s']:.1f} s - loss: {rec['loss']:.4f} - "
            f"accuracy: {rec['accuracy']:.4f} - elapsed {rec['elapsed_s']:.1f} s")
    if args.eval_each_epoch and epoch < R["epochs"]:  # the last epoch is scored below, after the EMA swap
        t_eval = time.perf_counter()
        rec["test_accuracy"], rec["plain_test_accuracy"] = evaluate()
        eval_s += time.perf_counter() - t_eval
        line += f" - test accuracy {rec['test_accuracy']:.4f} (without tta {rec['plain_test_accuracy']:.4f})"
    epochs.append(rec)
    print(line, flush=True)
if ema is not None:  # Keras's finalize_variable_values at the end of fit
    with torch.no_grad():
        for e, p in zip(ema, params):
            p.copy_(e)
train_s = time.perf_counter() - t_fit - eval_s
test_accuracy, plain_test_accuracy = evaluate()
if args.eval_each_epoch:
    epochs[-1].update(test_accuracy=test_accuracy, plain_test_accuracy=plain_test_accuracy)
whole_s = seconds_since_launch() - eval_s
print(f"Test accuracy: {test_accuracy:.4f} (without test-time augmentation {plain_test_accuracy:.4f}); "
      f"training {train_s:.1f} s, whole run {whole_s:.1f} s", flush=True)
print(json.dumps(dict(
    framework="torch", torch=torch.__version__, recipe=R, seed=args.seed, dataset=args.dataset,
    train_samples=N, test_samples=int(xte.shape[0]), layout=args.layout, threads=torch.get_num_threads(),
    test_accuracy=test_accuracy, plain_test_accuracy=plain_test_accuracy, train_s=round(train_s, 3),
    whole_run_s=round(whole_s, 2), load_s=round(load_s, 2), eval_each_epoch_s=round(eval_s, 2), epochs=epochs,
    self_peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), **environment())),
    flush=True)
