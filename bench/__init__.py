"""Benchmark: the handler against the seed's way, each variant in fresh processes."""
