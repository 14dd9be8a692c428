# One target per habit. `make` alone lists them.

GO             ?= go
BIN_DIR        := bin
TOOLS_DIR      := .tools
STATICCHECK_V  := v0.8.2
STATICCHECK    := $(TOOLS_DIR)/staticcheck-$(STATICCHECK_V)/staticcheck

.DEFAULT_GOAL := help
.PHONY: help build run test bench lint clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-zA-Z_-]*:.*## / {printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build the server into bin/latch
	$(GO) build -o $(BIN_DIR)/latch ./cmd/latch

run: build ## build, then run `latch serve` (it prints its URL and the bootstrap credentials)
	./$(BIN_DIR)/latch serve

test: ## install what the tests need, go vet, then every test with -race (scripts/test.sh)
	bash scripts/test.sh

bench: ## Go benchmarks, then cmd/latchbench if present (scripts/bench.sh; BENCHTIME=300ms)
	bash scripts/bench.sh

lint: $(STATICCHECK) ## gofmt -l (must list nothing), go vet, staticcheck (pinned, in .tools/)
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt wants to rewrite:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

$(STATICCHECK):
	GOBIN="$(CURDIR)/$(dir $(STATICCHECK))" $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_V)

clean: ## remove built binaries and test output (keeps the tools in .tools/)
	rm -rf $(BIN_DIR) test-output
