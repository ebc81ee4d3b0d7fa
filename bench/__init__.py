"""Benchmarks (`make bench`). Measurements, not tests: they print figures and never fail on them."""
