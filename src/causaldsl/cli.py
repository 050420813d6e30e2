"""The ``causal`` command. The language issue adds run/check/fmt/identify/repl; this is the shell."""

from __future__ import annotations

import argparse
import sys

from . import __version__


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``causal``: exit 0 ok, 1 errors in the input, 2 usage."""
    parser = argparse.ArgumentParser(
        prog="causal",
        description="causaldsl: causal inference by string diagram surgery.",
        epilog="The .causal language and its subcommands (run, check, fmt, identify, repl) are "
               "not built yet; use the Python API (see README.md).")
    parser.add_argument("--version", action="version", version=f"causal {__version__}")
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
