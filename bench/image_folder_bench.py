#!/usr/bin/env python3
"""Streaming an image folder against the in-memory loader, end to end through `kiln train`.

Writes the first N Fashion-MNIST training images as PNG files in class folders (Pillow), then
trains the article's CNN for E epochs twice on the same number of training images: from the
folder (decoded on worker threads while training, --validation-split 0.2 held out) and from
the IDX files in memory (--train-samples, --test-samples). Prints one JSON line per run:
seconds (the whole process: loading, training, the report), training images per second over them, test accuracy and peak memory as kiln reports them.

  python3 bench/image_folder_bench.py build/kiln [--images 10000] [--epochs 2] [--threads 2]
"""
import argparse
import gzip
import json
import os
import re
import subprocess
import tempfile
import time

from PIL import Image

FASHION = "/usr/share/datasets/fashion-mnist"
CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]


def idx(path):
    data = gzip.open(path).read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return data[4 + 4 * dims:], shape


def run(cmd):
    start = time.time()
    out = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.time() - start
    if out.returncode != 0:
        raise SystemExit(out.stdout + out.stderr)
    acc = float(re.search(r"Test accuracy: ([0-9.]+)", out.stdout).group(1))
    mem = float(re.search(r"Peak memory: ([0-9.]+) MB", out.stdout).group(1))
    return seconds, acc, mem


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kiln")
    p.add_argument("--images", type=int, default=10000)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    pixels, _ = idx(os.path.join(FASHION, "train-images-idx3-ubyte.gz"))
    labels, _ = idx(os.path.join(FASHION, "train-labels-idx1-ubyte.gz"))
    train = int(a.images * 0.8)
    with tempfile.TemporaryDirectory() as tmp:
        folder = os.path.join(tmp, "fashion")
        for c in CLASSES:
            os.makedirs(os.path.join(folder, c))
        for i in range(a.images):
            img = Image.frombytes("L", (28, 28), pixels[i * 784:(i + 1) * 784])
            img.save(os.path.join(folder, CLASSES[labels[i]], f"{i:06d}.png"))
        common = ["--epochs", str(a.epochs), "--batch-size", "64", "--threads", str(a.threads), "--seed", "0",
                  "--verbose", "2"]
        runs = {
            "folder": [a.kiln, "train", "--data", folder, "--out", os.path.join(tmp, "run-folder")] + common,
            "memory": [a.kiln, "train", "--dataset", "fashion-mnist", "--no-download", "--train-samples", str(train),
                       "--test-samples", str(a.images - train), "--out", os.path.join(tmp, "run-memory")] + common,
        }
        for name, cmd in runs.items():
            seconds, acc, mem = run(cmd)
            print(json.dumps({"run": name, "training_images": train, "epochs": a.epochs, "threads": a.threads,
                              "seconds": round(seconds, 2), "end_to_end_images_per_s": round(train * a.epochs / seconds),
                              "test_accuracy": acc, "peak_mb": mem}))


if __name__ == "__main__":
    main()
