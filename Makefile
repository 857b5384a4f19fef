# onair — build, run, test, bench.
GO       ?= go
TAGS     := nolibopusfile
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS  := -s -w -X main.Version=$(VERSION) -X main.Commit=$(COMMIT)
DIST     ?= dist
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
BIN      := bin/onair
NETNS    := scripts/netns.sh
export GOTOOLCHAIN := local
export GOFLAGS     := -tags=$(TAGS)


.PHONY: all deps test-deps build run test bench vet clean cross-deps cross debs

all: build

deps:
	@scripts/deps.sh build

test-deps:
	@scripts/deps.sh test

build: deps
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/onair
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/onair-fleet ./cmd/onair-fleet

# A standalone board on the shipped configuration: the embedded MQTT broker
# (127.0.0.1:1883), the relay with its listen page (:8080), and the agent
# joining channel demo as host with the microphone, or a 440 Hz tone where
# there is none. The listen URL is in the log ("listen page").
run: build
	@echo; echo "  onair: a standalone board; control it from another shell:"; \
	echo "    $(BIN) ctl $$(hostname) status"; \
	echo "    $(BIN) ctl $$(hostname) set_role --role audience"; \
	echo "    $(BIN) ctl $$(hostname) leave"; echo
	$(BIN) run --config config.yaml

vet:
	$(GO) vet ./...

# Tests run in a private network namespace with only loopback; modules,
# the third-party channel servers of ./interop (scripts/servers.sh, cached
# outside the repository) and test binaries are fetched and built first,
# outside it.
test: test-deps cross-deps build vet
	$(GO) mod download
	@scripts/servers.sh >/dev/null
	$(GO) test -count=1 -run '^$$' ./... >/dev/null
	$(NETNS) $(GO) test -count=1 -timeout 25m ./...

bench: test-deps build
	$(GO) test -count=1 -run '^$$' -timeout 20m ./bench/ ./relay/ >/dev/null
	$(NETNS) $(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 20m ./bench/
	$(GO) test -count=1 -run '^$$' -bench PlayerPerStream ./audio/
	$(NETNS) $(GO) test -count=1 -run '^$$' -bench Fanout -benchtime 1x -timeout 20m ./relay/

cross-deps:
	@scripts/cross-deps.sh

# onair for the boards: 64-bit (arm64) and 32-bit Raspberry Pi OS (armhf,
# ARMv7), with cgo cross toolchains and the boards' libraries (multiarch).
cross: cross-deps
	@mkdir -p $(DIST)
	CGO_ENABLED=1 GOOS=linux GOARCH=arm64 CC=aarch64-linux-gnu-gcc PKG_CONFIG=aarch64-linux-gnu-pkg-config \
	  $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/onair-linux-arm64 ./cmd/onair
	CGO_ENABLED=1 GOOS=linux GOARCH=arm GOARM=7 CC=arm-linux-gnueabihf-gcc PKG_CONFIG=arm-linux-gnueabihf-pkg-config \
	  $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(DIST)/onair-linux-armhf ./cmd/onair

# .deb packages for arm64, armhf and this machine's architecture, in $(DIST).
debs: build cross
	packaging/build-deb.sh --arch arm64 --bin $(DIST)/onair-linux-arm64 --version $(VERSION) --out $(DIST)
	packaging/build-deb.sh --arch armhf --bin $(DIST)/onair-linux-armhf --version $(VERSION) --out $(DIST)
	packaging/build-deb.sh --arch $(DEB_ARCH) --bin $(BIN) --version $(VERSION) --out $(DIST)

clean:
	rm -rf bin dist
