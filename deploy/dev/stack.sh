#!/usr/bin/env bash
# Sets everything up on this host and runs the all-in-one stack in the foreground:
# the control plane, one local agent (build + deploy), Caddy as the ingress and the local registry.
# Ctrl-C stops the control plane, the agent and Caddy; system services keep running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

prepare_host
prepare_workspace

# Where the stack keeps its secrets, the agent identity and the logs.
STATE="${SLIPWAY_STACK_DIR:-$REPO_ROOT/.stack}"
mkdir -p "$STATE"
chmod 700 "$STATE"

# Secrets are made once and kept (0600) so restarts keep the same token and webhook secret.
if [ ! -f "$STATE/env" ]; then
  umask 077
  {
    echo "GITHUB_WEBHOOK_SECRET=$(node -p "require('crypto').randomBytes(32).toString('hex')")"
    echo "SLIPWAY_BOOTSTRAP_TOKEN=$(node -p "require('crypto').randomBytes(32).toString('hex')")"
    echo "SLIPWAY_SECRET_KEY=$(node -p "require('crypto').randomBytes(32).toString('base64')")"
  } >"$STATE/env"
fi
set -a
# shellcheck disable=SC1091
source "$STATE/env"
# Stacks made before the secret key existed get one now.
if [ -z "${SLIPWAY_SECRET_KEY:-}" ]; then
  SLIPWAY_SECRET_KEY="$(node -p "require('crypto').randomBytes(32).toString('base64')")"
  echo "SLIPWAY_SECRET_KEY=$SLIPWAY_SECRET_KEY" >>"$STATE/env"
fi
DATABASE_URL="${DATABASE_URL:-postgres://slipway:slipway@127.0.0.1:5432/slipway}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
REGISTRY_HOST="${REGISTRY_HOST:-127.0.0.1:5000}"
HTTP_HOST="${HTTP_HOST:-127.0.0.1}"
HTTP_PORT="${HTTP_PORT:-8080}"
GRPC_HOST="${GRPC_HOST:-127.0.0.1}"
GRPC_PORT="${GRPC_PORT:-8081}"
PUBLIC_URL="${PUBLIC_URL:-http://$HTTP_HOST:$HTTP_PORT}"
# Services answer at http://<service>-<project>.localhost:8088: *.localhost resolves to the
# loopback address with no DNS set-up. The control plane configures Caddy through its admin API on
# a unix socket in the stack's directory (only this user can reach it).
INGRESS_BASE_DOMAIN="${INGRESS_BASE_DOMAIN:-localhost}"
INGRESS_LISTEN="${INGRESS_LISTEN:-127.0.0.1:8088}"
INGRESS_CADDY_ADMIN="${INGRESS_CADDY_ADMIN:-unix:$STATE/caddy/admin.sock}"
set +a

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo; echo "==> Stopping"; exit 0' INT TERM

if [ "$INGRESS_CADDY_ADMIN" = "unix:$STATE/caddy/admin.sock" ]; then
  echo "==> Starting Caddy, the ingress (log: $STATE/caddy.log)"
  mkdir -p "$STATE/caddy"
  rm -f "$STATE/caddy/admin.sock"
  printf '{"admin":{"listen":"unix/%s","origins":["localhost"]}}\n' "$STATE/caddy/admin.sock" >"$STATE/caddy/caddy.json"
  # Its own HOME: its autosaved configuration and certificates stay in the stack's directory.
  HOME="$STATE/caddy" XDG_DATA_HOME="$STATE/caddy" XDG_CONFIG_HOME="$STATE/caddy" \
    caddy run --config "$STATE/caddy/caddy.json" >>"$STATE/caddy.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 100); do
    [ -S "$STATE/caddy/admin.sock" ] && break
    sleep 0.1
  done
fi

echo "==> Starting the control plane (log: $STATE/control-plane.log)"
node "$REPO_ROOT/control-plane/dist/main.js" serve >>"$STATE/control-plane.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 100); do
  if curl -fsS "http://$HTTP_HOST:$HTTP_PORT/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "${pids[-1]}" 2>/dev/null; then
    echo "slipway: the control plane exited; last lines of its log:" >&2
    tail -n 20 "$STATE/control-plane.log" >&2
    exit 1
  fi
  sleep 0.2
done

# Enrol the local agent once; afterwards it authenticates with the certificate it stored. An
# identity from before mutual TLS (no certificate in it) is replaced by a fresh enrolment.
if [ -f "$STATE/agent/identity.json" ] && ! grep -q certificatePem "$STATE/agent/identity.json"; then
  rm -f "$STATE/agent/identity.json"
fi
if [ ! -f "$STATE/agent/identity.json" ]; then
  # The token goes to curl through a file descriptor, never through argv (visible in ps).
  join_token="$(curl -fsS -X POST "http://$HTTP_HOST:$HTTP_PORT/api/agents" \
    -H @<(printf 'authorization: Bearer %s\n' "$SLIPWAY_BOOTSTRAP_TOKEN") -H 'content-type: application/json' \
    -d "{\"name\":\"local-$(date +%s)\",\"capabilities\":[\"build\",\"deploy\"]}" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).joinToken))')"
  export SLIPWAY_JOIN_TOKEN="$join_token"
fi
echo "==> Starting the local agent (log: $STATE/agent.log)"
SLIPWAY_SERVER="$GRPC_HOST:$GRPC_PORT" SLIPWAY_STATE_DIR="$STATE/agent" \
  node "$REPO_ROOT/agent/dist/main.js" >>"$STATE/agent.log" 2>&1 &
pids+=("$!")
unset SLIPWAY_JOIN_TOKEN

cat <<MSG

Slipway is running at $PUBLIC_URL
  API token:         in $STATE/env (SLIPWAY_BOOTSTRAP_TOKEN)
  GitHub webhook:    $PUBLIC_URL/api/webhooks/github (secret: GITHUB_WEBHOOK_SECRET in $STATE/env)
  Registry:          http://$REGISTRY_HOST
  Services:          http://<service>-<project>.$INGRESS_BASE_DOMAIN:${INGRESS_LISTEN##*:} (each service's "url")
  Press Ctrl-C to stop.

MSG
wait -n "${pids[@]}"
echo "slipway: a process of the stack exited; see the logs in $STATE" >&2
exit 1
