# syntax=docker/dockerfile:1
# Three stages: the SPA (node), the binaries (Go, with the SPA embedded), and
# a small runtime image that runs as a non-root user and holds nothing else.

FROM node:22-bookworm-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
# The API client types are generated from the OpenAPI description.
COPY api/openapi.yaml /src/api/openapi.yaml
RUN npm run build

# The Go release go.mod names as its toolchain: earlier 1.26 releases have
# known vulnerabilities (scripts/security.sh).
FROM golang:1.26.11-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
COPY --from=web /src/web/dist ./web/dist
ENV CGO_ENABLED=0
RUN go build -trimpath -ldflags="-s -w" -o /out/bin/ordermill ./cmd/ordermill \
 && go build -trimpath -ldflags="-s -w" -o /out/bin/ordermill-replay ./cmd/ordermill-replay \
 && go build -trimpath -ldflags="-s -w" -o /out/bin/simulator ./cmd/simulator \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bin/ /usr/local/bin/
# Owned by the runtime user, so a fresh volume mounted here is writable:
# local keys (master.key, jwt.pem) are generated here when not configured.
COPY --from=build --chown=65532:65532 /out/data /data
ENV ORDERMILL_DATA_DIR=/data \
    ORDERMILL_HTTP_ADDR=:8080 \
    ORDERMILL_METRICS_ADDR=:9090
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/ordermill"]
CMD ["serve"]
