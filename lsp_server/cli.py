"""magicoder-lsp [--stdio] [--model DIR] [--log-file FILE]: the language server's entry point.

stdout carries the protocol: logs go to stderr or to --log-file, never to stdout.
"""

from __future__ import annotations

import argparse
import logging
import sys

from . import __version__


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="magicoder-lsp", description="Magicoder language server")
    p.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    p.add_argument("--model", help="model folder (else the `model` initialization option or $MAGICODER_MODEL)")
    p.add_argument("--log-file", help="write logs here instead of stderr")
    p.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    p.add_argument("--version", action="version", version=f"magicoder-lsp {__version__}")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler: logging.Handler = (
        logging.FileHandler(args.log_file, encoding="utf-8") if args.log_file else logging.StreamHandler(sys.stderr)
    )
    logging.basicConfig(
        level=args.log_level, handlers=[handler], format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.log_level != "DEBUG":
        logging.getLogger("pygls").setLevel(logging.WARNING)  # it logs every message at INFO
    from .protocol import server

    server.model_override = args.model
    server.start_io()
    return 0


if __name__ == "__main__":
    sys.exit(main())
