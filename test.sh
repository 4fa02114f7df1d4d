#!/usr/bin/env bash
# The README's test command: restores, builds and runs every test in MlNetLlm.sln, then prints
# one plain "N passed, N failed, N skipped" line. Extra arguments go to `dotnet test`
# (e.g. `bash test.sh --filter Category=Reference`).
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log=$(mktemp)
dotnet test MlNetLlm.sln -c Release "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
passed=0 failed=0 skipped=0
while read -r f p s; do
  failed=$((failed + f)); passed=$((passed + p)); skipped=$((skipped + s))
done < <(sed -nE 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\1 \2 \3/p' "$log")
rm -f "$log"
echo "tests: $passed passed, $failed failed, $skipped skipped"
if [ "$rc" -eq 0 ] && [ "$passed" -eq 0 ]; then echo "no test ran" >&2; exit 1; fi
exit "$rc"
