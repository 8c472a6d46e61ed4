"""What the benchmarks share: paths, the cached models and exports, prompts, the runners and their worker
processes, statistics, what is read of a running server, and the writers of the results files."""
