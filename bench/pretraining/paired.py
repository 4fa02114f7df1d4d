#!/usr/bin/python3
"""Paired comparison of two arms of bench/pretraining/run.sh on the Amazon test rows: accuracy of each, the rows one gets
right and the other wrong, and a paired bootstrap 95% interval of the accuracy difference (test-set noise only; one seed).

    for n in bert-random bert-mlm; do dotnet src/Cli/bin/Release/net10.0/MlNetLlm.Cli.dll predict \\
        --model bench/.cache/pretraining/train-$n/model.zip --dataset samples/data/amazon_fine_foods.csv \\
        --output bench/.cache/pretraining/pred-$n.csv; done
    /usr/bin/python3 bench/pretraining/paired.py bert-mlm bert-random
"""
import csv
import os
import random
import sys

OUT = os.environ.get("BENCH_OUT", "bench/.cache/pretraining")
rows = list(csv.DictReader(open("samples/data/amazon_fine_foods.csv", encoding="utf-8")))
test = [i for i, r in enumerate(rows) if r["split"] == "test"]
truth = [rows[i]["score"] for i in test]


def right(name):
    pred = list(csv.DictReader(open(f"{OUT}/pred-{name}.csv", encoding="utf-8")))
    return [pred[i]["predicted_label"] == t for i, t in zip(test, truth)]


a_name, b_name = sys.argv[1], sys.argv[2]
a, b = right(a_name), right(b_name)
print(f"{a_name} accuracy {sum(a) / len(a):.4f}, {b_name} accuracy {sum(b) / len(b):.4f} ({len(a)} test rows)")
print(f"{a_name} right where {b_name} wrong: {sum(x and not y for x, y in zip(a, b))}; the reverse: {sum(y and not x for x, y in zip(a, b))}")
random.seed(1)
diffs = sorted(sum(a[i] - b[i] for i in idx) / len(a) for idx in ([random.randrange(len(a)) for _ in a] for _ in range(2000)))
print(f"paired bootstrap 95% interval of {a_name} - {b_name} accuracy: [{diffs[50]:+.4f}, {diffs[1949]:+.4f}]")
