# Two commands matter: `make run` (the whole platform with demo data on
# http://localhost:8080) and `make test` (every test). Both find or start
# PostgreSQL and Redis first (scripts/stack.sh).
SHELL := /bin/bash
GO    ?= go
ENV   := source .run/stack.env &&
# Build and test with the toolchain go.mod names (earlier Go releases have
# known vulnerabilities, scripts/security.sh), even where the installed go
# defaults to GOTOOLCHAIN=local; a GOTOOLCHAIN in the environment still wins.
export GOTOOLCHAIN ?= auto

.PHONY: run test bench chaos build web stack lint clean ports

# Ports first: a taken one is reported before minutes of building.
run: ports stack build
	@$(ENV) ./scripts/run.sh

ports:
	@./scripts/run.sh check-ports

test: stack
	@$(ENV) ./scripts/test.sh

# Fault injection under load, then a report (docs/security.md); it starts
# its own PostgreSQL and Redis, so it needs no stack. ORDERMILL_CHAOS_REDIS=cluster
# runs it on a Redis Cluster of three masters and three replicas.
chaos:
	ORDERMILL_CHAOS_DURATION=$${ORDERMILL_CHAOS_DURATION:-4m} $(GO) test ./internal/chaos -run TestChaos -count=1 -v -timeout 60m

# The bench builds the server it measures itself (no web build needed).
bench: stack
	@$(ENV) $(GO) run ./bench/cmd/bench

build: web
	$(GO) build -o bin/ordermill ./cmd/ordermill
	$(GO) build -o bin/simulator ./cmd/simulator
	$(GO) build -o bin/ordermill-replay ./cmd/ordermill-replay

# npm ci only when the lockfile changed since the last install.
web:
	@if [ -f web/package.json ]; then cd web && \
	  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	    npm ci --no-audit --no-fund --loglevel=error; fi && npm run build; fi

stack:
	@./scripts/stack.sh

lint:
	@./scripts/lint.sh

clean:
	rm -rf bin
