#!/usr/bin/env bash
# Makes sure PostgreSQL and Redis answer, and writes .run/stack.env with their URLs.
# Uses ORDERMILL_DATABASE_URL / ORDERMILL_REDIS_URL when they answer; otherwise
# installs the servers with apt (as root) if missing and starts throwaway ones
# under .run/ on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."
RUN_DIR="$PWD/.run"
mkdir -p "$RUN_DIR"

DB_URL="${ORDERMILL_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ordermill?sslmode=disable}"
REDIS_URL="${ORDERMILL_REDIS_URL:-redis://127.0.0.1:6379/0}"

say() { echo "stack: $*" >&2; }

free_port() {
  local port=$1
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
  echo "$port"
}

# Postgres answers if we can connect to its "postgres" database with the URL's credentials.
pg_answers() {
  local admin
  admin=$(echo "$1" | sed -E 's#(postgres(ql)?://[^/]*)/[^?]*#\1/postgres#')
  command -v psql >/dev/null && psql "$admin" -Atqc 'select 1' >/dev/null 2>&1
}

redis_answers() {
  command -v redis-cli >/dev/null && [ "$(redis-cli -u "$1" ping 2>/dev/null)" = "PONG" ]
}

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    say "need $* but not root: install them or point ORDERMILL_DATABASE_URL/ORDERMILL_REDIS_URL at running servers"
    exit 1
  fi
  say "installing $* with apt"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

start_postgres() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
  if [ -z "$bin" ]; then
    apt_install postgresql postgresql-client
    bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  fi
  local data="$RUN_DIR/postgres" port
  if [ -f "$RUN_DIR/postgres.port" ] && pg_answers "postgres://postgres@127.0.0.1:$(cat "$RUN_DIR/postgres.port")/postgres?sslmode=disable"; then
    port=$(cat "$RUN_DIR/postgres.port")
  else
    port=$(free_port 55432)
    local as=()
    if [ "$(id -u)" -eq 0 ]; then
      id postgres >/dev/null 2>&1 || useradd -r -m postgres
      as=(runuser -u postgres --)
      mkdir -p "$data" && chown postgres "$data" "$RUN_DIR"
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
      "${as[@]}" "$bin/initdb" -D "$data" -U postgres -A trust >/dev/null
    fi
    "${as[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w \
      -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300" start >/dev/null
    echo "$port" >"$RUN_DIR/postgres.port"
    say "started throwaway PostgreSQL on 127.0.0.1:$port (data in .run/postgres)"
  fi
  DB_URL="postgres://postgres@127.0.0.1:$port/ordermill?sslmode=disable"
}

start_redis() {
  command -v redis-server >/dev/null || apt_install redis-server redis-tools
  local port
  if [ -f "$RUN_DIR/redis.port" ] && redis_answers "redis://127.0.0.1:$(cat "$RUN_DIR/redis.port")/0"; then
    port=$(cat "$RUN_DIR/redis.port")
  else
    port=$(free_port 56379)
    mkdir -p "$RUN_DIR/redis"
    redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --dir "$RUN_DIR/redis" \
      --save "" --appendonly no --logfile "$RUN_DIR/redis/redis.log" >/dev/null
    for _ in $(seq 50); do redis_answers "redis://127.0.0.1:$port/0" && break; sleep 0.1; done
    echo "$port" >"$RUN_DIR/redis.port"
    say "started throwaway Redis on 127.0.0.1:$port"
  fi
  REDIS_URL="redis://127.0.0.1:$port/0"
}

command -v psql >/dev/null || apt_install postgresql-client
pg_answers "$DB_URL" || start_postgres
command -v redis-cli >/dev/null || apt_install redis-tools
redis_answers "$REDIS_URL" || start_redis

cat >"$RUN_DIR/stack.env" <<ENV
export ORDERMILL_DATABASE_URL='$DB_URL'
export ORDERMILL_REDIS_URL='$REDIS_URL'
ENV
say "PostgreSQL $DB_URL, Redis $REDIS_URL"
