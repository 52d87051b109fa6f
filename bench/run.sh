#!/usr/bin/env bash
# Compiles the benchmarks into bench/dist and runs one:
#   bench/run.sh [webhooks|agent-channel|rollouts] [options...]   (webhooks when no name is given)
# Needs `pnpm install && pnpm build` first (it imports the built packages).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node_modules/.bin/tsc -p bench/tsconfig.json
name="webhooks"
case "${1:-}" in
  webhooks | agent-channel | rollouts) name="$1"; shift ;;
esac
# rootDir is the repository (the benchmarks compile the test stand-ins they share): bench/dist/bench/.
exec node "bench/dist/bench/$name.js" "$@"
