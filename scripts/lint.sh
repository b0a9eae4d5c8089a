#!/usr/bin/env bash
# gofmt and go vet must be clean; the TypeScript type check too once web/ exists.
set -euo pipefail
cd "$(dirname "$0")/.."
unformatted=$(gofmt -l $(git ls-files '*.go'; git ls-files --others --exclude-standard '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:" >&2
  echo "$unformatted" >&2
  exit 1
fi
go vet ./...
if [ -f web/package.json ]; then
  (cd web && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error)
  (cd web && npx tsc --noEmit -p .)
fi
