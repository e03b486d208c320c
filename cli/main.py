"""The `baaskit` command. Each command group lives in its own module with a `register(subparsers)`
function; a handler returns an exit code or raises CliError."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from baaskit import __version__

from .errors import CliError

# Command groups, in help order. Each module defines register(subparsers).
COMMAND_MODULES = (
    "baaskit.cli.node_cmds",  # init, up, down, status, logs, node
    "baaskit.cli.client_cmds",  # notarize, verify, lookup, submit
    "baaskit.cli.remit_cmds",  # remit ...
    "baaskit.cli.bench_cmds",  # bench
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="baaskit", description="Consortium blockchain toolkit")
    parser.add_argument("--version", action="version", version=f"baaskit {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command group is not built yet
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        code = args.func(args)
    except CliError as exc:
        print(f"baaskit {args.command}: {exc.message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
