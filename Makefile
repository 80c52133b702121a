.PHONY: dev test reliability bench bench-smoke install clean

## Run the service with embedded defaults (API :8080, Temporal UI :8233, Serve ingress :8000).
dev:
	@bash scripts/dev.sh

## Install what is missing and run every test tier against real services.
test:
	@bash scripts/test.sh

## Reliability and security scenarios at full scale; writes reliability/results/latest.json and docs/reliability.md.
reliability:
	@bash scripts/reliability.sh

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
	-@scripts/stack.sh clean dev
	-@scripts/stack.sh clean test
	-@STACK_WITHOUT_RAY=1 scripts/stack.sh clean bench
	rm -rf .data dist
