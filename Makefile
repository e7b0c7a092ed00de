# DeeperCluster Explorer. `make run` starts the explorer on the embedded
# synthetic dataset; `make test` runs the whole test suite (what CI runs).

GO       ?= go
BIN      := bin/deepercluster
GOROOT   := $(shell $(GO) env GOROOT)
WASM     := static/main.wasm
# The client built with the dctest tag: the same code plus the JavaScript
# hooks (window.dcState, dcBench, ...) that e2e/ and bench/ui drive it with,
# beside copies of the page's files. The shipped $(WASM) has no hooks.
WASMTEST := e2e/testdata/static-dctest

.PHONY: build build-pipeline wasm run test deps bench-deps fmt-check lint fuzz ptx gpu-bundle \
	bench-ingest bench-kmeans bench-index bench-train bench-quality bench-ws bench-ui bench-load bench-start bench-similar \
	bench-map bench-pipeline check-export

build: wasm
	$(GO) build -o $(BIN) ./cmd/deepercluster

# The scale-out binary (Apache Beam pipelines), kept apart so that Beam's
# dependencies stay out of the explorer and the browser client.
build-pipeline:
	$(GO) build -o bin/deepercluster-pipeline ./cmd/deepercluster-pipeline

# The browser client, built into static/ beside its loader and compressed
# once so the server never gzips it per request; then its dctest copy for
# the tests and bench-ui.
wasm:
	cp $(GOROOT)/lib/wasm/wasm_exec.js static/wasm_exec.js
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags='-s -w' -o $(WASM) ./wasm
	gzip -9 -k -f $(WASM)
	mkdir -p $(WASMTEST)
	cp static/index.html static/style.css static/wasm_exec.js $(WASMTEST)/
	GOOS=js GOARCH=wasm $(GO) build -tags dctest -trimpath -ldflags='-s -w' -o $(WASMTEST)/main.wasm ./wasm

run: build
	./$(BIN) serve

# PTX for the CUDA path, from the kernel sources in gpu/kernels with Debian
# clang-19 (no CUDA toolkit): committed, since GPU machines have no
# compiler. `make test` runs TestPTXUpToDate (gpu/kernels), which
# regenerates it and fails when the committed copy differs.
ptx:
	$(GO) run ./gpu/kernels/ptxgen -clang clang-19 -dir gpu/kernels -out gpu/kernels/ptx

# What scripts/gpu-check.sh runs on a GPU machine (no Go, no network, maybe
# not amd64), cross-compiled with CGO_ENABLED=0 for GPU_GOARCH into
# GPU_BUNDLE: the GPU test binaries (GPU_TEST_PKGS that exist; each as
# NAME.test), deepercluster, bench-gpu (./bench/gpu, once it has a Go
# program), torch_gpu.py and the script, and the same as one .tar.gz
# (about 28 MB against the folder's 77 MB: a device machine that takes
# 64 MiB of carried files takes the archive). Carry either, unpack the
# archive there, and run ./gpu-check.sh in the folder.
GPU_GOARCH    ?= amd64
GPU_BUNDLE    ?= bin/gpu-bundle
GPU_TEST_PKGS ?= ./gpu/device ./gpu
GPU_GO         = CGO_ENABLED=0 GOOS=linux GOARCH=$(GPU_GOARCH) $(GO)
gpu-bundle:
	rm -rf $(GPU_BUNDLE) && mkdir -p $(GPU_BUNDLE)
	@set -e; for p in $(GPU_TEST_PKGS); do \
		if ls $$p/*_test.go >/dev/null 2>&1; then \
			echo "test binary $$p"; \
			$(GPU_GO) test -c -trimpath -ldflags='-s -w' -o $(GPU_BUNDLE)/$$(basename $$p).test $$p; \
		fi; \
	done
	$(GPU_GO) build -trimpath -ldflags='-s -w' -o $(GPU_BUNDLE)/deepercluster ./cmd/deepercluster
	@if ls bench/gpu/*.go >/dev/null 2>&1; then \
		echo "bench-gpu"; \
		$(GPU_GO) build -trimpath -ldflags='-s -w' -o $(GPU_BUNDLE)/bench-gpu ./bench/gpu; \
	fi
	cp scripts/gpu-check.sh bench/gpu/torch_gpu.py $(GPU_BUNDLE)/
	echo $(GPU_GOARCH) > $(GPU_BUNDLE)/ARCH
	tar czf $(GPU_BUNDLE).tar.gz -C $(dir $(GPU_BUNDLE)) $(notdir $(GPU_BUNDLE))
	@du -sh $(GPU_BUNDLE) $(GPU_BUNDLE).tar.gz

# Debian packages the tests need (chromium, dataset-fashion-mnist, clang-19,
# OpenCL with PoCL), where missing.
deps:
	@scripts/install-deps.sh

bench-deps:
	@scripts/install-deps.sh --bench

test: deps wasm lint
	$(GO) test -count=1 -timeout 20m ./...
	$(MAKE) fuzz FUZZTIME=5s

# Fails, listing them, when any Go file is not gofmt-formatted.
fmt-check:
	@files="$$(gofmt -l .)"; if [ -n "$$files" ]; then echo "not gofmt-formatted (run gofmt -w):"; echo "$$files"; exit 1; fi

lint: fmt-check
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./wasm/...
	GOOS=js GOARCH=wasm $(GO) vet -tags dctest ./wasm/...

# Each fuzz target runs for FUZZTIME (short in `make test`, longer by hand).
FUZZTIME ?= 60s
fuzz:
	@scripts/fuzz.sh --self-test
	@scripts/fuzz.sh $(FUZZTIME)

bench-ingest:
	@scripts/bench-ingest.sh
bench-kmeans: bench-deps
	@scripts/bench-kmeans.sh
bench-index:
	@scripts/bench-index.sh
bench-train: bench-deps
	@scripts/bench-train.sh
bench-quality: bench-deps
	@scripts/bench-quality.sh

# A network trained briefly, exported as safetensors and loaded into
# PyTorch (scripts/deepercluster_model.py): its features of 64 images must
# equal ours (relative error <= 1e-4). Needs python3-torch (bench-deps).
check-export: bench-deps
	@scripts/check-export.sh
bench-ws:
	@scripts/bench-ws.sh
bench-ui:
	@scripts/bench-ui.sh
bench-load:
	@scripts/bench-load.sh
bench-start:
	@scripts/bench-start.sh
bench-similar: bench-deps
	@scripts/bench-similar.sh
bench-map: bench-deps
	@scripts/bench-map.sh
bench-pipeline:
	@scripts/bench-pipeline.sh
