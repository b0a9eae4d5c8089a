#!/usr/bin/env bash
# Starts the whole platform on http://localhost:8080 with demo data: migrations,
# the demo shop and users, the simulator trickling realistic webhooks into the
# demo shop, and the server with every role. Expects the variables from
# .run/stack.env and the binaries in bin/. DEMO_TRICKLE=0 turns the trickle off.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .run

export ORDERMILL_HTTP_ADDR="${ORDERMILL_HTTP_ADDR:-:8080}"
port="${ORDERMILL_HTTP_ADDR##*:}"
sim_addr="127.0.0.1:${SIMULATOR_PORT:-8090}"
export ORDERMILL_SHOPIFY_API_URL="${ORDERMILL_SHOPIFY_API_URL:-http://$sim_addr}"
export ORDERMILL_SES_ENDPOINT="${ORDERMILL_SES_ENDPOINT:-http://$sim_addr}"

./bin/ordermill migrate up
./bin/ordermill seed

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

trickle=()
if [ "${DEMO_TRICKLE:-1}" != "0" ]; then
  trickle=(--trickle-target "http://127.0.0.1:$port" --trickle-shop demo.myshopify.com
    --trickle-secret demo-webhook-secret --trickle-access-token demo-admin-api-token --trickle-interval 4s)
fi
./bin/simulator --addr "$sim_addr" "${trickle[@]}" >.run/simulator.log 2>&1 &
pids+=($!)

cat <<MSG

  Ordermill is starting on http://localhost:$port
  Sign in to demo.myshopify.com as owner@demo.test, staff@demo.test or auditor@demo.test — password: ordermill-demo
  The simulator (Shopify and SES stand-in) on http://$sim_addr sends the demo shop a new order every few seconds
  (DEMO_TRICKLE=0 turns that off). Server logs follow; Ctrl-C stops everything.

MSG
./bin/ordermill serve &
pids+=($!)
wait -n
