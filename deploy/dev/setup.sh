#!/usr/bin/env bash
# Slipway dev stack: install (from Debian 12 packages) and start everything the
# dev stack and the test suite need. Idempotent: run it again at any time; it
# only installs what is missing, only (re)starts what is not answering, and
# always ends by verifying every service. See deploy/dev/README.md.
#
# Works on systemd hosts (systemctl enable --now) and on hosts where systemd is
# not PID 1 (containers, sandboxes): there daemons are started directly,
# detached with setsid/nohup, logging to /var/log/slipway-dev/<name>.log with
# pidfiles in /run/slipway-dev/<name>.pid.
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
SCRIPT_DIR="$(dirname "$SCRIPT_PATH")"
FILES_DIR="$SCRIPT_DIR/files"

if [[ $EUID -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo -- bash "$SCRIPT_PATH" "$@"
  fi
  echo "setup.sh: ERROR: must run as root, and sudo is not installed" >&2
  exit 1
fi

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C.UTF-8
cd /  # daemons and runuser'd tools must not inherit an unreadable cwd

ETC_DIR=/etc/slipway-dev
RUN_DIR=/run/slipway-dev
LOG_DIR=/var/log/slipway-dev
DATA_DIR=/var/lib/slipway-dev

PG_VERSION=15
PG_CLUSTER=main
PG_PORT=5432
# Our settings for the dev cluster: a drop-in in its conf.d (Debian's postgresql.conf includes it last).
PG_DEV_CONF=/etc/postgresql/$PG_VERSION/$PG_CLUSTER/conf.d/50-slipway-dev.conf
DB_NAME=slipway
DB_USER=slipway
DB_PASSWORD=slipway # dev-only, documented; never echoed
REDIS_PORT=6379
REGISTRY=127.0.0.1:5000
PODMAN_SOCK=/run/podman/podman.sock
BASE_IMAGE=localhost/slipway-dev/busybox:latest
PUSHED_IMAGE=$REGISTRY/slipway-dev/busybox:latest

PACKAGES=(
  postgresql-15 postgresql-common postgresql-client-15
  redis-server redis-tools
  podman runc conmon catatonit netavark aardvark-dns iptables
  uidmap fuse-overlayfs slirp4netns
  docker-registry busybox-static
  caddy git curl ca-certificates
  wireguard-tools iproute2 procps util-linux
  chromium # the dashboard's browser tests (playwright-core drives it headless)
)

log() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
  printf 'setup.sh: ERROR: %s\n' "$*" >&2
  exit 1
}

# sd_booted(3): systemd is PID 1 exactly when this directory exists.
has_systemd() { [[ -d /run/systemd/system ]]; }

# wait_until SECONDS CMD...: poll CMD until it succeeds or time runs out.
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# write_file DEST MODE < CONTENT: succeeds only when DEST had to change.
write_file() {
  local dest=$1 mode=$2 tmp
  tmp=$(mktemp)
  cat >"$tmp"
  if [[ -f $dest ]] && cmp -s "$tmp" "$dest"; then
    rm -f "$tmp"
    return 1
  fi
  install -D -m "$mode" "$tmp" "$dest"
  rm -f "$tmp"
  note "wrote $dest"
}

# --- detached daemons for hosts without systemd -------------------------------

# daemon_pid NAME PATTERN: print the pid from our pidfile if that process is
# alive and its command line still matches PATTERN (guards against pid reuse).
daemon_pid() {
  local pidfile=$RUN_DIR/$1.pid pid
  [[ -r $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2" || return 1
  echo "$pid"
}

# without_extra_fds CMD...: exec CMD with only stdin/stdout/stderr open, so a
# daemon it leaves behind holds none of our caller's descriptors (a pipe a CI
# runner reads would otherwise never see EOF). Run it in a subshell.
without_extra_fds() {
  local fd
  for fd in /proc/$BASHPID/fd/*; do
    fd=${fd##*/}
    if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
  exec "$@"
}

# start_daemon NAME USER CMD...: start CMD detached from this shell, as USER.
start_daemon() {
  local name=$1 user=$2
  shift 2
  local cmd=("$@")
  if [[ $user != root ]]; then
    # setpriv execs in place (unlike runuser/su), so $! stays the daemon's pid.
    cmd=(setpriv --reuid="$user" --regid="$user" --init-groups -- "$@")
  fi
  printf -- '--- %s: starting %s\n' "$(date -Is)" "$name" >>"$LOG_DIR/$name.log"
  # setsid: a session of its own, so it survives this shell, its terminal and
  # its process group; background children of a script are never group
  # leaders, so setsid does not fork and $! is the daemon itself.
  (without_extra_fds nohup setsid "${cmd[@]}") >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$RUN_DIR/$name.pid"
  note "started $name (pid $!, log $LOG_DIR/$name.log)"
}

stop_daemon() { # NAME PATTERN
  local pid
  pid=$(daemon_pid "$1" "$2") || return 0
  kill "$pid" 2>/dev/null || true
  wait_until 15 bash -c "! kill -0 $pid" || kill -9 "$pid" 2>/dev/null || true
  rm -f "$RUN_DIR/$1.pid"
  note "stopped $1 (pid $pid)"
}

# listener_pid PORT: pid of the process listening on 127.0.0.1/any:PORT.
listener_pid() {
  { ss -Hltnp "sport = :$1" 2>/dev/null || true; } | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1
}

# --- probes (used for "already running" and for the final verification) ------

pg_ready() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }
redis_ready() { [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]; }
registry_ready() { curl -fsS -m 3 "http://$REGISTRY/v2/" >/dev/null; }
podman_api_ready() { [[ $(curl -sS -m 5 --unix-socket "$PODMAN_SOCK" http://d/_ping 2>/dev/null) == OK ]]; }

# --- steps ---------------------------------------------------------------------

missing_packages() {
  local installed
  installed=$({ dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true; } |
    awk '$2 == "ii" { print $1 }')
  local p
  for p in "${PACKAGES[@]}"; do
    grep -qxF -- "$p" <<<"$installed" || echo "$p"
  done
}

install_packages() {
  log "Debian packages"
  local missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    note "all ${#PACKAGES[@]} packages present, skipping apt"
    return
  fi
  note "installing: ${missing[*]} (log: $LOG_DIR/apt.log)"
  # Lock timeout: another apt run (e.g. unattended-upgrades) may hold the lock.
  # Maintainer scripts may start daemons (e.g. via init.d): keep our fds out of them.
  if ! { (without_extra_fds apt-get -o DPkg::Lock::Timeout=600 update) &&
    (without_extra_fds apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${missing[@]}"); } \
    >>"$LOG_DIR/apt.log" 2>&1; then
    tail -n 20 "$LOG_DIR/apt.log" >&2
    die "apt-get failed installing: ${missing[*]} (full log: $LOG_DIR/apt.log)"
  fi
  # Caddy is only installed for later use; Debian's package enables and starts
  # it on :80 right away, so undo that when we are the ones who installed it.
  if has_systemd && [[ " ${missing[*]} " == *" caddy "* ]]; then
    systemctl disable --now --quiet caddy.service || true
  fi
  mapfile -t missing < <(missing_packages)
  ((${#missing[@]} == 0)) || die "packages still not installed after apt-get: ${missing[*]}"
}

ensure_postgres() {
  log "PostgreSQL $PG_VERSION on 127.0.0.1:$PG_PORT"
  local cluster
  cluster=$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c')
  if [[ -z $cluster ]]; then
    note "creating cluster $PG_VERSION/$PG_CLUSTER"
    pg_createcluster --port "$PG_PORT" "$PG_VERSION" "$PG_CLUSTER" >>"$LOG_DIR/postgres-setup.log" 2>&1 ||
      die "pg_createcluster $PG_VERSION $PG_CLUSTER failed (log: $LOG_DIR/postgres-setup.log)"
    cluster=$(pg_lsclusters -h | awk -v v="$PG_VERSION" -v c="$PG_CLUSTER" '$1 == v && $2 == c')
  fi
  local port status hba=/etc/postgresql/$PG_VERSION/$PG_CLUSTER/pg_hba.conf
  port=$(awk '{ print $3 }' <<<"$cluster")
  status=$(awk '{ print $4 }' <<<"$cluster")
  [[ $port == "$PG_PORT" ]] ||
    die "cluster $PG_VERSION/$PG_CLUSTER uses port $port, expected $PG_PORT (fix /etc/postgresql/$PG_VERSION/$PG_CLUSTER/postgresql.conf)"

  # Written before the cluster is started, so that a first start needs no restart for it.
  write_postgres_conf || true

  # Tests connect over TCP with a password; Debian's default pg_hba already
  # allows that (scram-sha-256 on 127.0.0.1/32), so only add it when missing.
  local hba_changed=0
  if ! grep -Eq '^[[:space:]]*host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]' "$hba"; then
    sed -i '1i host    all    all    127.0.0.1/32    scram-sha-256  # added by slipway deploy/dev/setup.sh' "$hba"
    note "added a 127.0.0.1/32 password rule to $hba"
    hba_changed=1
  fi

  if has_systemd; then
    systemctl enable --quiet postgresql.service
    [[ $status == online* ]] || systemctl start "postgresql@$PG_VERSION-$PG_CLUSTER.service"
  elif [[ $status == online* ]]; then
    note "already running"
  else
    # pg_ctlcluster runs the server as postgres, detached, with its pidfile in
    # the data directory and its log in /var/log/postgresql/. Retry: after a
    # crash, the old server's children hold its socket lock for a moment.
    local try
    for try in 1 2 3 4 5; do
      if (without_extra_fds pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" start) >>"$LOG_DIR/postgres-setup.log" 2>&1; then
        break
      fi
      ((try < 5)) || die "pg_ctlcluster $PG_VERSION $PG_CLUSTER start failed (logs: $LOG_DIR/postgres-setup.log, /var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log)"
      sleep 2
    done
    note "started cluster $PG_VERSION/$PG_CLUSTER"
  fi
  ((hba_changed == 0)) || pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" reload
  wait_until 30 pg_ready ||
    die "PostgreSQL is not accepting connections on 127.0.0.1:$PG_PORT (log: /var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log)"

  # Role and database: skip the writes when the app login already works.
  if slipway_db_ok; then
    note "role $DB_USER and database $DB_NAME ok"
    return
  fi
  # SQL goes in on stdin so the password never shows up in ps or in logs.
  runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres >/dev/null <<SQL ||
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER;
  END IF;
END \$\$;
ALTER ROLE $DB_USER WITH LOGIN CREATEDB PASSWORD '$DB_PASSWORD';
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DB_NAME') \gexec
ALTER DATABASE $DB_NAME OWNER TO $DB_USER;
SQL
    die "could not create/alter role $DB_USER or database $DB_NAME"
  note "role $DB_USER (LOGIN CREATEDB) and database $DB_NAME ensured"
}

# Succeeds only when the file had to change.
write_postgres_conf() {
  write_file "$PG_DEV_CONF" 0644 <<'EOF'
# Written by Slipway's deploy/dev/setup.sh; rewritten on every run.
# pg_stat_statements (execution time and calls per statement) must be loaded at server start:
# bench/agent-channel.ts reports PostgreSQL's cost per claim from it. A change here needs a
# restart, which setup.sh does only when the running server lacks the library.
shared_preload_libraries = 'pg_stat_statements'
EOF
}

# psql as the cluster's superuser over the Unix socket (peer authentication); SQL comes in on stdin.
pg_superuser() { runuser -u postgres -- psql -X -q -tA -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres "$@"; }

pg_stat_statements_loaded() {
  [[ $(pg_superuser 2>/dev/null <<<"SELECT 'pg_stat_statements' = ANY (string_to_array(
         replace(current_setting('shared_preload_libraries'), ' ', ''), ','))") == t ]]
}

# Restarts the cluster only when its configuration preloads pg_stat_statements and the running
# server has not loaded it (the setting changed after it started). Then installs the extension in
# the database "postgres": it is not a trusted extension, so the slipway role cannot create it
# itself, and its view in any one database shows every database's statements.
ensure_pg_stat_statements() {
  log "PostgreSQL: pg_stat_statements"
  if ! pg_stat_statements_loaded; then
    # What a restart would load: the last shared_preload_libraries the configuration files set
    # (pg_file_settings reads them afresh; ALTER SYSTEM's postgresql.auto.conf comes after conf.d).
    local configured clients
    configured=$(pg_superuser <<<"SELECT sourcefile || ': ' || setting FROM pg_file_settings
      WHERE name = 'shared_preload_libraries' ORDER BY seqno DESC LIMIT 1")
    if [[ $configured != *pg_stat_statements* ]]; then
      # Not fatal: only the benchmark's statement figures need it, and it says so when they are missing.
      note "WARNING: not loaded, and a later setting overrides $PG_DEV_CONF (${configured:-unset});"
      note "         bench/agent-channel.ts will report no statement figures"
      return
    fi
    clients=$(pg_superuser <<<"SELECT count(*) FROM pg_stat_activity
      WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")
    note "restarting cluster $PG_VERSION/$PG_CLUSTER to load it ($configured; closes $clients client connections)"
    if has_systemd; then
      systemctl restart "postgresql@$PG_VERSION-$PG_CLUSTER.service"
    else
      (without_extra_fds pg_ctlcluster "$PG_VERSION" "$PG_CLUSTER" restart -m fast) >>"$LOG_DIR/postgres-setup.log" 2>&1 ||
        die "pg_ctlcluster $PG_VERSION $PG_CLUSTER restart failed (logs: $LOG_DIR/postgres-setup.log, /var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log)"
    fi
    wait_until 30 pg_ready ||
      die "PostgreSQL is not accepting connections on 127.0.0.1:$PG_PORT after its restart (log: /var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log)"
    pg_stat_statements_loaded ||
      die "pg_stat_statements is not loaded after a restart (log: /var/log/postgresql/postgresql-$PG_VERSION-$PG_CLUSTER.log)"
  fi
  # Both idempotent. Resetting statistics is the superuser's unless granted; the benchmark resets
  # only its own database's.
  pg_superuser >/dev/null <<SQL || die "could not create the pg_stat_statements extension in database postgres"
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
GRANT EXECUTE ON FUNCTION pg_stat_statements_reset(oid, oid, bigint) TO $DB_USER;
SQL
  note "loaded; extension in database postgres; $DB_USER may reset statistics"
  # Tests drop their databases WITH (FORCE), which must also end an autovacuum worker busy in one
  # (it runs as no role): without this, PostgreSQL 15 refuses ("must be a member of the role whose
  # process is being terminated"), and a test file fails after all its tests passed (seen once).
  pg_superuser >/dev/null <<SQL || die "could not grant pg_signal_backend to $DB_USER"
GRANT pg_signal_backend TO $DB_USER;
SQL
  note "$DB_USER may end other sessions of its own databases (pg_signal_backend)"
}

# The app's own view: password login over TCP, CREATEDB, owns its database.
slipway_db_ok() {
  local out
  out=$(PGPASSWORD=$DB_PASSWORD PGCONNECT_TIMEOUT=5 psql -X -w -tA -h 127.0.0.1 -p "$PG_PORT" \
    -U "$DB_USER" -d "$DB_NAME" -c \
    "SELECT r.rolcreatedb AND pg_get_userbyid(d.datdba) = current_user
       FROM pg_roles r, pg_database d
      WHERE r.rolname = current_user AND d.datname = current_database()" 2>/dev/null) || return 1
  [[ $out == t ]]
}

ensure_redis() {
  log "Redis on 127.0.0.1:$REDIS_PORT"
  if has_systemd; then
    systemctl enable --now --quiet redis-server.service
  elif redis_ready; then
    note "already running"
  else
    stop_daemon redis redis-server # a hung leftover of ours, if any
    # Debian's redis.conf daemonizes and logs to its own file; keep it in the
    # foreground of our detached session so our pidfile and log are right.
    start_daemon redis redis redis-server /etc/redis/redis.conf \
      --daemonize no --supervised no --pidfile "" --logfile "" \
      --bind 127.0.0.1 -::1 --port "$REDIS_PORT"
  fi
  wait_until 20 redis_ready || die "Redis is not answering PING on 127.0.0.1:$REDIS_PORT (log: $(service_log redis))"
}

configure_podman() {
  log "podman configuration"
  # Containers get default rlimits from containers.conf; podman's built-in
  # default (nofile/nproc 1048576) is above the hard limits of sandboxed hosts
  # that lack CAP_SYS_RESOURCE, and then every container fails to start with
  # "error setting rlimit ...: operation not permitted". So use this host's
  # own hard limits. podman also lowers its own RLIMIT_NPROC to
  # kernel.pid_max at startup, so nproc must not exceed that either.
  local nofile nproc pid_max
  pid_max=$(</proc/sys/kernel/pid_max)
  nofile=$(ulimit -Hn)
  [[ $nofile == unlimited ]] && nofile=$(</proc/sys/fs/nr_open)
  ((nofile <= 1048576)) || nofile=1048576
  nproc=$(ulimit -Hu)
  [[ $nproc == unlimited ]] && nproc=$pid_max
  ((nproc <= pid_max)) || nproc=$pid_max
  ((nproc <= 1048576)) || nproc=1048576

  local engine_extra=""
  if ! has_systemd; then
    # Without systemd there is no systemd cgroup manager and no journald.
    engine_extra=$'cgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
  fi

  PODMAN_CONF_CHANGED=0
  if write_file /etc/containers/containers.conf.d/50-slipway-dev.conf 0644 <<EOF; then PODMAN_CONF_CHANGED=1; fi
# Written by Slipway's deploy/dev/setup.sh; recomputed on every run.
[containers]
# At or below this host's hard limits (ulimit -Hn / -Hu, kernel.pid_max).
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
# crun fails on cgroup v1/v2 hybrid hosts; runc works on those and everywhere else.
runtime = "runc"
$engine_extra
EOF
  if write_file /etc/containers/registries.conf.d/50-slipway-dev.conf 0644 \
    <"$FILES_DIR/registries-slipway-dev.conf"; then PODMAN_CONF_CHANGED=1; fi
  note "runtime runc, default ulimits nofile=$nofile nproc=$nproc"
}

ensure_podman_service() {
  log "podman API (Docker-compatible) on unix://$PODMAN_SOCK"
  if has_systemd; then
    systemctl enable --now --quiet podman.socket
    # The socket-activated service keeps old config until restarted.
    ((PODMAN_CONF_CHANGED == 0)) || systemctl try-restart podman.service
  else
    local pattern="system service --time=0 unix://$PODMAN_SOCK"
    if ((PODMAN_CONF_CHANGED == 1)); then stop_daemon podman-service "$pattern"; fi
    if daemon_pid podman-service "$pattern" >/dev/null && wait_until 10 podman_api_ready; then
      note "already running"
    elif podman_api_ready; then
      note "already answering (not started by this script)"
    else
      stop_daemon podman-service "$pattern"
      mkdir -p "$(dirname "$PODMAN_SOCK")"
      # --time=0: never exit on idle; there is no socket activation to restart it.
      start_daemon podman-service root podman system service --time=0 "unix://$PODMAN_SOCK"
    fi
  fi
  wait_until 30 podman_api_ready ||
    die "podman API is not answering on $PODMAN_SOCK (log: $(service_log podman-service))"
}

ensure_registry() {
  log "Container registry (Docker Distribution) on http://$REGISTRY"
  local changed=0
  if write_file "$ETC_DIR/registry.yml" 0644 <"$FILES_DIR/registry.yml"; then changed=1; fi
  install -d -o docker-registry -g docker-registry -m 0750 "$DATA_DIR/registry"

  if has_systemd; then
    if write_file /etc/systemd/system/slipway-dev-registry.service 0644 \
      <"$FILES_DIR/slipway-dev-registry.service"; then
      systemctl daemon-reload
      changed=1
    fi
    # Debian's own unit would compete for :5000 with the package's config.
    if systemctl is-enabled --quiet docker-registry.service 2>/dev/null ||
      systemctl is-active --quiet docker-registry.service; then
      systemctl disable --now --quiet docker-registry.service
    fi
    systemctl enable --now --quiet slipway-dev-registry.service
    ((changed == 0)) || systemctl restart slipway-dev-registry.service
  else
    local pattern="docker-registry serve $ETC_DIR/registry.yml" pid
    ((changed == 0)) || stop_daemon registry "$pattern"
    if daemon_pid registry "$pattern" >/dev/null; then
      note "already running"
    else
      pid=$(listener_pid 5000)
      if [[ -n $pid ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$pattern"; then
        echo "$pid" >"$RUN_DIR/registry.pid" # ours, pidfile was lost: adopt it
        note "already running (pid $pid)"
      elif [[ -n $pid ]]; then
        die "port 5000 is taken by another process: pid $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline")); stop it (Debian's own: /etc/init.d/docker-registry stop) and re-run"
      else
        start_daemon registry docker-registry /usr/bin/docker-registry serve "$ETC_DIR/registry.yml"
      fi
    fi
  fi
  wait_until 20 registry_ready || die "registry is not answering on http://$REGISTRY/v2/ (log: $(service_log registry))"
}

service_log() { # where to look when NAME fails
  if has_systemd; then
    case $1 in
      redis) echo "journalctl -u redis-server" ;;
      podman-service) echo "journalctl -u podman.service" ;;
      registry) echo "journalctl -u slipway-dev-registry" ;;
    esac
  else
    echo "$LOG_DIR/$1.log"
  fi
}

# Build the local base image FROM scratch with Debian's static busybox (no
# public registry is reachable here). Rebuilt only when busybox changes.
ensure_base_image() {
  log "base image $BASE_IMAGE"
  local sum current ctx
  sum=$(sha256sum /bin/busybox | cut -d' ' -f1)
  current=$(podman image inspect --format '{{ index .Labels "dev.slipway.busybox-sha256" }}' "$BASE_IMAGE" 2>/dev/null || true)
  if [[ $current == "$sum" ]]; then
    note "up to date"
    return
  fi
  ctx=$(mktemp -d)
  cp /bin/busybox "$ctx/busybox"
  if ! podman build -q --label "dev.slipway.busybox-sha256=$sum" -t "$BASE_IMAGE" \
    -f "$FILES_DIR/busybox.Containerfile" "$ctx" >>"$LOG_DIR/podman-build.log" 2>&1; then
    rm -rf "$ctx"
    tail -n 20 "$LOG_DIR/podman-build.log" >&2
    die "podman build of $BASE_IMAGE failed (log: $LOG_DIR/podman-build.log)"
  fi
  rm -rf "$ctx"
  note "built"
}

# Caddy keeps its listening socket across configuration changes with SO_REUSEPORT: the new
# configuration opens a second socket on the port and the old one closes. Connections still queued
# on the old socket were reset by the kernel (measured: about one refused request in five changes
# under load). tcp_migrate_req (Linux 5.14+) hands them to the socket that stays, so a route change
# during a rollout drops nothing. Per network namespace; kept in /etc/sysctl.d for reboots.
ensure_ingress_sysctl() {
  write_file /etc/sysctl.d/60-slipway-ingress.conf 0644 <<'CONF' || true
# Written by Slipway's deploy/dev/setup.sh: Caddy's configuration changes must not reset the
# connections queued on its listener (see ensure_ingress_sysctl there).
net.ipv4.tcp_migrate_req = 1
CONF
  sysctl -q -w net.ipv4.tcp_migrate_req=1 >/dev/null
}
check_ingress_sysctl() { [[ $(sysctl -n net.ipv4.tcp_migrate_req 2>/dev/null) == 1 ]]; }

# --- verification ----------------------------------------------------------------

FAILED=()
check() { # DESCRIPTION CMD...
  local desc=$1
  shift
  if "$@"; then
    printf '    ok    %s\n' "$desc"
  else
    printf '    FAIL  %s\n' "$desc"
    FAILED+=("$desc")
  fi
}

check_podman_runtime() { [[ $(podman info --format '{{.Host.OCIRuntime.Name}}' 2>/dev/null) == runc ]]; }

check_podman_run() {
  [[ $(podman run --rm "$BASE_IMAGE" echo slipway-ok 2>>"$LOG_DIR/verify.log") == slipway-ok ]]
}

# A container on the default bridge network with a published port, answering
# from the host over loopback.
check_port_publish() {
  local name=slipway-dev-verify-web port body="" i
  for port in $(seq 18080 18099); do
    [[ -z $(ss -Hltn "sport = :$port") ]] && break
  done
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  podman run -d --name "$name" -p "127.0.0.1:$port:8080" "$BASE_IMAGE" \
    sh -c 'mkdir -p /www && echo slipway-ok >/www/index.html && exec httpd -f -p 8080 -h /www' \
    >/dev/null 2>>"$LOG_DIR/verify.log" || return 1
  for i in $(seq 1 50); do
    body=$(curl -fsS -m 2 "http://127.0.0.1:$port/" 2>/dev/null || true)
    [[ $body == slipway-ok ]] && break
    sleep 0.2
  done
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  [[ $body == slipway-ok ]]
}

check_registry_push() {
  podman push -q "$BASE_IMAGE" "docker://$PUSHED_IMAGE" >>"$LOG_DIR/verify.log" 2>&1 &&
    curl -fsS -m 5 "http://$REGISTRY/v2/slipway-dev/busybox/tags/list" | grep -q '"latest"'
}

# Deletes are enabled: push a throwaway repo and delete its manifest by digest.
check_registry_delete() {
  local repo=slipway-dev/verify-delete digest
  podman push -q "$BASE_IMAGE" "docker://$REGISTRY/$repo:latest" >>"$LOG_DIR/verify.log" 2>&1 || return 1
  digest=$(curl -fsSI -m 5 \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY/v2/$repo/manifests/latest" | tr -d '\r' | awk -F': ' 'tolower($1) == "docker-content-digest" { print $2 }')
  [[ -n $digest ]] &&
    [[ $(curl -sS -m 5 -o /dev/null -w '%{http_code}' -X DELETE "http://$REGISTRY/v2/$repo/manifests/$digest") == 202 ]]
}

# Pull through the Docker-compatible API, as dockerode does.
check_api_pull() {
  local out
  # Untag only (never rmi -f: that would also remove containers using it);
  # the pull must then bring the name back from the registry.
  podman untag "$PUSHED_IMAGE" >/dev/null 2>&1 || true
  out=$(curl -sS -m 60 --unix-socket "$PODMAN_SOCK" -X POST \
    "http://d/v1.41/images/create?fromImage=$REGISTRY/slipway-dev/busybox&tag=latest" 2>&1) || return 1
  echo "$out" >>"$LOG_DIR/verify.log"
  ! grep -q '"error' <<<"$out" && podman image exists "$PUSHED_IMAGE"
}

# Headless Chromium starts and renders a page: what the dashboard's browser tests need.
check_chromium() {
  local out
  out=$(timeout 60 chromium --headless --no-sandbox --disable-gpu --dump-dom \
    'data:text/html,<p>slipway-ok</p>' 2>>"$LOG_DIR/verify.log") || return 1
  grep -q slipway-ok <<<"$out"
}

check_tools() {
  local t ok=0
  for t in git curl caddy wg ip; do
    command -v "$t" >/dev/null || { echo "    missing command: $t"; ok=1; }
  done
  return "$ok"
}

verify() {
  log "verify"
  : >"$LOG_DIR/verify.log"
  check "postgres: $DB_USER@127.0.0.1:$PG_PORT/$DB_NAME (password login, CREATEDB)" slipway_db_ok
  check "redis: PING 127.0.0.1:$REDIS_PORT" redis_ready
  check "podman: OCI runtime is runc" check_podman_runtime
  check "podman: run --rm $BASE_IMAGE" check_podman_run
  check "podman: published port 127.0.0.1:<port>->8080 answers (bridge network)" check_port_publish
  check "podman API: _ping on $PODMAN_SOCK" podman_api_ready
  check "registry: push $PUSHED_IMAGE, listed in tags/list" check_registry_push
  check "registry: manifest DELETE enabled" check_registry_delete
  check "podman API: pull $PUSHED_IMAGE" check_api_pull
  check "tools: git curl caddy wg ip (installed, not started)" check_tools
  check "chromium: headless renders a page (dashboard browser tests)" check_chromium
  check "kernel: net.ipv4.tcp_migrate_req = 1 (Caddy's config changes reset no queued connection)" check_ingress_sysctl
  if ((${#FAILED[@]})); then
    printf 'setup.sh: FAILED: %s\n' "${FAILED[@]}" >&2
    echo "setup.sh: details in $LOG_DIR/verify.log and the service logs in $LOG_DIR/" >&2
    exit 1
  fi
}

# One run at a time: concurrent runs would race on pidfiles and apt. A lock
# directory rather than flock(1): an flock'ed descriptor would be inherited by
# every daemon started here and keep the lock held forever.
acquire_lock() {
  local lock=$RUN_DIR/setup.lock.d other deadline=$((SECONDS + 900))
  until mkdir "$lock" 2>/dev/null; do
    other=$(cat "$lock/pid" 2>/dev/null || true)
    if [[ -n $other ]] && ! kill -0 "$other" 2>/dev/null; then
      rm -rf "$lock" # left by a run that was killed
      continue
    fi
    ((SECONDS < deadline)) || die "another setup.sh run (pid ${other:-?}) holds $lock"
    sleep 1
  done
  echo $$ >"$lock/pid"
  trap 'rm -rf "$RUN_DIR/setup.lock.d"' EXIT
}

main() {
  local started=$SECONDS
  install -d -m 0755 "$ETC_DIR" "$RUN_DIR" "$LOG_DIR" "$DATA_DIR"
  acquire_lock

  has_systemd && note "systemd host: using systemctl" || note "no systemd: starting daemons directly (pids: $RUN_DIR, logs: $LOG_DIR)"
  install_packages
  ensure_postgres
  ensure_pg_stat_statements
  ensure_redis
  configure_podman
  ensure_podman_service
  ensure_registry
  ensure_base_image
  ensure_ingress_sysctl
  verify
  log "all services up ($((SECONDS - started))s)"
}

main "$@"
