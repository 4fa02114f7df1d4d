#!/usr/bin/env bash
# Small from-scratch measurement (issue 26): does masked-LM pretraining of a small BERT on unlabeled text help the
# Amazon fine-foods classifier, against the same BERT from a random start and the project's supervised `transformer`?
#   bash bench/pretraining/run.sh [PRETRAIN_STEPS]        (default 600; about 0.5 s a step on 2 busy cores)
# Unlabeled text: the Amazon train-split reviews (never its test rows) + the Debian fortunes (samples/data).
# Every arm: 2 layers, hidden 128, 4 heads; learning rate 5e-4, 3 epochs, batch 16, max length 128, seed 1, the
# data set's own train/test split. Prints one table row per arm.
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS="${1:-600}"
OUT="${BENCH_OUT:-bench/.cache/pretraining}"
CLI=(dotnet src/Cli/bin/Release/net10.0/MlNetLlm.Cli.dll)
dotnet build src/Cli -c Release -v q -nologo >/dev/null
rm -rf "$OUT" && mkdir -p "$OUT"
/usr/bin/python3 bench/pretraining/unlabeled.py "$OUT/unlabeled.csv"
seconds() { local s=$SECONDS; "$@" > "$OUT/last.log" 2>&1 || { cat "$OUT/last.log"; exit 1; }; echo $((SECONDS - s)); }
# The control: the same BERT and vocabulary, one step at a learning rate too small to move it (a random start).
t_rand=$(seconds "${CLI[@]}" pretrain --model none --dataset "$OUT/unlabeled.csv" --text-col text --steps 1 --learning-rate 1e-12 --output "$OUT/bert-random")
t_mlm=$(seconds "${CLI[@]}" pretrain --model none --dataset "$OUT/unlabeled.csv" --text-col text --steps "$STEPS" --save-every "$STEPS" --output "$OUT/bert-mlm")
mlm_line=$(grep '^step' "$OUT/last.log" | tail -1)
TRAIN=(train --dataset samples/data/amazon_fine_foods.csv --label-col score --text-col review --split-col split --epochs 3 --learning-rate 5e-4 --seed 1)
declare -A secs
for arm in transformer checkpoint:$OUT/bert-random checkpoint:$OUT/bert-mlm; do
  name=$(basename "${arm#checkpoint:}")
  secs[$name]=$(seconds "${CLI[@]}" "${TRAIN[@]}" --encoder "$arm" --output "$OUT/train-$name")
done
echo "date $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg), pretraining $STEPS steps ($t_mlm s): $mlm_line"
echo "| arm | pretraining | accuracy | macroF1 | auc | train s |"
echo "|---|---|---:|---:|---:|---:|"
for name in transformer bert-random bert-mlm; do
  /usr/bin/python3 - "$OUT/train-$name/metrics.json" "$name" "${secs[$name]}" "$STEPS" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); name = sys.argv[2]
pre = {"transformer": "none (supervised, own vocabulary)", "bert-random": "none (random BERT, MLM vocabulary)"}.get(name, f"MLM {sys.argv[4]} steps")
print(f"| {name} | {pre} | {m['accuracy']:.4f} | {m.get('macroF1', float('nan')):.4f} | {m.get('auc', float('nan')):.4f} | {sys.argv[3]} |")
PY
done
