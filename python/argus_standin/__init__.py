"""A CPU stand-in for vLLM, for dev and tests only (see server.py)."""
