# sockspec — thin targets; the work is done by go and the scripts in ci/.
GO      ?= go
PKGS    := ./...

.PHONY: all test unit lint vet fmt-check imports bench serve clean

all: lint test

## test: every check a change must pass: lint, import rules, unit tests with the race detector.
test: lint imports unit

## unit: go test with the race detector over every package.
unit:
	$(GO) test -race -count=1 $(PKGS)

## lint: gofmt and go vet.
lint: fmt-check vet

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## imports: impl and the protocol packages import the standard library only.
imports:
	bash ci/check-imports.sh

## bench: connection-per-request echo, the reference against a bare Go server and CPython (ARGS="-runs 5 …").
## A static build: a request child of the forking server starts ~25% faster without the dynamic loader.
bench:
	CGO_ENABLED=0 $(GO) run ./bench/cmd/echobench $(ARGS)

## serve: run the reference echo server on a free port (ARGS="--mode threading …").
serve:
	$(GO) run ./cmd/sockspec serve $(ARGS)

clean:
	rm -rf bin reports
