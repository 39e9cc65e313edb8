#!/usr/bin/python3
"""The article's CNN from a `kiln train` run, exported to ONNX, classifies Fashion-MNIST's
10,000 test images in ONNX Runtime exactly as Kiln does (issue 14's acceptance check).

    bench/onnx_fashion_parity.py RUN_DIR [--build-dir build]

Exports RUN_DIR with `kiln export`, writes the test images as .npy (uint8 or float32, whichever
the model takes: the run's config says), predicts with `kiln predict` and with ONNX Runtime
(tests/onnx/ort_run.js, onnxruntime-node from setup.sh), and prints both accuracies, how many
predicted classes differ and the largest probability difference.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

FASHION = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run_dir")
    ap.add_argument("--build-dir", default="build")
    args = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    kiln = os.path.join(args.build_dir, "kiln")
    ort_dir = os.path.join(args.build_dir, "onnxruntime")
    images = idx(f"{FASHION}/t10k-images-idx3-ubyte.gz")[..., None]
    labels = idx(f"{FASHION}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_file = os.path.join(tmp, "model.onnx")
        subprocess.run([kiln, "export", args.run_dir, onnx_file], check=True)
        x = os.path.join(tmp, "x.npy")
        # The article's CNN scales by 1/255 itself (a Rescaling layer) or expects it done: as
        # `kiln train` fed it, so as the run's config says.
        config = json.load(open(os.path.join(args.run_dir, "config.json")))
        layers = config["architecture"]["config"]["layers"]
        scaled = not any(layer.get("class_name") == "Rescaling" for layer in layers)
        np.save(x, images.astype(np.float32) / 255.0 if scaled else images.astype(np.float32))
        kiln_out = os.path.join(tmp, "kiln.npy")
        subprocess.run([kiln, "predict", args.run_dir, "--input", x, "--output", kiln_out, "--batch-size", "256"],
                       check=True, stdout=subprocess.DEVNULL)
        env = dict(os.environ, NODE_PATH=os.path.join(ort_dir, "node_modules"))
        subprocess.run(["node", os.path.join(root, "tests/onnx/ort_run.js"), onnx_file, tmp, x], check=True, env=env)
        p_kiln = np.load(kiln_out)
        p_ort = np.load(os.path.join(tmp, "output_0.npy"))
    acc_kiln = float((p_kiln.argmax(1) == labels).mean())
    acc_ort = float((p_ort.argmax(1) == labels).mean())
    differ = int((p_kiln.argmax(1) != p_ort.argmax(1)).sum())
    print(json.dumps({"run": args.run_dir, "kiln_test_accuracy": acc_kiln, "onnxruntime_test_accuracy": acc_ort,
                      "predictions_that_differ": differ, "max_abs_probability_difference":
                      float(np.abs(p_kiln - p_ort).max()), "inputs": "x/255" if scaled else "x (model rescales)"}))
    return 0 if differ == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
