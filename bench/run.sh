#!/usr/bin/env bash
# Compiles the benchmarks into bench/dist and runs one:
#   bench/run.sh [webhooks|agent-channel] [options...]   (webhooks when no name is given)
# Needs `pnpm install && pnpm build` first (it imports the built packages).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node_modules/.bin/tsc -p bench/tsconfig.json
name="webhooks"
case "${1:-}" in
  webhooks | agent-channel) name="$1"; shift ;;
esac
exec node "bench/dist/$name.js" "$@"
