.PHONY: dev test bench bench-smoke install clean

## Run the service with embedded defaults (API :8080, Temporal UI :8233, Serve ingress :8000).
dev:
	@bash scripts/dev.sh

## Install what is missing and run every test tier against real services.
test:
	@bash scripts/test.sh

## Benchmarks with targets (about 20 minutes): bench/results/latest.json and docs/benchmarks.md.
bench:
	@bash scripts/bench.sh

## The same benchmarks at small sizes (about a minute); results only under .data/bench.
bench-smoke:
	@bash scripts/bench.sh --smoke

install:
	@bash scripts/install.sh

## Stop any services left running and remove local state (keeps installs).
clean:
	-@scripts/stack.sh down dev
	-@scripts/stack.sh down test
	-@STACK_WITHOUT_RAY=1 scripts/stack.sh down bench
	rm -rf .data dist
