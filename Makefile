# onair — build, run, test, bench.
GO       ?= go
TAGS     := nolibopusfile
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.Version=$(VERSION)
BIN      := bin/onair
NETNS    := scripts/netns.sh
export GOTOOLCHAIN := local
export GOFLAGS     := -tags=$(TAGS)

# The input `make run` publishes: the microphone where the board has a sound
# card, a 440 Hz test tone where it has none.
RUN_INPUT ?= $(shell grep -qE '^ ?[0-9]' /proc/asound/cards 2>/dev/null && echo default || echo tone:440)
RUN_PORT  ?= 8080

.PHONY: all deps test-deps build run test bench vet clean

all: build

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

build: deps
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/onair

# Until the device agent lands, `make run` starts the embedded relay (open to
# anyone on this machine's port $(RUN_PORT)) and publishes into channel demo.
run: build
	@export ONAIR_WEBRTC_LOOPBACK=true; \
	ONAIR_RELAY_ALLOW_ANONYMOUS=true $(BIN) relay --listen :$(RUN_PORT) & relay=$$!; \
	trap 'kill $$relay 2>/dev/null; wait $$relay' EXIT INT TERM; sleep 1; \
	ip=$$(hostname -I 2>/dev/null | awk '{print $$1}'); \
	echo; echo "  listen in a browser: http://$${ip:-127.0.0.1}:$(RUN_PORT)/listen/demo"; \
	echo "  or on another board: onair listen --url http://$${ip:-127.0.0.1}:$(RUN_PORT)/whep/{channel} --channel demo"; echo; \
	$(BIN) publish --url 'http://127.0.0.1:$(RUN_PORT)/whip/{channel}?uid={uid}' --channel demo --input $(RUN_INPUT)

vet:
	$(GO) vet ./...

# Tests run in a private network namespace with only loopback; modules and
# test binaries are fetched and compiled first, outside it.
test: test-deps build vet
	$(GO) mod download
	$(GO) test -count=1 -run '^$$' ./... >/dev/null
	$(NETNS) $(GO) test -count=1 -timeout 15m ./...

bench: test-deps build
	$(GO) test -count=1 -run '^$$' -timeout 20m ./bench/ ./relay/ >/dev/null
	$(NETNS) $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 20m ./bench/
	$(GO) test -count=1 -run '^$$' -bench PlayerPerStream ./audio/
	$(NETNS) $(GO) test -count=1 -run '^$$' -bench Fanout -benchtime 1x -timeout 20m ./relay/

clean:
	rm -rf bin dist
