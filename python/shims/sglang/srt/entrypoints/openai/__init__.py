"""Test-only import shim; see python/shims/README.md."""
