# ctr-lite: `make demo` runs the main job offline, `make test` runs every test.
SHELL := /bin/bash
GO ?= go
BIN := bin/ctr-lite
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# The Go the module needs (go.mod); Debian 12's golang-go (1.19) is too old.
GO_NEED := $(shell sed -n 's/^go //p' go.mod)
# Real-world images the tests add when present (never copied into the
# repository); without them the tests build their images from busybox-static.
CORPUS_DIR := $(abspath ../shared/corpus)
ifneq ($(wildcard $(CORPUS_DIR)/README.md),)
export CTRLITE_CORPUS ?= $(CORPUS_DIR)
endif
# Debian packages the tests and the demo use; installed when missing.
APT_PACKAGES := curl linux-libc-dev docker-registry busybox-static skopeo umoci runc crun apache2-utils openssl tar time qemu-system-x86 linux-image-amd64 cpio apparmor podman buildah strace containernetworking-plugins uidmap passt slirp4netns
DIVE_VERSION := v0.13.1
TEST_TIMEOUT ?= 30m

.PHONY: all build gocheck test test-short lint deps demo bench fuzz stress clean

all: build

build: gocheck
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/ctr-lite

# gocheck stops early, with the fix, when go is missing or older than go.mod
# asks (Go 1.21 or newer fetches the right toolchain by itself).
gocheck:
	@v=$$($(GO) env GOVERSION 2>/dev/null) || { echo "go not found: install Go $(GO_NEED) (see README, Requirements)"; exit 1; }; \
	if [ "$$(printf '%s\n' "go$(GO_NEED)" "$$v" | sort -V | head -1)" != "go$(GO_NEED)" ]; then \
		echo "$$v is too old: ctr-lite needs Go $(GO_NEED) (see README, Requirements)"; exit 1; \
	fi

# deps installs what the tests need when it is missing (root only; CI runs as root).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "installing:$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else \
			echo "missing Debian packages:$$missing (run as root, or: sudo apt-get install$$missing)"; \
		fi; \
	fi
	@# dive, which TestEfficiencyMatchesDive compares inspect efficiency and check with.
	@command -v dive >/dev/null || test -x "$$($(GO) env GOPATH)/bin/dive" || \
		{ echo "installing dive $(DIVE_VERSION)"; $(GO) install github.com/wagoodman/dive@$(DIVE_VERSION); }

test: deps build
	@if [ -z "$$CTRLITE_CORPUS" ]; then echo "note: no ../shared/corpus: the tests use images built from busybox-static (the corpus adds real-world ones)"; fi
	CGO_ENABLED=0 CTRLITE_BIN=$(abspath $(BIN)) $(GO) test -timeout $(TEST_TIMEOUT) -count=1 ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...
	@command -v staticcheck >/dev/null || $(GO) install honnef.co/go/tools/cmd/staticcheck@latest
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck ./...

demo: deps build
	./hack/demo.sh

bench: deps build
	./bench/run.sh

fuzz:
	./hack/fuzz.sh $(FUZZTIME)

stress: deps build
	CGO_ENABLED=0 CTRLITE_STRESS=1 CTRLITE_BIN=$(abspath $(BIN)) $(GO) test -timeout 60m -count=1 -run 'Stress|CrashLoop|Concurren|StreamingMemory' ./...

clean:
	rm -rf bin bench/results
