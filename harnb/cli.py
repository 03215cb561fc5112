"""The ``harnb`` command line: fetch data, build the windows store, run the grid, build the book.

Every command reports a data or argument problem (DatasetError, ValueError, a missing file) as
one ``harnb <command>: error: ...`` line on stderr, with exit status 2 and no traceback;
``harnb --debug ...`` shows the traceback instead.
"""

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


def _cmd_add(args: argparse.Namespace) -> int:
    from harnb import datasets

    s = datasets.add_folder(args.folder, replace=args.replace)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(s["labelled_samples"].items()))
    print(
        f"{s['name']}: added from {s['folder']}: {s['subjects']} subjects, "
        f"{s['recordings']} recordings, {s['samples']} samples (labelled: {counts})"
    )
    if s["own_classes"]:
        print(
            f"{s['name']} has its own classes: usable alone (fine-tuning), not in LODO",
            file=sys.stderr,
        )
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    from harnb.datasets import added

    folder = added.remove(args.name)
    print(f"{args.name}: forgotten (its folder {folder} is left as it is)")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from harnb import datasets
    from harnb.datasets import added

    avail = set(datasets.available())
    for name in datasets.names():
        ds = added.get(name) if name not in datasets.REGISTRY else None
        where = ds.describe() if ds else "paper dataset"
        if name in avail:
            state = "available"
        elif ds is None:
            state = "not fetched"
        else:
            state = "own classes" if ds.own_classes else "folder gone"
        print(f"{name:<16} {state:<12} {where}")
    return 0


def _cmd_export_csv(args: argparse.Namespace) -> int:
    from harnb import datasets
    from harnb.datasets import csvfolder

    name = datasets.check_name(args.name)
    recs = datasets.load(name)
    info = datasets.REGISTRY.get(name)
    out = csvfolder.export_csv(
        recs,
        args.out,
        args.as_name or f"{name}_csv",
        full_name=f"{info.full_name}, exported by harnb" if info else "",
        citation=info.citation if info else "",
        terms=info.terms if info else "",
        subjects=args.subjects,
        derived_from=name,
        progress=sys.stderr.isatty(),
    )
    print(out)
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


def _cmd_publish(args: argparse.Namespace) -> int:
    from harnb.artefacts import publish

    for path in publish(
        args.results, args.profile, args.model, tsne_seeds=args.tsne_seed,
        skip_missing=args.skip_missing,
    ):  # fmt: skip
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (separate so tests and docs can inspect it)."""
    p = argparse.ArgumentParser(
        prog="harnb",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks of errors")
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
    a = dsub.add_parser(
        "add", help="validate a folder in the harnb CSV format and register it as a dataset"
    )
    a.add_argument("folder", help="the dataset folder (or its harnb-dataset.json)")
    a.add_argument("--replace", action="store_true", help="point an added name at this folder")
    a.set_defaults(func=_cmd_add)
    rm = dsub.add_parser("remove", help="forget an added dataset (its files are kept)")
    rm.add_argument("name")
    rm.set_defaults(func=_cmd_remove)
    ls = dsub.add_parser("list", help="every dataset: the paper's six and the added ones")
    ls.set_defaults(func=_cmd_list)
    e = dsub.add_parser(
        "export-csv", help="write a dataset in the harnb CSV folder format (SI units)"
    )
    e.add_argument("name", help="dataset to export (e.g. MotionSense)")
    e.add_argument("out", help="new folder to write")
    e.add_argument("--subjects", nargs="+", help="only these subject ids (e.g. 1 2 3)")
    e.add_argument("--as", dest="as_name", help="name in the metadata (default NAME_csv)")
    e.set_defaults(func=_cmd_export_csv)

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

    pb = sub.add_parser(
        "publish",
        help="write the small artefacts the book renders (pre-training curves, t-SNE maps) "
        "beside a results file, from this machine's run cache",
    )
    pb.add_argument("results", help="results CSV of the run, e.g. data/results/cpu_hart.csv")
    pb.add_argument("--profile", default="cpu", help="profile the run used (default: cpu)")
    pb.add_argument("--model", default="hart", help="model (default: hart)")
    pb.add_argument("--tsne-seed", nargs="+", type=int, default=None, help="seeds to map")
    pb.add_argument(
        "--skip-missing", action="store_true", help="skip pre-trainings not cached here"
    )
    pb.set_defaults(func=_cmd_publish)
    return p


def _command_name(args: argparse.Namespace) -> str:
    sub = getattr(args, "data_command", None)
    return f"harnb {args.command}" + (f" {sub}" if args.command == "data" and sub else "")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harnb`` script: errors a user can act on become one line, status 2."""
    from harnb.datasets.base import DatasetError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (DatasetError, ValueError, OSError) as e:
        if args.debug:
            raise
        msg = str(e).strip() or type(e).__name__
        if isinstance(e, OSError) and e.filename and str(e.filename) not in msg:
            msg = f"{e.filename}: {msg}"
        print(f"{_command_name(args)}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"{_command_name(args)}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
