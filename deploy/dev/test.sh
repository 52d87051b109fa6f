#!/usr/bin/env bash
# Sets everything up on this host and runs every check and test:
#   typecheck, lint, and the vitest suite (unit, integration and end-to-end on real services).
# Ends with one line "N passed, N failed" from the test runner's report.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

prepare_host
prepare_workspace
cd "$REPO_ROOT"

echo "==> Typecheck"
pnpm run --silent typecheck
echo "==> Lint"
pnpm run --silent lint
pnpm --filter @slipway/proto run --silent lint

echo "==> Tests"
results="$REPO_ROOT/.vitest-results.json"
rm -f "$results"
status=0
pnpm exec vitest run --reporter=default --reporter=json --outputFile.json="$results" || status=$?
if [ ! -s "$results" ]; then
  echo "slipway: the test runner wrote no report" >&2
  exit 1
fi
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed${skipped ? `, ${skipped} skipped` : ""}`);
' "$results"
exit "$status"
