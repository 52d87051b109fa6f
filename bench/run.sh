#!/usr/bin/env bash
# Compiles the benchmark into bench/dist and runs it; arguments go to bench/webhooks.ts.
# Needs `pnpm install && pnpm build` first (it imports the built @slipway/control-plane).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
node_modules/.bin/tsc -p bench/tsconfig.json
exec node bench/dist/webhooks.js "$@"
