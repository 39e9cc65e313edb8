#!/usr/bin/env python3
"""Writes README.md's speed tables from a bench/run_bench.py record, and its time-to-accuracy table
from bench/recipe_bench.py's records, so that no figure is copied by hand.

  bench/readme_tables.py [--records bench/RESULTS.jsonl] [--recipes bench/RESULTS-recipes.jsonl]
                         [--readme README.md] [--check]

The speed tables go between the markers `<!-- bench-tables:begin -->` and `<!-- bench-tables:end -->`,
the recipes' table between `<!-- recipe-table:begin -->` and `<!-- recipe-table:end -->`: per recipe,
the latest run of each seed (Fashion-MNIST, 2 threads, the recipe unchanged, a clean tree), means
over the seeds that both Kiln and its peer ran.
Each figure is the median over the record's repetitions, printed with as many digits as its
spread supports: rounded to the power of ten below half its min-max range, and to three
significant digits at most. A ratio's range is min(Kiln)/max(peer) .. max(Kiln)/min(peer).
--check exits 1 when README.md differs from what the record gives (the docs test runs it).
"""
import argparse
import json
import math
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BEGIN, END = "<!-- bench-tables:begin -->", "<!-- bench-tables:end -->"
RECIPE_BEGIN, RECIPE_END = "<!-- recipe-table:begin -->", "<!-- recipe-table:end -->"


def values(records, key, field):
    return [r[field] for r in records if tuple(r["key"]) == key and r["rc"] == 0 and r.get(field) is not None]


def decimals_for(halfwidth, value):
    """Digits after the point that a figure with this uncertainty supports, at most three significant ones."""
    three_significant = 2 - math.floor(math.log10(abs(value))) if value else 2
    if halfwidth <= 0:
        return three_significant
    return min(-math.floor(math.log10(halfwidth)), three_significant)


def fmt(value, halfwidth):
    d = decimals_for(halfwidth, value)
    if d <= 0:
        step = 10 ** (-d)
        return f"{round(value / step) * step:,.0f}"
    return f"{value:.{d}f}"


def figure(records, key, field):
    v = values(records, key, field)
    if not v:
        return None, "—"
    return v, fmt(statistics.median(v), (max(v) - min(v)) / 2)


def ratio(a, b):
    if not a or not b:
        return "—"
    r = statistics.median(a) / statistics.median(b)
    lo, hi = min(a) / max(b), max(a) / min(b)
    return fmt(r, (hi - lo) / 2 if len(a) > 1 or len(b) > 1 else 0) + "×"


def row(records, label, fields):
    key_k, key_b, key_o, field = fields
    k, ks = figure(records, key_k, field)
    b, bs = figure(records, key_b, field)
    o, _ = figure(records, key_o, field)
    return f"| {label} | {ks} | {bs} | {ratio(k, b)} | {ratio(k, o)} |"


def tables(records):
    cnn = ["| the article's CNN, batch 64 | Kiln | PyTorch best | Kiln / best | Kiln / out of the box |",
           "|---|---|---|---|---|"]
    threads = sorted({r["key"][3] for r in records if r["key"][:3] == ["cnn", "train", "kiln"]})
    for mode, what in (("train", "training"), ("infer", "inference (batch 256)")):
        for t in threads:
            label = f"{what}, {t} thread{'s' if t > 1 else ''}" + (" (samples/s)" if mode == "train" and t == 1 else "")
            cnn.append(row(records, label, (("cnn", mode, "kiln", t), ("cnn", mode, "best", t),
                                                  ("cnn", mode, "oob", "default"), f"{mode}_samples_per_s")))
    if values(records, ("fashion", "kiln"), "process_wall_s"):
        cnn.append(row(records, "Fashion-MNIST, 10 epochs end to end (s)",
                       (("fashion", "kiln"), ("fashion", "best"), ("fashion", "oob"), "process_wall_s")))
        cnn.append(row(records, "its peak memory (MB)",
                       (("fashion", "kiln"), ("fashion", "best"), ("fashion", "oob"), "peak_rss_mb")))
    seq = ["| sequence models (sequences/s) | Kiln | PyTorch best | Kiln / best | Kiln / out of the box |",
           "|---|---|---|---|---|"]
    for model, what in (("lstm", "LSTM training"), ("transformer", "Transformer block fwd+bwd")):
        for t in threads:
            if values(records, ("sequence", model, "kiln", t), "sequences_per_s"):
                seq.append(row(records, f"{what}, {t} thread{'s' if t > 1 else ''}",
                               (("sequence", model, "kiln", t), ("sequence", model, "best", t),
                                ("sequence", model, "oob", "default"), "sequences_per_s")))
    return "\n".join(cnn) + "\n\n" + "\n".join(seq) + "\n"


