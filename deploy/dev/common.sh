# Shared by stack.sh and test.sh: bring the host and the workspace to a runnable state.
# Sourced, not executed.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PNPM_VERSION="10.34.9"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# System packages and services (PostgreSQL, Redis, podman, the registry): idempotent.
prepare_host() {
  as_root bash "$REPO_ROOT/deploy/dev/setup.sh"
}

# Node packages and the build (proto generation, TypeScript) of every workspace package.
prepare_workspace() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$major" -lt 20 ]; then
    echo "slipway: Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
    exit 1
  fi
  if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
    echo "==> Installing pnpm $PNPM_VERSION"
    as_root npm install --global --no-fund --no-audit "pnpm@$PNPM_VERSION" >/dev/null
  fi
  cd "$REPO_ROOT"
  echo "==> Installing Node packages"
  pnpm install --frozen-lockfile --reporter=silent
  echo "==> Building"
  pnpm run --silent build
}
