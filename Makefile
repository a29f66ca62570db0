# Confab — the two entry points are `make run` and `make test`; both install
# what they need on a fresh Debian 12 machine (run as root).

GO        ?= go
BIN       := bin/confab
JSTEST    := signaling/api/jstest
BROWSER   := cmd/confab/browsertest
DEMO      := demo/web
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GOFLAGS   ?=
APT_PKGS  := libopus-dev libopusfile-dev pkg-config gcc

.PHONY: run test build demo node deps test-deps vet lint fmt-check unit bench fuzz clean

## run: build and start Confab with its embedded defaults (API on 127.0.0.1:8080).
run: deps build
	./$(BIN) serve --data-dir ./confab-data

## build: the binary, with the meeting web app embedded and its version set.
build: demo
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/confab

## demo: the meeting web app's script — the stock amazon-chime-sdk-js bundled
## by esbuild into demo/dist/app.js, which the binary embeds (go:embed).
demo: node
	cd $(DEMO) && { test -d node_modules/amazon-chime-sdk-js || npm ci --no-audit --no-fund --loglevel=error; } && npm run --silent build

node:
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm; }

## test: the whole suite, as CI runs it.
test: deps test-deps demo fmt-check vet lint unit

# The real-browser tests run on their own, without the race detector: under
# its slowdown, three Chromium encoders and the server starve the two CI
# cores and the uplink estimates (hence the simulcast layers the test
# checks) stay low. Every server path it drives also runs under -race in
# the package tests.
unit:
	$(GO) test -race -count=1 -p 1 -timeout 20m -skip '^TestBrowser' ./...
	$(GO) test -count=1 -timeout 15m -run '^TestBrowser' ./cmd/confab

vet:
	$(GO) vet ./...

## lint: staticcheck, pinned (staticcheck.conf says which checks).
STATICCHECK := $(shell $(GO) env GOPATH)/bin/staticcheck
lint:
	@test -x $(STATICCHECK) && $(STATICCHECK) -version | grep -q "(0.8.2)" || $(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2
	$(STATICCHECK) ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

## deps: system packages for building (cgo + libopus).
deps:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

## test-deps: Node.js, Debian's Chromium, coturn (turnutils_uclient as the reference
## TURN client and turnserver for the comparison), baresip and sipp (SIP peers), redis-server (the cluster
## tests start their own), janus (the bench's other target), and the npm packages of the JavaScript
## client tests and the browser tests (stock amazon-chime-sdk-js, esbuild, playwright-core).
test-deps: node
	@test -x /usr/lib/chromium/chromium || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium; }
	@command -v turnutils_uclient >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends coturn; }
	@command -v baresip >/dev/null 2>&1 && command -v sipp >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends baresip sip-tester; }
	@test -x /usr/bin/redis-server || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server; }
	@test -x /usr/bin/janus || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends janus; }
	cd $(JSTEST) && npm ci --no-audit --no-fund --loglevel=error
	cd $(BROWSER) && npm ci --no-audit --no-fund --loglevel=error

## bench: the control-plane benchmarks quoted in the README.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3s ./signaling/...

## fuzz: a short run of every fuzz target beyond the checked-in corpus.
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzRoute -fuzztime 30s ./signaling/api
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./signaling/api
	$(GO) test -run '^$$' -fuzz FuzzVerify -fuzztime 30s ./signaling/sigv4
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime 30s ./signaling/protocol
	$(GO) test -run '^$$' -fuzz FuzzSession -fuzztime 30s ./signaling/session
	$(GO) test -run '^$$' -fuzz FuzzRouteInput -fuzztime 30s ./cluster

clean:
	rm -rf bin demo/dist/app.js
