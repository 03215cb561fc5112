"""How much each added source dataset buys: the source-count curve (issue 24).

For every target, pre-training runs on every non-empty subset of the other datasets, each
subset into its own results file, ``<dir>/<profile>_<model>_src-<A>+<B>.csv`` (one
configuration each; ``harnb run --sources A B``); the full set of sources is the plain LODO
run, ``<profile>_<model>_src-all.csv``, which also holds Rd and the classical baseline (they do
not depend on the sources). The subject split depends on the target and seed only, so the
files are bootstrapped together with the strategy renamed ``<subset>|<strategy>`` and every
comparison is paired (:class:`harnb.study.intervals.Bootstrap`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harnb.study import intervals
from harnb.study.results import (
    COLUMNS,
    CONFUSION_COLUMNS,
    check_single_config,
    confusion_path,
    find_files,
    read_tidy,
    read_with_confusion,
    write_with_confusion,
)

ALL = "all"
_NAME = re.compile(r"^(?P<profile>[a-z0-9]+)_(?P<model>[a-z]+)_src-(?P<subset>.+)$")


def subset_of(path: str | Path) -> tuple[str, str, str]:
    """(profile, model, subset label) of ``<profile>_<model>_src-<A>+<B>.csv``."""
    m = _NAME.match(Path(path).stem)
    if not m:
        raise ValueError(f"{Path(path).name}: not named <profile>_<model>_src-<A+B|all>.csv")
    return m["profile"], m["model"], m["subset"]


def subset_label(sources: Sequence[str]) -> str:
    """The file label of a subset of sources: sorted names joined by ``+``."""
    return "+".join(sorted(sources))


class SourceStudy:
    """Every subset's results of one model, bootstrapped together (paired)."""

    def __init__(
        self, pattern: str = "data/results/sources/cpu_*_src-*.csv", n_boot: int = 2000
    ) -> None:
        self.files = _results_files(pattern)
        conf = []
        for f in self.files:
            _, _, label = subset_of(f)
            r, c = read_with_confusion(f)
            if r.empty or c.empty:
                continue
            conf.append(c.assign(subset=label, strategy=label + "|" + c["strategy"]))
        self.confusion = pd.concat(conf, ignore_index=True) if conf else pd.DataFrame()
        self.boot = intervals.Bootstrap(self.confusion, n_boot=n_boot)

    @property
    def empty(self) -> bool:
        return self.confusion.empty

    def targets(self, model: str) -> list[str]:
        return sorted({c[1] for c in self.boot.cells() if c[2] == model})

    def subsets(self, model: str, target: str) -> list[str]:
        """Subset labels run for ``target`` (``all`` = every other dataset)."""
        return sorted({c[3].split("|", 1)[0] for c in self.boot.cells()
                       if c[2] == model and c[1] == target})  # fmt: skip

    def datasets(self, model: str) -> list[str]:
        """Every dataset the files name, as a target or a source."""
        names = set(self.targets(model))
        for t in self.targets(model):
            names |= {n for s in self.subsets(model, t) if s != ALL for n in s.split("+")}
        return sorted(names)

    def k_of(self, model: str, target: str, label: str) -> int:
        """Number of sources of a subset; ``all`` is every dataset the files name but the
        target (at least one more than the target's largest named subset, while a run is
        partial)."""
        if label != ALL:
            return len(label.split("+"))
        named = [len(s.split("+")) for s in self.subsets(model, target) if s != ALL]
        return max(len(self.datasets(model)) - 1, max(named, default=0) + 1)

    def _reference(
        self, model: str, target: str, ratio: int, protocol: str, versus: str
    ) -> tuple | None:
        """The cell of a strategy that does not depend on the sources (Rd, FE-RF, FE-LR): it
        is run once per target and seed, in the ``src-all`` file."""
        ref = (protocol, target, model, f"{ALL}|{versus}", ratio)
        return ref if self.boot.seeds(ref) else None

    def seeds(self, model: str) -> list[int]:
        """The seeds of the committed cells (a cut run says so on the page)."""
        return sorted({s for c in self.boot.cells() if c[2] == model for s in self.boot.seeds(c)})

    def per_subset(
        self,
        model: str,
        strategy: str = "P_U",
        ratio: int = 1,
        protocol: str = "paper",
        versus: str | None = "Rd",
    ) -> tuple[pd.DataFrame, dict]:
        """One row per (target, subset): k, ``strategy`` − ``versus`` (a strategy that does not
        depend on the sources: Rd, FE-RF or FE-LR, paired within seeds; None, or P_0 at ratio 0:
        the score itself) × 1 with a 95 % interval; and the replicates by (target, subset)."""
        rows, reps_of = [], {}
        for t in self.targets(model):
            rd = None
            if versus and strategy != "P_0":
                rd = self._reference(model, t, ratio, protocol, versus)
                if rd is None:
                    continue
            for label in self.subsets(model, t):
                r = 0 if strategy == "P_0" else ratio
                cell = (protocol, t, model, f"{label}|{strategy}", r)
                seeds = self.boot.seeds(cell)
                if rd is not None:
                    seeds = sorted(set(seeds) & set(self.boot.seeds(rd)))
                if not seeds:
                    continue
                p, reps = self.boot.replicates(cell, seeds)
                if rd is not None:
                    pr, rr = self.boot.replicates(rd, seeds)
                    p, reps = p - pr, reps - rr
                lo, hi = np.percentile(reps, [2.5, 97.5])
                rows.append({"target": t, "subset": label, "k": self.k_of(model, t, label),
                             "value": p, "lo": lo, "hi": hi, "seeds": len(seeds)})  # fmt: skip
                reps_of[(t, label)] = reps
        cols = ["target", "subset", "k", "value", "lo", "hi", "seeds"]
        return pd.DataFrame(rows, columns=cols), reps_of

    def curve(
        self,
        model: str,
        strategy: str = "P_U",
        ratio: int = 1,
        protocol: str = "paper",
        versus: str | None = "Rd",
    ) -> pd.DataFrame:
        """Per k (number of sources): the mean over targets of the mean over that target's
        subsets of size k of ``strategy`` − ``versus`` (as :meth:`per_subset`), × 1, with a
        95 % interval; per target too."""
        subs, reps_of = self.per_subset(model, strategy, ratio, protocol, versus)
        rows, per_k = [], {}
        for (t, k), g in subs.groupby(["target", "k"]):
            reps = np.mean(np.stack([reps_of[(t, s)] for s in g["subset"]]), 0)
            lo, hi = np.percentile(reps, [2.5, 97.5])
            point = float(g["value"].mean())
            rows.append({"target": t, "k": int(k), "subsets": len(g), "value": point,
                         "lo": lo, "hi": hi})  # fmt: skip
            per_k.setdefault(int(k), []).append((t, point, reps))
        targets = {r["target"] for r in rows}
        for k, items in per_k.items():
            if {t for t, _, _ in items} == targets and len(targets) > 1:
                reps = np.mean(np.stack([r for _, _, r in items]), 0)
                lo, hi = np.percentile(reps, [2.5, 97.5])
                rows.append({"target": "AVG", "k": k, "subsets": len(items),
                             "value": float(np.mean([p for _, p, _ in items])), "lo": lo,
                             "hi": hi})  # fmt: skip
        return pd.DataFrame(rows, columns=["target", "k", "subsets", "value", "lo", "hi"])

    def k_difference(
        self,
        model: str,
        strategy: str = "P_U",
        ratio: int = 1,
        k_hi: int | None = None,
        k_lo: int = 1,
        protocol: str = "paper",
    ) -> pd.DataFrame:
        """What more sources buy: per target, the mean over subsets of size ``k_hi`` (default:
        every source) minus the mean over subsets of size ``k_lo`` of ``strategy`` (× 1),
        paired within seeds (the same subject and seed draws), and ``AVG`` over the targets
        where every target has both; columns target, k_hi, k_lo, diff, lo, hi, seeds. A target
        whose subsets do not share their seeds is left out (no pairing)."""
        versus = None if strategy == "P_0" else "Rd"  # Rd cancels; it pins the seeds
        subs, reps_of = self.per_subset(model, strategy, ratio, protocol, versus)
        rows, reps = [], []
        for t, g in subs.groupby("target"):
            hi_k = k_hi or int(g["k"].max())
            hi, lo = g[g["k"] == hi_k], g[g["k"] == k_lo]
            if hi_k == k_lo or hi.empty or lo.empty or g["seeds"].nunique() != 1:
                continue
            d = (np.mean([reps_of[(t, s)] for s in hi["subset"]], 0)
                 - np.mean([reps_of[(t, s)] for s in lo["subset"]], 0))  # fmt: skip
            point = float(hi["value"].mean() - lo["value"].mean())
            q = np.percentile(d, [2.5, 97.5])
            rows.append({"target": t, "k_hi": hi_k, "k_lo": k_lo, "diff": point, "lo": q[0],
                         "hi": q[1], "seeds": int(g["seeds"].iloc[0])})  # fmt: skip
            reps.append(d)
        if len(rows) > 1 and len({r["k_hi"] for r in rows}) == 1:
            q = np.percentile(np.mean(reps, 0), [2.5, 97.5])
            rows.append({**rows[0], "target": "AVG", "diff": float(np.mean([r["diff"] for r in rows])),
                         "lo": q[0], "hi": q[1], "seeds": min(r["seeds"] for r in rows)})  # fmt: skip
        cols = ["target", "k_hi", "k_lo", "diff", "lo", "hi", "seeds"]
        return pd.DataFrame(rows, columns=cols)

    def leave_one_out(
        self, model: str, strategy: str = "P_U", ratio: int = 1, protocol: str = "paper"
    ) -> pd.DataFrame:
        """What removing each source costs each target: score(all) − score(all but it),
        paired within seeds (× 1; positive = the source helped)."""
        pairs = []
        for t in self.targets(model):
            labels = self.subsets(model, t)
            if ALL not in labels:
                continue
            named = [s for s in labels if s != ALL]
            others = sorted({n for s in named for n in s.split("+")})
            r = 0 if strategy == "P_0" else ratio
            full = (protocol, t, model, f"{ALL}|{strategy}", r)
            for src in others:
                rest = subset_label([o for o in others if o != src])
                cell = (protocol, t, model, f"{rest}|{strategy}", r)
                if rest in labels and self.boot.seeds(cell):
                    pairs.append((full, cell, {"target": t, "removed": src}))
        return intervals.paired_differences(self.boot, pairs)


