#!/usr/bin/python3
"""The unlabeled text the pretraining benchmarks train on, as a one-column CSV (text): the Amazon fine-foods reviews of
its train split (never its test rows) and every Debian fortune (samples/data).

    /usr/bin/python3 bench/pretraining/unlabeled.py OUT.csv      (run from the repository root)
"""
import csv
import sys

rows = [r["review"] for r in csv.DictReader(open("samples/data/amazon_fine_foods.csv", encoding="utf-8")) if r["split"] == "train"]
rows += [r["text"] for r in csv.DictReader(open("samples/data/debian_fortunes.csv", encoding="utf-8"))]
with open(sys.argv[1], "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["text"])
    w.writerows([t] for t in rows)