def recipe_runs(records, recipe):
    """Kiln's and the peer's latest run of each seed both ran, as two lists in seed order, from
    the records of the recipe as the latest one states it (its recipe line): runs of an earlier
    version of the recipe are never mixed in."""
    kept = [r for r in records
            if r.get("recipe") == recipe and r.get("dataset") == "fashion_mnist" and r.get("threads") == 2
            and not r.get("changes") and r.get("clean_tree")]
    if not kept:
        return [], []
    line = kept[-1].get("kiln_recipe_line")
    kiln, peer = {}, {}
    for r in kept:  # in file order, so a later run of a seed replaces an earlier one
        if r.get("kiln_recipe_line") != line:
            continue
        kiln.update({run["seed"]: run for run in r["kiln"]["runs"]})
        peer.update({run["seed"]: run for run in r["torch"]["runs"]})
    seeds = sorted(set(kiln) & set(peer))
    return [kiln[s] for s in seeds], [peer[s] for s in seeds]


def recipe_table(records):
    lines = ["| Fashion-MNIST, 2 threads | Kiln | PyTorch 1.13 | Kiln's speed-up |", "|---|---|---|---|"]
    for recipe in ("fast", "best"):
        kiln, peer = recipe_runs(records, recipe)
        if not kiln:
            continue
        mean = lambda runs, field: statistics.mean(run[field] for run in runs)
        seeds = f"{len(kiln)} seed{'s' if len(kiln) > 1 else ''}"
        kiln_s, peer_s = mean(kiln, "process_wall_s"), mean(peer, "process_wall_s")
        lines.append(f"| `{recipe}`: mean test accuracy, {seeds} | {mean(kiln, 'test_accuracy'):.4f} | "
                     f"{mean(peer, 'test_accuracy'):.4f} | |")
        lines.append(f"| `{recipe}`: whole-process wall time (mean, s) | {fmt(kiln_s, 0)} | {fmt(peer_s, 0)} | "
                     f"{peer_s / kiln_s:.2f}× |")
    return "\n".join(lines) + "\n"


def between(text, begin, end, content, where):
    if begin not in text or end not in text:
        sys.exit(f"{where}: the markers {begin} and {end} are missing")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return head + begin + "\n" + content + end + tail


def self_test():
    """recipe_table on made-up records: a retuned recipe's runs replace the earlier version's, and
    a seed the new version has not run yet does not keep an old run in the means."""
    def record(line, seed, kiln_s, accuracy):
        run = {"seed": seed, "process_wall_s": kiln_s, "test_accuracy": accuracy}
        return {"recipe": "fast", "dataset": "fashion_mnist", "threads": 2, "changes": [], "clean_tree": True,
                "kiln_recipe_line": line, "kiln": {"runs": [run]},
                "torch": {"runs": [dict(run, process_wall_s=2 * kiln_s)]}}
    records = [record("old", 1, 50.0, 0.90), record("old", 2, 50.0, 0.90), record("new", 1, 30.0, 0.95)]
    table = recipe_table(records)
    expected = ["| `fast`: mean test accuracy, 1 seed | 0.9500 | 0.9500 | |",
                "| `fast`: whole-process wall time (mean, s) | 30.0 | 60.0 | 2.00× |"]
    for line in expected:
        if line not in table:
            sys.exit(f"readme_tables.py --self-test: expected the line\n  {line}\nin\n{table}")
    print("readme_tables.py --self-test: passed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--records", default=os.path.join(HERE, "RESULTS.jsonl"))
    ap.add_argument("--recipes", default=os.path.join(HERE, "RESULTS-recipes.jsonl"))
    ap.add_argument("--readme", default=os.path.join(ROOT, "README.md"))
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--self-test", action="store_true", help="check the recipe table's rules on made-up records")
    args = ap.parse_args()
    if args.self_test:
        return self_test()
    with open(args.records) as f:
        records = [json.loads(line) for line in f if line.strip()]
    with open(args.recipes) as f:
        recipe_records = [json.loads(line) for line in f if line.strip()]
    with open(args.readme) as f:
        readme = f.read()
    updated = between(readme, BEGIN, END, tables(records), args.readme)
    updated = between(updated, RECIPE_BEGIN, RECIPE_END, recipe_table(recipe_records), args.readme)
    if args.check:
        if updated != readme:
            sys.exit(f"{args.readme}'s tables differ from {args.records} and {args.recipes}: "
                     "run bench/readme_tables.py")
        return
    if updated != readme:
        tmp = args.readme + ".tmp"
        with open(tmp, "w") as f:
            f.write(updated)
        os.replace(tmp, args.readme)
        print(f"updated {args.readme}")


if __name__ == "__main__":
    main()
