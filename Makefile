# sockspec — thin targets; the work is done by go and the scripts in ci/.
GO      ?= go
PKGS    := ./...

.PHONY: all test unit conformance mutants cpython edge matrix report-test lint vet fmt-check imports bench serve clean images containers containers-parity

all: lint test

# PROCS: how many processes a run of the suite uses (sockspec run --procs); 0 is sockspec's
# default (twice the CPUs, at most 4), 1 a run in one process.
PROCS   ?= 0
export PROCS

## conformance: run the specification suite against the reference and print the verdict per rule.
conformance:
	$(GO) run ./cmd/sockspec run --target reference --procs $(PROCS) --report-dir reports/reference $(ARGS)

## test: every check a change must pass: lint, import rules, unit tests with the race detector
## (the suite against the reference included), the conformance run, the mutants meta-suite, and
## CPython 2.7 and 3.11 judged by their expectations, the container tier's parity with the process
## tier, and every edge case reproduced.
test: lint imports unit conformance mutants cpython containers edge

## unit: go test with the race detector over every package (-short: the meta-suite runs in 'mutants').
unit:
	$(GO) test -race -short -count=1 $(PKGS)

## cpython: the suite against CPython's own socketserver, judged by the shipped expectations
## (CPYTHON="2.7 3.11" by default; any installed X.Y).
cpython:
	bash ci/cpython.sh

## edge: every edge case of 'sockspec reproduce --list' against the reference (in and out of
## process), CPython 2.7 and 3.11, and the two black-box fork servers; timelines in reports/edge.
## The targets run at the same time, EDGE_JOBS (default 4) at once.
edge:
	bash ci/edge.sh

## matrix: the rule × target table of every interpreter pyenv has, and of the container tier's
## reference and CPython 3.11 (make images first), as reports/matrix/matrix.md.
MATRIX_TARGETS ?= reference,reference-process,cpython:all,container:reference,container:cpython:3.11
matrix:
	$(GO) run ./cmd/sockspec matrix --targets $(MATRIX_TARGETS)

## images: the container tier's images (reference, bookworm base, CPython $(CPYTHON), default "3.11 2.7");
## current ones are skipped. Needs Docker, and debootstrap for the base (apt-get install debootstrap).
images:
	bash ci/images.sh

## containers: the container tier's parity: container:reference and container:cpython:3.11 give the
## process tier's outcome for every rule (sockspec report compare). Needs Docker and 'make images'.
containers:
	bash ci/containers.sh

## containers-parity: the same, under its older name.
containers-parity: containers

## report-test: the HTML report in a headless Chromium (apt-get install chromium): it loads from
## file:// without an error or a request, its cells open their detail, its filters hide rows; the
## page and its screenshot go to reports/report-test.
report-test:
	$(GO) test -count=1 -run TestPageInBrowser -v ./internal/htmlreport -args -artefacts=$(CURDIR)/reports/report-test

## mutants: every mutant of spec/mutants against its rule's specs; fails when one survives.
mutants:
	$(GO) test -count=1 -v ./spec/mutants

## lint: gofmt and go vet.
lint: fmt-check vet

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## imports: the rules of docs/DESIGN.md, "Import rules" (stdlib-only packages, a suite that knows no
## target, fakes for tests only), and every citation of a rule, edge case or section resolving in docs/.
imports:
	bash ci/check-imports.sh
	bash ci/check-citations.sh

## bench: connection-per-request echo, the reference against a bare Go server and CPython (ARGS="-runs 5 …").
## A static build: a request child of the forking server starts ~25% faster without the dynamic loader.
bench:
	CGO_ENABLED=0 $(GO) run ./bench/cmd/echobench $(ARGS)

## serve: run the reference echo server on a free port (ARGS="--mode threading …").
serve:
	$(GO) run ./cmd/sockspec serve $(ARGS)

clean:
	rm -rf bin reports
