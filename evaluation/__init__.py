"""magicoder-eval: HumanEval through the product's own prompts, post-processing and LSP server, on any backend."""
