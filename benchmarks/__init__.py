"""Measuring what the generated service costs per request: `scripts/benchmark`."""
