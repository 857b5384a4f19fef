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

# Until the embedded relay lands, `make run` starts a local WHIP sink that
# reports what it hears, and publishes into it.
run: build
	$(GO) build -o bin/whipsink ./internal/whiptest/whipsink
	@bin/whipsink -listen 127.0.0.1:$(RUN_PORT) & sink=$$!; \
	trap 'kill $$sink 2>/dev/null' EXIT INT TERM; sleep 0.5; \
	ONAIR_WEBRTC_LOOPBACK=true $(BIN) publish --url http://127.0.0.1:$(RUN_PORT)/whip/{channel} --input $(RUN_INPUT)

vet:
	$(GO) vet ./...

# Tests run in a private network namespace with only loopback; modules and
# test binaries are fetched and compiled first, outside it.
test: test-deps build vet
	$(GO) mod download
	$(GO) test -count=1 -run '^$$' ./... >/dev/null
	$(NETNS) $(GO) test -count=1 -timeout 15m ./...

bench: test-deps build
	$(NETNS) $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 20m ./bench/

clean:
	rm -rf bin dist
