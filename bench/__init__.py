"""Benchmarks (not tests): each is a script, `python -m bench.<name>`, that writes its results into
bench/results/; what they share is the library bench.lib."""
