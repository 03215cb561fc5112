"""The resumable LODO grid: every cell of (protocol, target, model, strategy, ratio, seed).

The grid runs in the order (model, target, seed, protocol, ratio, strategy): one pre-training
per (target, model, seed) — shared by every protocol, see :mod:`harnb.training.folds` — then all its
cells, so an interrupted run loses at most the group it was in and every group's cells finish
together. As soon as a cell finishes, its per-subject confusion counts and then its metrics are
appended to the results files (:mod:`harnb.study.results`), each in one fsync'ed write. Rerunning
skips every cell recorded ``ok`` under the same configuration hash; a file holding a cell under
another configuration is refused (or, with ``replace_stale``, cleaned of it first), so a file
never mixes two configurations. A failing cell is recorded with ``status=error`` and its
message, and the grid goes on.

Every cell is computed by :class:`CellRunner`; ``run_grid(cluster=...)`` (``harnb run
--cluster``) runs the same code as Dask tasks, one per pre-training and one per cell, and this
process still writes every row (:mod:`harnb.study.cluster`).

P_F trains its head on the frozen extractor's features, computed once per (pre-trained model,
protocol) (:class:`harnb.training.folds.FeatureCache`). Training histories go to
``runs_dir()/histories`` as JSON + CSV.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from harnb.data.splits import PROTOCOLS, check_ratio
from harnb.study.cells import (
    GRID_STRATEGIES,
    Cell,
    CellRunner,
    GridSpec,
    group_key,
    run_cell,
    write_cell,
)
from harnb.study.cross import cross_dataset_matrix, cross_matrix_table
from harnb.study.results import (
    CELL_KEYS,
    COLUMNS,
    METRICS,
    MixedConfigurations,
    aggregate,
    append_rows,
    config_hash,
    default_results_path,
    drop_cells,
    finished_cells,
    paper_table,
    read_confusion,
    read_published,
    read_results,
    read_tidy,
    stale_cells,
)
from harnb.training.folds import (
    data_key,
    get_pretrained,
    load_store,
    prepare_fold,
    pretrained_path,
    subsample_store,
)
from harnb.training.profiles import STUDY_ARMS, VAL_LABELS, Profile, get_profile, with_arm

if TYPE_CHECKING:  # pragma: no cover
    from harnb.data.store import WindowStore

load_results = read_results


def cells_for(
    protocols: Iterable[str],
    targets: Iterable[str],
    model_names: Iterable[str],
    strategies: Iterable[str],
    ratios: Iterable[int],
    seeds: Iterable[int],
) -> list[tuple[str, str, str, str, int, int]]:
    """Every cell, in run order (model, target, seed, protocol, ratio, strategy); ratio 0
    pairs only with P_0 and P_0 only with ratio 0."""
    out = []
    strategies, protocols, ratios = list(strategies), list(protocols), list(ratios)
    targets, seeds = list(targets), list(seeds)
    for m in model_names:
        for t in targets:
            for s in seeds:
                for p in protocols:
                    for r in ratios:
                        for st in strategies:
                            if (r == 0) == (st == "P_0"):
                                out.append((p, t, m, st, int(r), int(s)))
    return out


def _validate(
    protocols: Sequence[str],
    model_names: Sequence[str],
    strategies: Sequence[str],
    ratios: Sequence[int],
    seeds: Sequence[int],
) -> None:
    for p in protocols:
        if p not in PROTOCOLS:
            raise ValueError(f"unknown protocol {p!r}; choose from {PROTOCOLS}")
    for s in strategies:
        if s not in GRID_STRATEGIES:
            raise ValueError(f"unknown strategy {s!r}; choose from {GRID_STRATEGIES}")
    for r in ratios:
        check_ratio(r)
    try:
        from harnb.models import MODELS
    except ImportError:  # pragma: no cover - models not installed
        MODELS = None
    if MODELS is not None:
        for m in model_names:
            if m not in MODELS:
                raise ValueError(f"unknown model {m!r}; choose from {MODELS}")
    for s in seeds:
        if int(s) != s:
            raise ValueError(f"seeds must be integers, got {s!r}")


class ProgressLog:
    """The progress bar's status line, and (``path``) each one as a timestamped line appended
    to a file: a run whose bar nobody sees (papermill on a rented GPU, a batch job) still
    tells, after it is stopped, how far it got and at what pace."""

    def __init__(self, bar: Any, path: str | os.PathLike[str] | None = None) -> None:
        self.bar, self.path, self.t0 = bar, path, time.perf_counter()

    def __call__(self, status: str) -> None:
        self.bar.set_postfix_str(status)
        if self.path:
            stamp = time.strftime("%H:%M:%S", time.gmtime())
            with open(self.path, "a") as f:
                f.write(f"[grid +{time.perf_counter() - self.t0:.0f}s {stamp}] {status}\n")


def run_grid(
    profile: str | Profile = "ci",
    out: str | os.PathLike[str] | None = None,
    *,
    models: Sequence[str] | None = None,
    targets: Sequence[str] | None = None,
    protocols: Sequence[str] | None = None,
    strategies: Sequence[str] | None = None,
    ratios: Sequence[int] | None = None,
    seeds: Sequence[int] | None = None,
    store: WindowStore | None = None,
    retry_errors: bool = True,
    replace_stale: bool = False,
    progress: bool = True,
    verbose: int = 0,
    norm_as_released: bool = False,
    cluster: Any = None,
    progress_log: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Run every missing cell, appending results to ``out``; returns the whole results file.

    Arguments left as None come from the profile. ``store`` defaults to the profile's windows
    (:func:`load_store`). Bad arguments, and a results file that holds some of these cells
    under another configuration (unless ``replace_stale``), raise ValueError before any
    training. ``cluster`` (an address, ``local[:N]``, ``slurm[:N]``…, or a
    ``distributed.Client``) runs each pre-training and each cell as a Dask task instead
    (:mod:`harnb.study.cluster`); this process stays the only writer of the results files.
    ``progress_log`` (default ``$HARNB_PROGRESS_LOG``) also receives every progress status as
    a timestamped line (:class:`ProgressLog`).
    """
    from tqdm.auto import tqdm

    prof = get_profile(profile)
    models_ = list(models or prof.models)
    protocols_ = list(protocols or prof.protocols)
    strategies_ = list(strategies or prof.strategies)
    ratios_ = [int(r) for r in (ratios if ratios is not None else prof.ratios)]
    seeds_ = [int(s) for s in (seeds if seeds is not None else prof.seeds)]
    _validate(protocols_, models_, strategies_, ratios_, seeds_)
    out_path = Path(out) if out else default_results_path(prof)

    store_given = store is not None
    if store is None:
        store = load_store(prof)
    present = store.datasets()
    targets_ = list(targets or prof.targets or present)
    for t in targets_:
        if t not in present:
            from harnb.data import datasets

            if t in datasets.names():
                datasets.check_lodo(t)  # a dataset with its own classes: say why, not "absent"
            raise ValueError(f"target {t!r} has no windows in the store (present: {present})")
    if len(present) < 2:
        raise ValueError("LODO needs at least two datasets in the store")
    if prof.sources is not None:  # a source subset: before any training, say what is wrong
        missing = sorted(set(prof.sources) - set(present))
        if missing:
            raise ValueError(f"sources {missing} have no windows in the store ({present})")
        clash = sorted(set(prof.sources) & set(targets_))
        if clash:
            raise ValueError(f"{clash} cannot be both a target and a source of its pre-training")

    cells = cells_for(protocols_, targets_, models_, strategies_, ratios_, seeds_)
    dkey = data_key(store)
    configs = {p: config_hash(prof, p, dkey, norm_as_released) for p in protocols_}
    stale = stale_cells(out_path, cells, configs)
    if stale:
        if not replace_stale:
            c, h = next(iter(stale.items()))
            raise ValueError(
                f"{out_path} holds {len(stale)} of these cells under another configuration "
                f"(e.g. {dict(zip(CELL_KEYS, c, strict=True))}: {sorted(h)}; this run is "
                f"{configs[c[0]]}); use another --out, or --replace-stale to drop them"
            )
        drop_cells(out_path, set(stale))
    done = finished_cells(out_path, prof.name, configs)
    todo = [c for c in cells if c not in done]
    if not retry_errors:
        df0 = read_results(out_path, check=False)
        if not df0.empty:
            err = df0[(df0["status"] == "error") & (df0["profile"] == prof.name)]
            err = err[err["config"] == err["protocol"].map(configs)]
            errs = {
                (r.protocol, r.target, r.model, r.strategy, int(r.ratio), int(r.seed))
                for r in err.itertuples()
            }
            todo = [c for c in todo if c not in errs]
    spec = GridSpec(prof, configs, dkey, norm_as_released, verbose)
    # the cells that share one pre-trained model, in run order
    groups: dict[tuple[str, str, int], list[Cell]] = {}
    for c in todo:
        groups.setdefault(group_key(c, prof), []).append(c)
    bar = tqdm(total=len(cells), initial=len(cells) - len(todo), disable=not progress, desc="grid")
    try:
        if cluster is not None and todo:
            from harnb.study.cluster import run_on_cluster

            run_on_cluster(
                cluster, spec, groups, out_path, bar, store=store if store_given else None
            )
        elif todo:
            runner = CellRunner(spec, store)
            note = ProgressLog(bar, progress_log or os.environ.get("HARNB_PROGRESS_LOG"))
            done = len(cells) - len(todo)
            for gcells in groups.values():
                for c in gcells:
                    rows, conf = runner.rows(c, note)
                    write_cell(out_path, rows, conf)
                    bar.update(1)
                    done += 1
                    note(f"{done}/{len(cells)} cells written")
                runner.clear()
    finally:
        bar.close()
    return read_results(out_path)