def _within(a: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Rows minus their group's mean (a fixed effect per target)."""
    frame = pd.DataFrame(a)
    return (frame - frame.groupby(groups).transform("mean")).to_numpy()


def windows_association(
    study: SourceStudy,
    model: str,
    sizes: pd.DataFrame,
    ratios: Sequence[int] = (1, 5, 10),
    strategy: str = "P_U",
) -> pd.DataFrame:
    """More data or more datasets? Least-squares slopes of the gain over Rd on log2 of the
    pre-training windows and on k, within targets (each target's mean removed: targets differ
    far more than subsets), alone and jointly, × 1 per doubling of windows and per added
    dataset; 95 % intervals from the study's paired bootstrap replicates (every (target,
    subset) gain is refitted on each replicate). Within a target the subsets of one k differ in
    windows, so the joint fit can tell the two apart where the data allow; it needs more
    (target, subset) pairs than targets + 2."""
    rows = []
    for r in ratios:
        subs, reps = study.per_subset(model, strategy, r)
        d = subs.merge(sizes, on=["target", "subset", "k"], how="inner")
        if d.empty or len(d) <= d["target"].nunique() + 1:
            continue
        g = d["target"].to_numpy()
        reps_d = np.stack([reps[(t, s)] for t, s in zip(d["target"], d["subset"], strict=True)])
        y = _within(reps_d, g)
        point = _within(d["value"].to_numpy(float)[:, None], g)
        x = _within(np.column_stack([np.log2(d["windows"].to_numpy(float)),
                                     d["k"].to_numpy(float)]), g)  # fmt: skip
        fits = {"windows alone": [0], "k alone": [1]}
        if len(d) > d["target"].nunique() + 2:
            fits["jointly"] = [0, 1]
        for fit, cols in fits.items():
            if np.allclose(x[:, cols], 0):
                continue
            b = np.linalg.lstsq(x[:, cols], point, rcond=None)[0][:, 0]
            bs = np.linalg.lstsq(x[:, cols], y, rcond=None)[0]
            for j, c in enumerate(cols):
                lo, hi = np.percentile(bs[j], [2.5, 97.5])
                rows.append({"ratio": r, "fit": fit,
                             "per": "doubling of windows" if c == 0 else "added dataset",
                             "slope": float(b[j]), "lo": float(lo), "hi": float(hi),
                             "pairs": len(d), "targets": int(d["target"].nunique())})  # fmt: skip
    cols = ["ratio", "fit", "per", "slope", "lo", "hi", "pairs", "targets"]
    return pd.DataFrame(rows, columns=cols)


def _results_files(pattern: str | Path) -> list[Path]:
    return [p for p in find_files(pattern) if not p.name.endswith(".confusion.csv")]


def whole_seeds(
    pattern: str | Path,
    targets: Sequence[str] | None = None,
    cells: Iterable[tuple[str, int]] | None = None,
) -> list[int]:
    """The seeds whose every group is finished in every file of the curve.

    A group is one (file, target, seed): finished when each (strategy, ratio) cell the file
    runs (the union over its groups, plus ``cells``) is recorded ``ok`` with its confusion
    rows. A seed counts only if every file holds a finished group for each target the file
    names and each of ``targets``, so a file published with these seeds never carries half a
    seed (lanes stop mid-group). Without ``targets`` and ``cells`` the files alone say what a
    seed needs, which holds for the curve (every file's first groups finish before a seed is
    asked) but not for a study whose files are begun one group at a time: there a file holding
    one group still running, or one target of three, would look whole.
    """
    files = _results_files(pattern)
    if not files:
        raise FileNotFoundError(f"no results files match {pattern}")
    seeds: set[int] | None = None
    expect = frozenset((str(st), int(r)) for st, r in (cells or ()))
    for f in files:
        r, c = read_with_confusion(f)
        if r.empty or c.empty:
            return []
        has = c.drop_duplicates(["target", "strategy", "ratio", "seed"])
        got = has.groupby(["target", "seed"]).apply(
            lambda g: frozenset(zip(g["strategy"], g["ratio"].astype(int), strict=True)),
            include_groups=False,
        )
        full = frozenset().union(expect, *got)
        done = {(t, s) for (t, s), v in got.items() if v == full}
        need = {t for t, _ in got.index} | set(targets or ())
        here = {s for s in {s for _, s in got.index} if all((t, s) in done for t in need)}
        seeds = here if seeds is None else seeds & here
    return sorted(seeds or ())


def expected_cells(strategies: Sequence[str], ratios: Sequence[int]) -> set[tuple[str, int]]:
    """The (strategy, ratio) cells ``harnb run --strategy ... --ratio ...`` runs per group
    (ratio 0 pairs only with P_0), for :func:`whole_seeds`'s ``cells``."""
    from harnb.study.grid import cells_for

    return {(c[3], c[4]) for c in cells_for(["-"], ["-"], ["-"], strategies, ratios, [0])}


def publish_seeds(
    pattern: str | Path,
    out_dir: str | Path,
    seeds: Sequence[int] | None = None,
    targets: Sequence[str] | None = None,
    cells: Iterable[tuple[str, int]] | None = None,
) -> list[Path]:
    """Copy the curve's files (results and confusion rows) keeping whole seeds only.

    For committing a run that is still going: the lanes append to ``partial/``, the book reads
    the copy. ``seeds`` defaults to :func:`whole_seeds` (with ``targets`` and ``cells``, what
    every file must hold); naming one that is not whole is an error. Each file keeps one
    configuration; the copies replace earlier ones atomically.
    """
    whole = whole_seeds(pattern, targets, cells)
    chosen = sorted(whole if seeds is None else set(seeds))
    if not chosen:
        raise ValueError(f"{pattern}: no seed is finished in every file")
    if missing := sorted(set(chosen) - set(whole)):
        raise ValueError(f"seed(s) {missing} not finished in every file (whole: {whole})")
    keep = {str(s) for s in chosen}
    out = Path(out_dir)
    written = []
    for f in _results_files(pattern):
        r = read_tidy(f, COLUMNS)
        c = read_tidy(confusion_path(f), CONFUSION_COLUMNS)
        r, c = r[r["seed"].astype(str).isin(keep)], c[c["seed"].astype(str).isin(keep)]
        check_single_config(r.assign(seed=r["seed"].astype(int)), str(f))
        dst = out / f.name
        write_with_confusion(dst, r, c)
        written.append(dst)
    return written
