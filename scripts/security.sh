#!/usr/bin/env bash
# Known vulnerabilities: govulncheck over the Go module (reachable code only)
# and npm audit over the web app's production dependencies. Any finding fails
# unless its id (GO-…, GHSA-…) is explained in docs/security.md. An advisory
# database that cannot be reached is reported, not silently passed.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0

explained() { grep -q -- "$1" docs/security.md; }

echo "== govulncheck"
out=$(go run golang.org/x/vuln/cmd/govulncheck@latest ./... 2>&1)
rc=$?
echo "$out" | tail -n 40
if [ $rc -eq 3 ]; then
  for id in $(echo "$out" | grep -oE 'GO-[0-9]{4}-[0-9]+' | sort -u); do
    if explained "$id"; then echo "explained in docs/security.md: $id"; else echo "UNEXPLAINED: $id" >&2; status=1; fi
  done
elif [ $rc -ne 0 ]; then
  echo "WARNING: govulncheck could not run (exit $rc); Go dependencies were not checked" >&2
fi

if [ -f web/package-lock.json ]; then
  echo "== npm audit --omit=dev"
  json=$(cd web && npm audit --omit=dev --json 2>/dev/null)
  if echo "$json" | grep -q '"statusCode"'; then
    echo "WARNING: the npm advisory service could not be reached; web dependencies were not checked" >&2
  else
    for id in $(echo "$json" | grep -oE 'GHSA-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}' | sort -u); do
      if explained "$id"; then echo "explained in docs/security.md: $id"; else echo "UNEXPLAINED: $id" >&2; status=1; fi
    done
    echo "$json" | grep -A8 '"vulnerabilities": {' | head -n 10
  fi
fi
exit $status
