# syntax=docker/dockerfile:1
# Multi-stage build of Confab. The media plane links libopus through cgo, so the
# builder has libopus-dev and the runtime libopus0; the meeting web app (the
# stock amazon-chime-sdk-js bundled by esbuild) is built with Debian's Node.js
# and embedded in the binary.
FROM golang:1.26-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libopus-dev pkg-config nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY demo/web/package.json demo/web/package-lock.json demo/web/
RUN cd demo/web && npm ci --no-audit --no-fund --loglevel=error
COPY . .
ARG VERSION=dev
RUN cd demo/web && npm run --silent build \
    && cd /src && CGO_ENABLED=1 go build -trimpath -tags nolibopusfile \
       -ldflags "-X main.version=${VERSION}" -o /out/confab ./cmd/confab

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libopus0 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/confab confab \
    && mkdir -p /var/lib/confab && chown confab /var/lib/confab
COPY --from=build /out/confab /usr/local/bin/confab
USER confab
# Ports (all configurable; these are the image's settings below):
#   8080/tcp         Chime SDK Meetings API, signaling WebSocket, /healthz, /readyz, /metrics, meeting app
#   7882/udp         WebRTC media of every attendee (one socket, ICE-lite)
#   3478/udp+tcp     TURN; 5349/tcp TURN over TLS (with turn.cert_file/key_file)
#   40000-40999/udp  TURN relayed sockets (turn.relay_port_min/max)
#   5060/udp+tcp     SIP; 5061/tcp SIP over TLS
#   20000-20999/udp  SIP RTP (sip.rtp_port_min/max)
EXPOSE 8080/tcp 7882/udp 3478/udp 3478/tcp 5349/tcp 40000-40999/udp 5060/udp 5060/tcp 5061/tcp 20000-20999/udp
# CONFAB_PUBLIC_IP is the one address clients reach this container at: set it to
# the host's public IP (docker run -e CONFAB_PUBLIC_IP=203.0.113.7); "auto" takes
# the container's own address, which only the Docker host reaches.
ENV CONFAB_DATA_DIR=/var/lib/confab \
    CONFAB_PUBLIC_IP=auto \
    CONFAB_HTTP_LISTEN=0.0.0.0:8080 \
    CONFAB_MEDIA_UDP_LISTEN=0.0.0.0:7882 \
    CONFAB_TURN_LISTEN_UDP=0.0.0.0:3478 \
    CONFAB_SIP_LISTEN_UDP=0.0.0.0:5060 \
    CONFAB_SIP_LISTEN_TCP=0.0.0.0:5060 \
    CONFAB_SIP_LISTEN_TLS=0.0.0.0:5061 \
    CONFAB_TURN_RELAY_PORT_MIN=40000 CONFAB_TURN_RELAY_PORT_MAX=40999 \
    CONFAB_SIP_RTP_PORT_MIN=20000 CONFAB_SIP_RTP_PORT_MAX=20999
VOLUME /var/lib/confab
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 CMD ["/usr/local/bin/confab", "health"]
ENTRYPOINT ["/usr/local/bin/confab"]
CMD ["serve"]
