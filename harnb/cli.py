"""The ``harnb`` command line: fetch data, build the windows store, run the grid, build the book."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _cmd_fetch(args: argparse.Namespace) -> int:
    from harnb.fetch import fetch_cli

    argv = list(args.names)
    if args.mirror:
        argv += ["--mirror", args.mirror]
    if args.force:
        argv.append("--force")
    return fetch_cli(argv)


def _cmd_windows(args: argparse.Namespace) -> int:
    from harnb import datasets, preprocess

    names = args.names or datasets.available()
    if not names:
        print("no dataset is available: run `harnb data fetch` first", file=sys.stderr)
        return 2
    store = preprocess.load_windows(names, progress=True)
    print(store.summary().to_string())
    return 0


def _cmd_book(args: argparse.Namespace) -> int:
    from harnb.book import ChapterFailed, build_book

    try:
        index = build_book(
            profile=args.profile,
            out=args.out,
            execute=not args.no_execute,
            chapters=args.chapters or None,
        )
    except ChapterFailed as e:
        print(f"harnb book: {e}", file=sys.stderr)
        return 1
    print(index)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from harnb.grid import run_from_args

    return int(run_from_args(args) or 0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (separate so tests and docs can inspect it)."""
    p = argparse.ArgumentParser(prog="harnb", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="obtain and preprocess the datasets")
    dsub = data.add_subparsers(dest="data_command", required=True)
    f = dsub.add_parser("fetch", help="download or copy from a mirror, verify and extract")
    f.add_argument("names", nargs="*", help="dataset names (default: all)")
    f.add_argument("--mirror", help="offline mirror folder (default: $HARNB_MIRROR)")
    f.add_argument("--force", action="store_true", help="re-extract even if present")
    f.set_defaults(func=_cmd_fetch)
    w = dsub.add_parser("windows", help="build (or reuse) the cached windows store")
    w.add_argument("names", nargs="*", help="dataset names (default: all available)")
    w.set_defaults(func=_cmd_windows)

    b = sub.add_parser("book", help="execute the chapters with papermill and build the book")
    b.add_argument("--profile", default="ci", help="ci (CPU, minutes), cpu, or full (GPU)")
    b.add_argument("--out", default="_build", help="output folder (default: _build)")
    b.add_argument("--chapters", nargs="*", help="only these chapters (e.g. 01 05_lodo)")
    b.add_argument("--no-execute", action="store_true", help="render already executed chapters")
    b.set_defaults(func=_cmd_book)

    r = sub.add_parser("run", help="run the resumable LODO grid, appending to a results file")
    from harnb.grid import add_run_arguments

    add_run_arguments(r)
    r.set_defaults(func=_cmd_run)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harnb`` script."""
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
