"""The ``harnb`` command line: fetch data, build the windows store, run the grid, build the book.

Every command reports a data or argument problem (a bad option, an unknown or unreleased
model, DatasetError, ValueError, a missing file) as one ``harnb <command>: error: ...`` line on
stderr, with exit status 2 and no traceback; names and numbers are checked before any data are
read. ``harnb --debug ...`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from harnb.config import ARCHITECTURES


def _cmd_fetch(args: argparse.Namespace) -> int:
    from harnb.data.fetch import fetch_cli

    argv = list(args.names)
    if args.mirror:
        argv += ["--mirror", args.mirror]
    if args.force:
        argv.append("--force")
    return fetch_cli(argv)


def _cmd_windows(args: argparse.Namespace) -> int:
    from harnb.data import datasets, preprocess

    names = args.names or datasets.available()
    if not names:
        print(
            "harnb data windows: error: no dataset is available: run `harnb data fetch` first",
            file=sys.stderr,
        )
        return 2
    store = preprocess.load_windows(names, progress=True)
    print(store.summary().to_string())
    return 0


def _cmd_add(args: argparse.Namespace) -> int:
    from harnb.data import datasets, preprocess

    s = datasets.add_folder(
        args.folder,
        replace=args.replace,
        allow=args.allow,
        windows=preprocess.windows_from_recordings,  # registered only if it yields windows
    )
    counts = ", ".join(f"{k} {v}" for k, v in sorted(s["labelled_samples"].items()))
    print(
        f"{s['name']}: added from {s['folder']}: {s['subjects']} subjects, "
        f"{s['recordings']} recordings, {s['samples']} samples (labelled: {counts}), "
        f"{s['windows']} windows"
    )
    for note in s["notes"]:
        print(f"harnb data add: note: {note}", file=sys.stderr)
    if s["allow"]:
        print(f"{s['name']}: checks turned off: {', '.join(s['allow'])}", file=sys.stderr)
    if s["own_classes"]:
        print(
            f"{s['name']} has its own classes: usable alone (fine-tuning), not in LODO",
            file=sys.stderr,
        )
    return 0


def _cmd_remove(args: argparse.Namespace) -> int:
    from harnb.data.datasets import added

    folder = added.remove(args.name)
    print(f"{args.name}: forgotten (its folder {folder} is left as it is)")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from harnb import config
    from harnb.data import datasets
    from harnb.data.datasets import added
    from harnb.study.published import display_name

    avail = set(datasets.available())
    for name in datasets.names():
        ds = added.get(name) if name not in datasets.REGISTRY else None
        paper = name in config.DATASETS
        where = ds.describe() if ds else ("paper dataset" if paper else "extra, not in the paper")
        if name in avail:
            state = "available"
        elif ds is None:
            state = "not fetched"
        else:
            state = "own classes" if ds.own_classes else "folder gone"
        shown = display_name(name)
        if shown != name:  # what the book's tables call it (the data it really holds)
            where += f"; shown as {shown}"
        print(f"{name:<16} {state:<12} {where}")
    return 0


def _cmd_export_csv(args: argparse.Namespace) -> int:
    from harnb.data import datasets
    from harnb.data.datasets import csvfolder

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
    from harnb.book.build import ChapterFailed, build_book

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


def _check_models(names: Sequence[str] | None) -> None:
    """Refuse an unknown architecture before any data or Keras work."""
    bad = [m for m in names or () if m not in ARCHITECTURES]
    if bad:
        raise ValueError(
            f"unknown model {', '.join(map(repr, bad))}; valid choices: {', '.join(ARCHITECTURES)}"
        )


def _check_datasets(names: Sequence[str] | None) -> None:
    """Refuse an unknown dataset name (the paper's six, or one added) before any data work."""
    if names:
        from harnb.data.datasets import check_name

        for n in names:
            check_name(n)


def _cmd_run(args: argparse.Namespace) -> int:
    from harnb.study.grid import run_from_args

    if not args.plan:
        _check_models(args.model)
        _check_datasets(args.target)
        _check_datasets(args.datasets)
    return int(run_from_args(args) or 0)


def _cmd_publish(args: argparse.Namespace) -> int:
    from harnb.study.artefacts import publish

    _check_models([args.model])
    for path in publish(
        args.results, args.profile, args.model, tsne_seeds=args.tsne_seed,
        skip_missing=args.skip_missing,
    ):  # fmt: skip
        print(path)
    return 0


def _cmd_merge(args: argparse.Namespace) -> int:
    from harnb.study.results import merge_results

    for src, n in merge_results(args.out, args.sources).items():
        print(f"{src}: {n} cell(s) added")
    print(args.out)
    return 0


def _cmd_recipe(args: argparse.Namespace) -> int:
    from harnb.study.arms import ArmStudy

    study = ArmStudy(str(Path(args.results) / f"{args.profile}_*.csv"), n_boot=args.n_boot)
    if not study.complete(args.model, args.targets, args.seeds):
        raise ValueError(
            f"{args.results}: {args.model}'s orientation study is not complete (every arm at "
            f"the same {args.targets} targets x {args.seeds} seeds); chapter 8 shows how far it is"
        )
    arm, ranking = study.choose(args.model, ratio=args.ratio)
    runners = study.runners_up(args.model, args.runners_up, ratio=args.ratio)
    if args.shell:
        print(f"CHOSEN={arm}")
        print(f'RUNNERS_UP="{" ".join(runners)}"')
        return 0
    cols = ["arm", "mean", "lo", "hi"]
    print(f"{args.model}: P_U macro-F1 at {args.ratio} %, mean over targets and seeds (x 1):")
    print(ranking[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"chosen: {arm} (replaces none only if its paired gain's 95 % interval excludes 0)")
    print(f"ranked best after none: {' '.join(runners)}")
    return 0


def add_recipe_parser(sub: argparse._SubParsersAction) -> None:
    """``harnb recipe``: the orientation study's criterion, applied (chapter 8 states it)."""
    p = sub.add_parser(
        "recipe",
        help="apply the orientation study's criterion: the default recipe and the runners-up",
    )
    p.add_argument("results", help="folder of the study's files, e.g. data/results/orientation")
    p.add_argument("--model", default="hart", help="the model that ranks the arms (default: hart)")
    p.add_argument("--profile", default="cpu", help="profile of the files (default: cpu)")
    p.add_argument("--targets", type=int, default=3, help="targets a complete study has")
    p.add_argument("--seeds", type=int, default=3, help="seeds a complete study has")
    p.add_argument("--ratio", type=int, default=1, help="labels %% the criterion reads (1)")
    p.add_argument("--runners-up", type=int, default=2, help="arms to rank after none (2)")
    p.add_argument("--n-boot", type=int, default=2000, help="bootstrap replicates (2000)")
    p.add_argument("--shell", action="store_true", help="print CHOSEN=... RUNNERS_UP=... only")
    p.set_defaults(func=_cmd_recipe)


# ------------------------------------------------------------------ released models, export

#: ``harnb.data.datasets.csvfolder.CHECKS``, spelled out so that building the parser does not
#: import pandas: the plausibility checks ``harnb data add --allow`` turns off.
ALLOW_CHECKS: tuple[str, ...] = ("acc-range", "gyro-range", "gravity", "gyro-body", "flat", "rate")
#: ``harnb.models.MODELS`` (from the foundation, so that building the parser imports no Keras).
MODEL_NAMES: tuple[str, ...] = ARCHITECTURES


def _cmd_pretrain(args: argparse.Namespace) -> int:
    if not args.release:
        print(
            "harnb pretrain: only --release is offered here (LODO pre-training runs inside "
            "`harnb run`)",
            file=sys.stderr,
        )
        return 2
    if args.max_steps is not None and args.max_steps < 1:
        raise ValueError(f"--max-steps must be >= 1, got {args.max_steps}")
    from harnb.training.profiles import get_profile

    get_profile(args.profile)
    _check_datasets(args.datasets)
    if args.out is not None and Path(args.out).is_file():
        raise ValueError(f"--out {args.out} is a file; name a folder")
    from harnb.pretrained.release import card_summary, make_release

    for name in args.model:
        card = make_release(
            name,
            profile=args.profile,
            max_steps=args.max_steps,
            datasets=args.datasets,
            out=args.out,
            arm=args.orientation,
        )
        print(card_summary(card))
    return 0


def _released() -> str:
    """The released models (``harnb/pretrained/index.json``), for help texts."""
    from harnb.pretrained import available

    return ", ".join(available()) or "none"


def add_pretrain_parser(sub: argparse._SubParsersAction) -> None:
    """``harnb pretrain --release``: train the released models (``harnb.pretrained``)."""
    from harnb.training.profiles import STUDY_ARMS  # as `harnb run`'s parser does

    MODELS = MODEL_NAMES
    p = sub.add_parser(
        "pretrain", help="train a released pre-trained model on the union of every dataset"
    )
    p.add_argument("--release", action="store_true", help="write into harnb/pretrained/")
    p.add_argument("--model", nargs="+", default=["hart"], choices=MODELS, help="architectures")
    p.add_argument("--profile", default="cpu", help="whose pre-training budget (default: cpu)")
    p.add_argument("--max-steps", type=int, default=None, help="cap the budget's steps")
    p.add_argument("--datasets", nargs="+", default=None, help="default: every one available")
    p.add_argument("--out", default=None, help="folder (default: the package's harnb/pretrained)")
    p.add_argument(
        "--orientation",
        default="none",
        choices=list(STUDY_ARMS),
        help="orientation arm of the study (chapter 8): its alignment and normalisation go "
        "into the card, its random rotations augment the training windows (default: none)",
    )
    p.set_defaults(func=_cmd_pretrain)


def _check_export(args: argparse.Namespace) -> None:
    """Every ``harnb export`` argument, before a model is loaded or a file written."""
    from harnb import pretrained
    from harnb.pretrained import export

    if args.check < 0:
        raise ValueError(f"--check must be >= 0 windows, got {args.check}")
    if args.check and args.latency_runs < 1:
        raise ValueError(f"--latency-runs must be >= 1, got {args.latency_runs}")
    if not args.tolerance > 0:
        raise ValueError(f"--tolerance must be > 0, got {args.tolerance}")
    if args.n_classes < 1:
        raise ValueError(f"--n-classes must be >= 1, got {args.n_classes}")
    src = args.source
    if src in ARCHITECTURES:
        pretrained.check_released(src)
        stem: str | None = src
    elif src.endswith(".keras") or src.endswith(".weights.h5"):
        if src.endswith(".weights.h5") and not args.arch:
            raise ValueError(
                f"{src}: a weights file needs --arch (one of {', '.join(MODEL_NAMES)})"
            )
        if not Path(src).is_file():
            raise ValueError(f"{src}: no such file")
        stem = args.arch if src.endswith(".weights.h5") else None
    elif (Path(src) / "model.keras").is_file():  # a folder written by harnb finetune
        stem = Path(src).name
    else:
        released = ", ".join(pretrained.available()) or "none"
        raise ValueError(
            f"{src!r} is neither a released model (released: {released}), a .keras or "
            ".weights.h5 file, nor a folder written by harnb finetune"
        )
    out = args.out or f"{stem or 'model'}{export.SUFFIX[args.format]}"
    export.check_request(args.format, out, args.batch, verify=args.check > 0)


def _export_source(args: argparse.Namespace):
    """The Keras model ``harnb export`` writes: a released name, a .keras or .weights.h5 file,
    or a folder written by ``harnb finetune`` (already checked by :func:`_check_export`)."""
    from pathlib import Path

    from harnb import models, pretrained

    src = args.source
    if src in models.MODELS:
        return pretrained.load(src), f"released {src}"
    if src.endswith(".keras") or (Path(src) / "model.keras").is_file():
        from harnb.pretrained.export import load_keras

        return load_keras(src), src  # a fine-tuned model's card.json comes along as .card
    if src.endswith(".weights.h5"):
        if not args.arch:
            raise ValueError(
                f"{src}: a weights file needs --arch (one of {', '.join(models.MODELS)})"
            )
        m = models.build(args.arch, n_classes=args.n_classes)
        m.load_weights(src)
        return m, src
    raise ValueError(
        f"{src!r} is neither a released model ({', '.join(models.MODELS)}) nor a .keras or "
        ".weights.h5 file"
    )


def _check_windows(n: int):
    """``n`` real windows of the extracted datasets, each normalised by its dataset's stats."""
    import numpy as np

    from harnb.data import datasets, preprocess

    names = []
    for name in datasets.available():  # extracted ones only: a check never fetches
        try:
            datasets.locate(name, fetch=False)
            names.append(name)
        except datasets.DatasetMissing:
            pass
    if not names:
        return None
    store = preprocess.load_windows(names, progress=False)
    X = preprocess.normalise(store, preprocess.fit_normalisation(store))
    idx = np.sort(np.random.default_rng(0).choice(len(X), min(n, len(X)), replace=False))
    return X[idx]


def _cmd_export(args: argparse.Namespace) -> int:
    from harnb.pretrained import export

    _check_export(args)  # fails in milliseconds, before Keras, the model or any file
    model, what = _export_source(args)
    out = Path(args.out or f"{model.name}{export.SUFFIX[args.format]}")
    export.check_request(args.format, out, args.batch, verify=args.check > 0)
    export.export_model(model, out, args.format, batch=args.batch)
    print(f"harnb export: {what} -> {out} ({out.stat().st_size / 1e6:.2f} MB)")
    if getattr(model, "card", None) is not None:  # a released or fine-tuned model's card
        print(f"harnb export: model card -> {export.card_path(out)}")
    if args.check == 0:
        return 0
    X = _check_windows(args.check)
    if X is None:
        print("harnb export: no dataset available, outputs not checked (harnb data fetch)")
        return 0
    rep = export.compare(model, out, X, n_latency=args.latency_runs)
    print(export.format_report(args.format, rep))
    if rep["max_abs_diff"] > args.tolerance:
        print(
            f"harnb export: outputs differ from Keras by {rep['max_abs_diff']:.2e} "
            f"> {args.tolerance:g}",
            file=sys.stderr,
        )
        return 1
    return 0


def add_export_parser(sub: argparse._SubParsersAction) -> None:
    """``harnb export``: write a model as TFLite or ONNX and check it against Keras."""
    from harnb.pretrained.export import FORMATS

    MODELS = MODEL_NAMES
    p = sub.add_parser("export", help="write a released or fine-tuned model for phones")
    p.add_argument("source", help=f"a released model ({_released()}), a .keras or .weights.h5 file")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--out", default=None, help="output file (default: <model>.<format>)")
    p.add_argument("--arch", choices=MODELS, default=None, help="architecture of a .weights.h5")
    p.add_argument("--n-classes", type=int, default=10, help="outputs of a .weights.h5 model")
    p.add_argument("--batch", type=int, default=1, help="TFLite's fixed batch (default 1)")
    p.add_argument("--check", type=int, default=64, help="real windows to compare (0: none)")
    p.add_argument("--tolerance", type=float, default=1e-4, help="max |exported - keras|")
    p.add_argument("--latency-runs", type=int, default=50, help="single-window calls timed")
    p.set_defaults(func=_cmd_export)


def _cmd_finetune(args: argparse.Namespace) -> int:
    from harnb.pretrained import finetune

    k, ratio = args.labels_per_class, args.ratio
    if k is None and ratio is None:
        k = 5
    res = finetune.run(
        args.data,
        model=args.model,
        labels_per_class=k,
        ratio=ratio,
        strategy=args.strategy,
        profile=args.profile,
        test_subjects=args.test_subjects,
        seed=args.seed,
        out=args.out,
        verbose=args.verbose,
        progress=sys.stderr.isatty(),  # a terminal sees the steps; logs and pipes do not
        validation=args.validation,
    )
    print(res.summary())
    return 0


def add_finetune_parser(sub: argparse._SubParsersAction) -> None:
    """``harnb finetune`` and ``harnb predict``: a released model on the user's recordings."""
    p = sub.add_parser(
        "finetune",
        help="fine-tune a released model on your labelled recordings, scored subject-wise",
    )
    p.add_argument(
        "--model",
        default="hart",
        help=f"a released model ({_released()}) or a folder written by harnb finetune",
    )
    p.add_argument("--data", required=True, help="a CSV dataset folder or a dataset name")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--labels-per-class", type=int, default=None, help="K windows (default 5)")
    p.add_argument(
        "--validation",
        choices=("budget", "rest"),
        default="budget",
        help="where early stopping reads labels: budget (a stratified quarter of your K per "
        "class, the default: no other label is read) or rest (the training subjects' other "
        "windows, which a user with K labels per class does not have)",
    )
    g.add_argument("--ratio", type=float, default=None, help="or %% of each class's windows")
    p.add_argument("--strategy", default="P_U", choices=("P_U", "P_F", "Rd"))
    p.add_argument("--profile", default="cpu", help="whose fine-tuning budget (default: cpu)")
    p.add_argument("--test-subjects", nargs="+", default=None, help="default: a seeded 30 %%")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="finetuned", help="folder for model.keras + card.json")
    p.add_argument("--verbose", type=int, default=0)
    p.set_defaults(func=_cmd_finetune)

    q = sub.add_parser("predict", help="label new recordings with a fine-tuned model")
    q.add_argument("--model", required=True, help="a folder written by harnb finetune")
    q.add_argument("--data", required=True, help="a CSV dataset folder (labels optional, ignored)")
    q.add_argument("--out", default="predictions.csv", help="CSV: recording, start_s, class")
    q.set_defaults(func=_cmd_predict)


def _cmd_predict(args: argparse.Namespace) -> int:
    from harnb.pretrained import finetune

    df = finetune.predict_folder(args.model, args.data)
    out = finetune.write_predictions(df, args.out)
    counts = ", ".join(f"{c} {n}" for c, n in df["class"].value_counts().items())
    print(f"{out}: {len(df)} windows of {df['recording'].nunique()} recordings ({counts})")
    return 0


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line (``harnb run: error: ...``) with the hint
    where the usage is, instead of the usage block and then the error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (separate so tests and docs can inspect it)."""
    p = _Parser(
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
    a.add_argument(
        "--allow",
        action="append",
        default=[],
        choices=ALLOW_CHECKS,
        metavar="CHECK",
        help="turn off one plausibility check when the values are real (repeatable): "
        f"{', '.join(ALLOW_CHECKS)} (book/your_data_format.md)",
    )
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
    from harnb.study.grid import add_run_arguments

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

    mg = sub.add_parser(
        "merge",
        help="merge results files of one configuration (parts run side by side) into one",
    )
    mg.add_argument("out", help="results CSV to write (may exist; its rows come first)")
    mg.add_argument("sources", nargs="+", help="results CSVs to merge into it")
    mg.set_defaults(func=_cmd_merge)
    add_recipe_parser(sub)
    add_pretrain_parser(sub)
    add_export_parser(sub)
    add_finetune_parser(sub)
    return p


def _command_name(args: argparse.Namespace) -> str:
    sub = getattr(args, "data_command", None)
    return f"harnb {args.command}" + (f" {sub}" if args.command == "data" and sub else "")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``harnb`` script: errors a user can act on become one line, status 2."""
    from harnb.data.datasets.base import DatasetError
    from harnb.pretrained import PretrainedError
    from harnb.pretrained.export import ExportError

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help (0) or a usage error (2, one line already printed)
        return e.code if isinstance(e.code, int) else 2
    try:
        return int(args.func(args) or 0)
    except (DatasetError, ValueError, OSError, PretrainedError, ExportError) as e:
        if args.debug:
            raise
        msg = str(e).strip() or type(e).__name__
        if isinstance(e, OSError) and e.filename and str(e.filename) not in msg:
            msg = f"{e.filename}: {msg}"
        msg = " ".join(line.strip() for line in msg.splitlines() if line.strip())  # one line
        print(f"{_command_name(args)}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"{_command_name(args)}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
