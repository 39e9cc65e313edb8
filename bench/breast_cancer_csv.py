#!/usr/bin/python3
"""scikit-learn's breast-cancer data as a CSV file, trained with `kiln train --csv`.

Writes load_breast_cancer() (569 rows, 30 numeric features, label "diagnosis": malignant or
benign) as a CSV in scikit-learn's row order, then — unless --write-only — trains Kiln's CSV
MLP on it with a fixed split (--validation-split 0.2 of the rows, in the order --seed fixes)
and appends the test accuracy, with the command that made it, to bench/RESULTS-data.jsonl.

  /usr/bin/python3 bench/breast_cancer_csv.py build/kiln [--csv breast_cancer.csv] [--epochs 30]
  /usr/bin/python3 bench/breast_cancer_csv.py --write-only --csv breast_cancer.csv
"""
import argparse
import csv
import datetime
import json
import os
import re
import subprocess
import sys
import tempfile

from sklearn.datasets import load_breast_cancer

HERE = os.path.dirname(os.path.abspath(__file__))


def write_csv(path):
    data = load_breast_cancer()
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow([n.replace(" ", "_") for n in data.feature_names] + ["diagnosis"])
        for row, label in zip(data.data, data.target):
            out.writerow([repr(float(v)) for v in row] + [data.target_names[label]])
    return len(data.target)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kiln", nargs="?")
    p.add_argument("--csv", help="where to write the CSV (default: a temporary file)")
    p.add_argument("--write-only", action="store_true")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    if not a.write_only and not a.kiln:
        p.error("give the kiln program, or --write-only")
    with tempfile.TemporaryDirectory() as tmp:
        path = a.csv or os.path.join(tmp, "breast_cancer.csv")
        rows = write_csv(path)
        print(f"wrote {rows} rows to {path}")
        if a.write_only:
            return
        cmd = [a.kiln, "train", "--csv", path, "--label", "diagnosis", "--task", "classification",
               "--validation-split", "0.2", "--seed", str(a.seed), "--epochs", str(a.epochs),
               "--threads", str(a.threads), "--verbose", "0", "--out", os.path.join(tmp, "run")]
        out = subprocess.run(cmd, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(out.stdout + out.stderr)
        accuracy = float(re.search(r"Test accuracy: ([0-9.]+)", out.stdout).group(1))
        record = {
            "bench": "breast_cancer_csv",
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": " ".join(["/usr/bin/python3", "bench/breast_cancer_csv.py"] + sys.argv[1:]),
            "kiln_command": " ".join(cmd[:1] + ["train", "--csv", "breast_cancer.csv"] + cmd[4:-2]),
            "rows": rows,
            "test_rows": rows - int(rows * 0.8),
            "test_accuracy": accuracy,
            "target": ">= 0.95",
        }
        print(json.dumps(record))
        with open(os.path.join(HERE, "RESULTS-data.jsonl"), "a") as f:
            f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
