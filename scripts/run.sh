#!/usr/bin/env bash
# Starts the whole platform on http://localhost:8080 with demo data: migrations,
# the demo shop and users, the simulator trickling realistic webhooks into the
# demo shop, the server with every role, and the demo shop's install of the
# app through OAuth against the simulator. Expects the variables from
# .run/stack.env and the binaries in bin/ (BIN_DIR). `run.sh check-ports`
# only checks that the ports it needs are free (make run does that first).
#
# Variables (README, "make run"): ORDERMILL_HTTP_ADDR (:8080), SIMULATOR_PORT
# (8090), ORDERMILL_METRICS_ADDR (unset), DEMO_TRICKLE (1),
# ORDERMILL_SHOPIFY_API_URL and ORDERMILL_SES_ENDPOINT (the simulator),
# ORDERMILL_APP_URL (http://127.0.0.1:<server port>), BIN_DIR
# (bin), RUN_DIR (.run, where the logs go), and every ORDERMILL_* variable of
# `ordermill --help`.
set -euo pipefail
cd "$(dirname "$0")/.."
logs="${RUN_DIR:-.run}"
mkdir -p "$logs"

export ORDERMILL_HTTP_ADDR="${ORDERMILL_HTTP_ADDR:-:8080}"
port="${ORDERMILL_HTTP_ADDR##*:}"
sim_port="${SIMULATOR_PORT:-8090}"
sim_addr="127.0.0.1:$sim_port"
bin="${BIN_DIR:-bin}"

# A port is taken when something accepts connections on it.
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# check_port refuses to start when a port is taken, naming what holds it
# when ss can tell, and the variable that moves it.
check_port() {
  local what=$1 variable=$2 example=$3 p=$4
  port_taken "$p" || return 0
  local holder=""
  if command -v ss >/dev/null; then
    holder=$(ss -Hltnp "sport = :$p" 2>/dev/null | grep -o 'users:(("[^"]*",pid=[0-9]*' | head -1 |
      sed -E 's/users:\(\("([^"]*)",pid=([0-9]*)/ by \1 (pid \2)/' || true)
  fi
  echo "make run: port $p, which $what needs, is already in use$holder." >&2
  echo "  Stop what listens there, or choose another port: $variable=$example make run" >&2
  return 1
}

check_ports() {
  local ok=0
  check_port "the Ordermill server" ORDERMILL_HTTP_ADDR ":$((port + 1))" "$port" || ok=1
  check_port "the simulator (Shopify and SES stand-in)" SIMULATOR_PORT "$((sim_port + 1))" "$sim_port" || ok=1
  if [ -n "${ORDERMILL_METRICS_ADDR:-}" ]; then
    check_port "the metrics address" ORDERMILL_METRICS_ADDR "127.0.0.1:9465" "${ORDERMILL_METRICS_ADDR##*:}" || ok=1
  fi
  return $ok
}

if [ "${1:-}" = "check-ports" ]; then
  check_ports
  exit
fi
check_ports || exit 1

export ORDERMILL_SHOPIFY_API_URL="${ORDERMILL_SHOPIFY_API_URL:-http://$sim_addr}"
export ORDERMILL_APP_URL="${ORDERMILL_APP_URL:-http://127.0.0.1:$port}"
export ORDERMILL_SES_ENDPOINT="${ORDERMILL_SES_ENDPOINT:-http://$sim_addr}"

"$bin/ordermill" migrate up
"$bin/ordermill" seed

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

trickle=()
if [ "${DEMO_TRICKLE:-1}" != "0" ]; then
  trickle=(--trickle-target "http://127.0.0.1:$port" --trickle-shop demo.myshopify.com
    --trickle-secret demo-webhook-secret --trickle-interval 4s)
fi
"$bin/simulator" --addr "$sim_addr" "${trickle[@]}" >"$logs/simulator.log" 2>&1 &
sim=$!
pids+=("$sim")

cat <<MSG

  Ordermill is starting on http://localhost:$port
  Sign in to demo.myshopify.com as owner@demo.test, staff@demo.test or auditor@demo.test — password: ordermill-demo
  The simulator (Shopify and SES stand-in) on http://$sim_addr sends the demo shop a new order every few seconds
  (DEMO_TRICKLE=0 turns that off). Server logs follow (also in $logs/ordermill.log); Ctrl-C stops everything.

MSG
"$bin/ordermill" serve >"$logs/ordermill.log" 2>&1 &
server=$!
pids+=("$server")
tail -n +1 -f "$logs/ordermill.log" &
pids+=($!)

# The demo shop installs the app as a merchant would: OAuth against the
# simulator, which gives it an expiring Admin API token and subscribes it to
# the webhooks the platform processes.
(
  for _ in $(seq 1 240); do port_taken "$port" && break; sleep 0.5; done
  "$bin/ordermill" shops install --shop demo.myshopify.com ||
    echo "make run: the demo shop could not install the app; retry with: $bin/ordermill shops install --shop demo.myshopify.com" >&2
) &
pids+=($!)

# Whichever part stops first stops the rest; say which, why, and what to do.
status=0
wait -n "$sim" "$server" || status=$?
sleep 0.2 # let the log tail print the last lines
if ! kill -0 "$sim" 2>/dev/null; then
  name=simulator log="$logs/simulator.log"
  advice="If its port is taken: SIMULATOR_PORT=<free port> make run."
else
  name="Ordermill server" log="$logs/ordermill.log"
  advice="If its port is taken: ORDERMILL_HTTP_ADDR=:<free port> make run. If PostgreSQL or Redis are unreachable: make stack."
fi
{
  echo
  echo "make run: the $name stopped (exit status $status). Its last lines ($log):"
  tail -n 15 "$log" | sed 's/^/  | /'
  echo "  $advice Everything else was stopped."
} >&2
exit 1
