#!/usr/bin/env bash
# The AutoML experiment (`mlnet-llm classification`, the README's main job) at fixed budgets on the three real text sets
# of bench/MlNetLlm.Bench/BenchDatasets.cs, one after the other, then a table of what each picked and scored on the test
# rows. The baselines it is judged against come from `bench text` (TF-IDF + SDCA at its defaults, one default fine-tune).
#   bash bench/AutoMl/budget-experiments.sh            # DATASETS="amazon fortunes spam" BUDGETS="300 1200" OUT=/tmp/budget-experiments [CLI_DIR=...]
# Run it on an otherwise idle machine: every budget is wall-clock time.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${OUT:-/tmp/budget-experiments}
mkdir -p "$out"
cd "$root"
# A copy of the build: the runs take an hour or more, and a rebuild of the working tree must not change them midway.
# CLI_DIR=folder: use that build instead (the same one as runs measured before these).
if [ -n "${CLI_DIR:-}" ]; then cli="$CLI_DIR"; else
  dotnet build -c Release src/Cli -v q -nologo >/dev/null
  rm -rf "$out/cli" && cp -r src/Cli/bin/Release/net10.0 "$out/cli"
  cli="$out/cli"
fi

args_for() {
  case "$1" in
    amazon) echo "" ;; # the bundled data with its given split
    fortunes) echo "--dataset samples/data/debian_fortunes.csv --label-col category --text-col text --max-classes 10 --test-fraction 0.2" ;;
    spam) echo "--dataset samples/data/spam_assassin.csv --label-col label --text-col text --test-fraction 0.2" ;;
    *) echo "unknown data set $1" >&2; exit 2 ;;
  esac
}

for budget in ${BUDGETS:-300 1200}; do
  for ds in ${DATASETS:-amazon fortunes spam}; do
    dir="$out/$ds-$budget"
    echo "# $ds, $budget s, $(date -u '+%Y-%m-%d %H:%M') UTC, $(git rev-parse --short HEAD) (CLI from $cli), load average $(cut -d' ' -f1 /proc/loadavg)"
    # shellcheck disable=SC2046
    /usr/bin/time -f "%e s wall" dotnet "$cli/MlNetLlm.Cli.dll" classification $(args_for "$ds") \
      --train-time "$budget" --output "$dir" > "$dir.log" 2>&1 || { echo "failed: see $dir.log"; tail -5 "$dir.log"; }
    tail -1 "$dir.log"
  done
done

python3 - "$out" <<'EOF'
import csv, json, os, sys
out = sys.argv[1]
print("| data set | budget s | wall s | trials | fine-tune trials (completed / with a result) | picked | validation | test accuracy | test macro-F1 | pick |")
print("|---|---:|---:|---:|---|---|---:|---:|---:|---|")
for name in sorted(os.listdir(out), key=lambda n: (int(n.rsplit('-', 1)[-1]) if n.rsplit('-', 1)[-1].isdigit() else 0, n)):
    d = os.path.join(out, name)
    if name == "cli" or not os.path.isfile(os.path.join(d, "metrics.json")):
        continue
    m = json.load(open(os.path.join(d, "metrics.json")))
    trials = list(csv.DictReader(open(os.path.join(d, "trials.csv"))))
    ft = [t for t in trials if t["candidate"] == "fine-tune"]
    done = sum(t["status"] == "completed" for t in ft)
    result = sum(t["metric"] != "" for t in ft)
    ds, budget = name.rsplit('-', 1)
    reason = m.get("pick", {}).get("reason", "").replace("|", "/")
    print(f"| {ds} | {budget} | {m['experimentSeconds']:.0f} | {m['trials']} | {done} / {result} of {len(ft)} | {m['candidate']} | "
          f"{m['validationMetric']:.4f} | {m['test']['accuracy']:.4f} | {m['test']['macroF1']:.4f} | {reason} |")
EOF
