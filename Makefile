.PHONY: dev test reliability install clean

## Run the service with embedded defaults (API :8080, Temporal UI :8233, Serve ingress :8000).
dev:
	@bash scripts/dev.sh

## Install what is missing and run every test tier against real services.
test:
	@bash scripts/test.sh

## Reliability and security scenarios at full scale; writes reliability/results/latest.json and docs/reliability.md.
reliability:
	@bash scripts/reliability.sh

install:
	@bash scripts/install.sh

## Stop any services left running and remove local state (keeps installs).
clean:
	-@scripts/stack.sh clean dev
	-@scripts/stack.sh clean test
	rm -rf .data dist
