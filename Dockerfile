# syntax=docker/dockerfile:1
# Multi-stage build of Confab. The media plane links libopus through cgo, so the
# builder has libopus-dev and the runtime libopus0.
FROM golang:1.26-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libopus-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -tags nolibopusfile -o /out/confab ./cmd/confab

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libopus0 ca-certificates \
    && rm -rf /var/lib/apt/lists/* && useradd --system --home /var/lib/confab confab \
    && mkdir -p /var/lib/confab && chown confab /var/lib/confab
COPY --from=build /out/confab /usr/local/bin/confab
USER confab
# 8080/tcp: Chime SDK Meetings API, /healthz, /metrics, signaling WebSocket.
# (Later: 3478/udp+tcp and 5349/tcp TURN, 5060/udp+tcp and 5061/tcp SIP, UDP media ports.)
EXPOSE 8080/tcp
ENV CONFAB_HTTP_LISTEN=0.0.0.0:8080 CONFAB_DATA_DIR=/var/lib/confab
VOLUME /var/lib/confab
ENTRYPOINT ["/usr/local/bin/confab"]
CMD ["serve"]