# --------------------------------------------------------------------------------------------
# Command line (``harnb run``)
# --------------------------------------------------------------------------------------------


def add_run_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Options of ``harnb run`` (everything defaults to the profile)."""
    a = parser.add_argument
    a("--profile", default="ci", help="ci (CPU, minutes), cpu (hours on 2 cores), full (GPU)")
    a("--out", default=None, help="results CSV (default: <runs>/results/<profile>.csv)")
    a("--model", nargs="+", default=None, help="models (default: the profile's)")
    a("--target", nargs="+", default=None, help="left-out datasets (default: all available)")
    a("--protocol", nargs="+", default=None, choices=PROTOCOLS, help="split protocols")
    a("--strategy", nargs="+", default=None, choices=GRID_STRATEGIES, help="fine-tuning strategies")
    a(
        "--orientation",
        default=None,
        choices=list(STUDY_ARMS),
        help="orientation arm (device frames): its handling and normalisation "
        "(harnb.training.profiles.STUDY_ARMS; default: the profile's, none)",
    )
    a(
        "--sources",
        nargs="+",
        default=None,
        metavar="DATASET",
        help="the datasets pre-training combines (default: every dataset but the target); "
        "a subset measures what each source buys",
    )
    a(
        "--val-labels",
        default=None,
        choices=list(VAL_LABELS),
        help="labels early stopping reads: oracle (the target's validation subjects, as the "
        "paper) or budget (part of the ratio's own labelled windows)",
    )
    a("--ratio", nargs="+", type=int, default=None, help="ratios in %% of the target: 0 1 5 10 70")
    a("--seed", nargs="+", type=int, default=None, help="fine-tuning seeds")
    a("--datasets", nargs="+", default=None, help="datasets to load (default: all available)")
    a("--backend", default=None, help="Keras backend (default: the profile's, else env)")
    a("--cross", action="store_true", help="run the cross-dataset matrix (Fig. 1) instead")
    a(
        "--part",
        default=None,
        metavar="NAME",
        help="run one part of the profile's sized plan (its model, protocols, ratios and seeds; "
        "results in <runs>/results/<profile>_<model>.csv); --plan lists them",
    )
    a("--plan", action="store_true", help="print the sized plan (parts, estimated hours), exit")
    a("--no-retry-errors", action="store_true", help="skip cells that failed before")
    a(
        "--replace-stale",
        action="store_true",
        help="drop cells the results file holds under another configuration, then rerun them",
    )
    a("--norm-as-released", action="store_true", help="normalise with all windows (B-C2)")
    a(
        "--cluster",
        default=None,
        metavar="SPEC",
        help="run each pre-training and cell as a Dask task: local[:N], cuda[:N], "
        "slurm[:N] (also pbs, lsf, sge), or a scheduler address (see harnb.study.cluster)",
    )
    a("--cluster-config", default=None, metavar="YAML", help="dask settings, e.g. jobqueue")
    a("--verbose", type=int, default=0, help="Keras verbosity")
    a("--no-progress", action="store_true", help="no progress bar")
    a(
        "--progress-log",
        default=None,
        metavar="FILE",
        help="also append each progress status, timestamped, to FILE "
        "(default: $HARNB_PROGRESS_LOG; for runs whose bar nobody sees)",
    )
    return parser


def _apply_backend(name: str | None) -> None:
    """Select the Keras backend before keras is first imported (warn if too late)."""
    if not name:
        return
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != name:
            print(
                f"harnb: keras already uses {keras.backend.backend()!r}; "
                f"set KERAS_BACKEND={name} before starting Python to use {name!r}",
                file=sys.stderr,
            )
        return
    os.environ["KERAS_BACKEND"] = name


def apply_part(args: argparse.Namespace, prof: Profile) -> None:
    """Fill the run's model, protocols, ratios, seeds and output from a plan part (options
    given on the command line too must agree with it)."""
    from harnb.training.profiles import get_part

    if prof.name != "cpu":
        raise ValueError(f"--part is defined for the cpu profile's plan, not {prof.name!r}")
    part = get_part(args.part)
    for opt, val in (("model", [part.model]), ("protocol", list(part.protocols)),
                     ("ratio", list(part.ratios)), ("seed", list(part.seeds))):  # fmt: skip
        given = getattr(args, opt)
        if given is not None and [str(v) for v in given] != [str(v) for v in val]:
            raise ValueError(f"--part {part.name} runs --{opt} {' '.join(map(str, val))}")
        setattr(args, opt, val)
    if args.out is None:
        args.out = str(default_results_path(prof).with_name(f"{prof.name}_{part.model}.csv"))


def run_from_args(args: argparse.Namespace) -> int:
    """Execute ``harnb run`` from parsed arguments; returns a process exit code."""
    try:
        prof = get_profile(args.profile)
        if prof.datasets is None and args.datasets:
            prof = prof.with_(datasets=tuple(args.datasets))
        if getattr(args, "orientation", None):
            prof = with_arm(prof, args.orientation)
        if getattr(args, "val_labels", None):
            prof = prof.with_(val_labels=args.val_labels)
        if getattr(args, "sources", None):
            prof = prof.with_(sources=tuple(args.sources))
        backend = args.backend or (None if "KERAS_BACKEND" in os.environ else prof.backend)
        _apply_backend(backend)
        if args.cluster_config:
            from harnb.study.cluster import load_config

            load_config(args.cluster_config)
        if args.plan:
            from harnb.training.profiles import plan_text

            print(plan_text())
            return 0
        if args.part:
            apply_part(args, prof)
        if args.cross:
            df = cross_dataset_matrix(
                prof, args.out, models=args.model, datasets=args.datasets,
                seeds=args.seed or [0], progress=not args.no_progress, verbose=args.verbose,
            )  # fmt: skip
            for (m, s), g in df.groupby(["model", "seed"]):
                print(f"{m}, seed {s}:\n{cross_matrix_table(g).round(3).to_string()}")
            return 0
        df = run_grid(
            prof,
            args.out,
            models=args.model,
            targets=args.target,
            protocols=args.protocol,
            strategies=args.strategy,
            ratios=args.ratio,
            seeds=args.seed,
            retry_errors=not args.no_retry_errors,
            replace_stale=args.replace_stale,
            progress=not args.no_progress,
            verbose=args.verbose,
            norm_as_released=args.norm_as_released,
            cluster=args.cluster,
            progress_log=args.progress_log,
        )
    except ValueError as e:
        if getattr(args, "debug", False):  # `harnb --debug run ...`: the traceback
            raise
        print(f"harnb run: error: {e}", file=sys.stderr)
        return 2
    n_err = int(((df["status"] == "error") & (df["profile"] == prof.name)).sum()) if len(df) else 0
    for m in sorted(set(df["model"])) if len(df) else []:
        for p in sorted(set(df["protocol"])):
            t = paper_table(df[df["profile"] == prof.name], m, p)
            if not t.empty:
                print(f"\n{m} — {p} protocol (macro-F1 × 100, mean ± sd over seeds)")
                print(t.to_string())
    if n_err:
        print(f"\n{n_err} cell(s) failed; see the 'error' column", file=sys.stderr)
    return 1 if n_err else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point (``python -m harnb.study.grid``)."""
    p = add_run_arguments(argparse.ArgumentParser(prog="harnb run", description=__doc__))
    return run_from_args(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "COLUMNS",
    "METRICS",
    "MixedConfigurations",
    "aggregate",
    "add_run_arguments",
    "append_rows",
    "cells_for",
    "config_hash",
    "cross_dataset_matrix",
    "cross_matrix_table",
    "data_key",
    "finished_cells",
    "get_pretrained",
    "load_results",
    "load_store",
    "main",
    "paper_table",
    "prepare_fold",
    "pretrained_path",
    "read_confusion",
    "read_published",
    "read_results",
    "read_tidy",
    "run_from_args",
    "run_grid",
    "run_cell",
    "subsample_store",
]
