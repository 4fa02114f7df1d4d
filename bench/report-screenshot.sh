#!/usr/bin/env bash
# Renders an experiment's report.html in headless Chromium (Debian package `chromium`) and saves a PNG, to check that
# the self-contained report draws without network access.
#   bash bench/report-screenshot.sh out/classification/report.html out/classification/report.png
set -euo pipefail
html=$(realpath "${1:-out/classification/report.html}")
png=${2:-${html%.html}.png}
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; else echo "install chromium first" >&2; exit 1; fi
fi
profile=$(mktemp -d)
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --window-size=1150,2400 \
  --screenshot="$png" "file://$html" >/dev/null 2>&1
rm -rf "$profile"
echo "wrote $png"
