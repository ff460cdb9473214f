"""Benchmarks: `make bench` prints operation, ours, baseline, ratio — measured in the same run."""
