"""magicoder-lsp [--stdio | --tcp [--host H] [--port P]] [--model DIR]: the language server's entry point.

stdout carries the protocol: logs go to stderr or to --log-file, never to stdout.
"""

from __future__ import annotations

import argparse
import logging
import sys
from functools import partial

from . import __version__

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2087


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="magicoder-lsp", description="Magicoder language server")
    transport = p.add_mutually_exclusive_group()
    transport.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    transport.add_argument("--tcp", action="store_true", help="listen for one client on a TCP port")
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"with --tcp: the address to bind (default {DEFAULT_HOST}: this machine only)",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"with --tcp: the port (default {DEFAULT_PORT})")
    p.add_argument("--model", help="model folder (else the `model` initialization option or $MAGICODER_MODEL)")
    p.add_argument("--log-file", help="write logs here instead of stderr")
    p.add_argument("--log-level", default="INFO", type=str.upper, choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    p.add_argument(
        "--fake-engine",
        nargs="?",
        const="echo",
        choices=("echo", "fail"),
        help="debugging: a deterministic stand-in for the model (no model folder needed)",
    )
    p.add_argument("--fake-token-ms", type=float, default=0.0, help="debugging: the fake engine's time per token")
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
    for chatty in ("httpx", "httpcore"):  # a line per HTTP request (and at DEBUG, per header): never the key's
        logging.getLogger(chatty).setLevel(logging.WARNING)
    from .protocol import create_server

    server = create_server(args.model)
    if args.fake_engine:
        from .fake_engine import fake_factory

        server.model.factory = partial(fake_factory, mode=args.fake_engine, token_ms=args.fake_token_ms)
    if args.tcp:
        server.start_tcp(args.host, args.port)
    else:
        server.start_io()
    return server.exit_code


if __name__ == "__main__":
    sys.exit(main())
