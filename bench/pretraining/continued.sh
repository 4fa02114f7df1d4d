#!/usr/bin/env bash
# Continued (domain-adaptive) pretraining of the bundled minilm, then fine-tuning on Amazon fine-foods, against
# fine-tuning alone at equal compute (issue 26):
#   bash bench/pretraining/continued.sh [MLM_STEPS]     (default 250 steps of 16 = 4,000 sequences, one fine-tuning epoch's worth)
# Arms, each fine-tuned with the train command's defaults for a checkpoint (batch 16, max length 128, seed 1):
#   minilm-1ep   fine-tune 1 epoch                            (4,000 sequences through forward + backward)
#   minilm-2ep   fine-tune 2 epochs                           (8,000: the equal-compute control)
#   dapt-1ep     MLM_STEPS x 16 sequences of masked-LM on the unlabeled text, then fine-tune 1 epoch (8,000 at 250 steps)
# Unlabeled text: the Amazon train-split reviews (never its test rows) + the Debian fortunes (samples/data).
# Prints each arm's test metrics and seconds, then paired comparisons on the 1,000 test rows (bench/pretraining/paired.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
STEPS="${1:-250}"
export BENCH_OUT="${BENCH_OUT:-bench/.cache/continued}"
OUT="$BENCH_OUT"
dotnet build src/Cli -c Release -v q -nologo >/dev/null
rm -rf "$OUT" && mkdir -p "$OUT"
# A copy of the build, so that a rebuild of the working tree during the run changes nothing in it.
cp -r src/Cli/bin/Release/net10.0 "$OUT/cli"
CLI=(dotnet "$OUT/cli/MlNetLlm.Cli.dll")
/usr/bin/python3 bench/pretraining/unlabeled.py "$OUT/unlabeled.csv"
seconds() { local s=$SECONDS; "$@" > "$OUT/last.log" 2>&1 || { cat "$OUT/last.log"; exit 1; }; echo $((SECONDS - s)); }
echo "start $(date -u +%FT%TZ), $(git rev-parse --short HEAD), load average $(cut -d' ' -f1-3 /proc/loadavg)"
t_mlm=$(seconds "${CLI[@]}" pretrain --model minilm --dataset "$OUT/unlabeled.csv" --text-col text --steps "$STEPS" --save-every "$STEPS" --output "$OUT/minilm-dapt")
mlm_line=$(grep '^step' "$OUT/last.log" | tail -1 || true)
TRAIN=(train --dataset samples/data/amazon_fine_foods.csv --label-col score --text-col review --split-col split --seed 1)
declare -A secs
run_arm() { secs[$1]=$(seconds "${CLI[@]}" "${TRAIN[@]}" --encoder "$2" --epochs "$3" --output "$OUT/train-$1")
  "${CLI[@]}" predict --model "$OUT/train-$1/model.zip" --dataset samples/data/amazon_fine_foods.csv --output "$OUT/pred-$1.csv" > /dev/null; }
run_arm minilm-1ep checkpoint:minilm 1
run_arm minilm-2ep checkpoint:minilm 2
run_arm dapt-1ep "checkpoint:$OUT/minilm-dapt" 1
echo "end $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg); masked-LM $STEPS steps in $t_mlm s: $mlm_line"
echo "| arm | sequences through forward+backward | accuracy | macro-F1 | AUC | train s (+ MLM s) |"
echo "|---|---:|---:|---:|---:|---:|"
for name in minilm-1ep minilm-2ep dapt-1ep; do
  /usr/bin/python3 - "$OUT/train-$name/metrics.json" "$name" "${secs[$name]}" "$STEPS" "$t_mlm" <<'PY'
import json, sys
m = json.load(open(sys.argv[1])); name, s, steps, mlm = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
seqs = {"minilm-1ep": 4000, "minilm-2ep": 8000, "dapt-1ep": 4000 + 16 * steps}[name]
extra = f" (+ {mlm})" if name == "dapt-1ep" else ""
print(f"| {name} | {seqs:,} | {m['accuracy']:.4f} | {m['macroF1']:.4f} | {m['auc']:.4f} | {s}{extra} |")
PY
done
/usr/bin/python3 bench/pretraining/paired.py dapt-1ep minilm-2ep
/usr/bin/python3 bench/pretraining/paired.py dapt-1ep minilm-1ep
