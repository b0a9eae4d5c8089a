#!/usr/bin/env bash
# Known vulnerabilities: govulncheck over the Go module (reachable code only)
# and npm audit over the web app's production dependencies. Any finding fails
# unless its id (GO-…, GHSA-…) is explained in docs/security.md. A check that
# cannot run fails too: an unchecked dependency is not a passed one.
#
# govulncheck reads a database built here, offline, from the golang.org/x/vulndb
# module (fetched through the Go module proxy like any dependency) with that
# module's own indexer, and cached under .run/vulndb/<version>.
#   ORDERMILL_VULNDB_VERSION  vulndb module version (default: latest)
#   ORDERMILL_NPM_AUDIT=skip  where the npm advisory endpoint is known to be
#                             unreachable: report the web app as NOT CHECKED
#                             instead of failing (docs/security.md)
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
GOVULNCHECK=golang.org/x/vuln/cmd/govulncheck@v1.10.0

# Check what production builds with: the toolchain go.mod names, unless the
# environment pins one (GOTOOLCHAIN=local then checks the installed Go).
export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"

# Only a row of the table in docs/security.md's "Known vulnerabilities" explains an id.
explained() { grep -qE "^\| *$1 *\|" docs/security.md; }
fail() { echo "FAIL: $*" >&2; status=1; }

# vulndb builds the database under .run/vulndb and prints its directory.
vulndb() {
  local info ver dir src tmp
  # Outside the module, so that nothing is added to go.mod or go.sum.
  info=$(cd / && go mod download -json "golang.org/x/vulndb@${ORDERMILL_VULNDB_VERSION:-latest}") || {
    echo "$info" | grep '"Error"' >&2
    return 1
  }
  ver=$(echo "$info" | sed -n 's/^.*"Version": "\([^"]*\)".*$/\1/p')
  src=$(echo "$info" | sed -n 's/^.*"Dir": "\([^"]*\)".*$/\1/p')
  [ -n "$ver" ] && [ -d "$src/data/osv" ] || return 1
  dir=$PWD/.run/vulndb/$ver
  if [ ! -f "$dir/index/db.json" ]; then
    echo "building the vulnerability database from golang.org/x/vulndb@$ver ($(ls "$src/data/osv" | wc -l) advisories)" >&2
    mkdir -p .run/vulndb && tmp=$(mktemp -d "$PWD/.run/vulndb/build.XXXXXX") || return 1
    (cd / && go run "golang.org/x/vulndb/cmd/indexdb@$ver" -vulns "$src/data/osv" -out "$tmp") >&2 &&
      [ -f "$tmp/index/db.json" ] && [ -f "$tmp/index/modules.json" ] && mv "$tmp" "$dir" || {
      rm -rf "$tmp"
      return 1
    }
    # Older versions only take space.
    find .run/vulndb -mindepth 1 -maxdepth 1 ! -name "$ver" -exec rm -rf {} +
  fi
  echo "$dir"
}

echo "== govulncheck ($(go version | cut -d' ' -f3), vulndb offline)"
if db=$(vulndb); then
  echo "database: $db ($(ls "$db/ID" | grep -c "\.json$") advisories)"
  # Installed, not run with go run, which would turn its exit status 3 (findings) into 1.
  GOBIN=$PWD/.run/bin go install "$GOVULNCHECK" || fail "could not install $GOVULNCHECK"
  out=$(.run/bin/govulncheck -db "file://$db" ./... 2>&1)
  rc=$?
  # The findings without their call traces.
  echo "$out" | grep -vE '^ +#[0-9]+: |^ +Example traces found:' | head -n 150
  if [ $rc -eq 3 ]; then
    for id in $(echo "$out" | grep -oE 'GO-[0-9]{4}-[0-9]+' | sort -u); do
      if explained "$id"; then echo "explained in docs/security.md: $id"; else fail "unexplained vulnerability $id"; fi
    done
  elif [ $rc -ne 0 ]; then
    echo "$out" | tail -n 20 >&2
    fail "govulncheck could not run (exit $rc); Go dependencies were not checked"
  fi
else
  fail "the vulnerability database could not be fetched or built; Go dependencies were not checked"
fi

if [ -f web/package-lock.json ]; then
  echo "== npm audit --omit=dev"
  json=$(cd web && npm audit --omit=dev --json 2>/dev/null)
  # A report has auditReportVersion; anything else (an HTTP error, no npm) checked nothing.
  if ! echo "$json" | grep -q '"auditReportVersion"'; then
    reason=$(echo "$json" | grep -m1 '"message"' | sed 's/^ *"message": //; s/,$//')
    if [ "${ORDERMILL_NPM_AUDIT:-}" = skip ]; then
      echo "NOT CHECKED (ORDERMILL_NPM_AUDIT=skip): the npm advisory service did not answer: $reason" >&2
    else
      fail "the npm advisory service did not answer ($reason); web dependencies were not checked (ORDERMILL_NPM_AUDIT=skip to accept that)"
    fi
  else
    for id in $(echo "$json" | grep -oE 'GHSA-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}' | sort -u); do
      if explained "$id"; then echo "explained in docs/security.md: $id"; else fail "unexplained vulnerability $id"; fi
    done
    echo "$json" | grep -A8 '"vulnerabilities": {' | head -n 10
  fi
fi
exit $status
