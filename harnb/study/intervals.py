"""95 % bootstrap intervals over test subjects and seeds, paired where comparisons are.

A cell's number is the mean over seeds of its macro-F1 on the target's test subjects. What
varies is the seed (subject split, pre-training, subset, initialisation, batch order) and who
the test subjects are, so a bootstrap replicate draws seeds with replacement and, within each
drawn seed, that seed's test subjects with replacement, sums their confusion counts
(:mod:`harnb.study.results` stores them per subject) and recomputes macro-F1 over the target's
classes.

Comparisons are paired: every cell of one (target, model) uses the same seed draws, and every
cell of one (target, model, protocol, seed) the same subject draws, so a strategy difference
(P_U − Rd) or a protocol gap is computed replicate by replicate within a seed. Averages over
targets average the replicates of each target (their draws are independent).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from harnb import config
from harnb.study.results import CELL_KEYS, confusion_matrix_of

#: A cell without its seed: (protocol, target, model, strategy, ratio).
Cell = tuple[str, str, str, str, int]


def per_class_f1(cm: np.ndarray, classes: Sequence[int]) -> np.ndarray:
    """F1 of each of ``classes`` from confusion counts ``cm`` (..., len(classes), 10): rows
    the true classes, columns every predicted class."""
    cm = np.asarray(cm, np.float64)
    classes = np.asarray(classes, np.int64)
    k = np.arange(len(classes))
    tp = cm[..., k, classes]
    support = cm.sum(-1)
    predicted = cm[..., :, classes].sum(-2)
    denom = support + predicted
    return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), 0.0)


def macro_f1_from_confusion(cm: np.ndarray, classes: Sequence[int]) -> float | np.ndarray:
    """Macro-F1 over ``classes`` of confusion counts ``cm`` (..., len(classes), 10).

    Rows are the true target classes, columns every predicted class, so a prediction of a
    class the target lacks lowers the true class's recall without adding a zero-F1 class
    (the same metric as :func:`harnb.training.evaluate.macro_f1`).
    """
    out = per_class_f1(cm, classes).mean(-1)
    return float(out) if np.ndim(out) == 0 else out


def summed_confusion(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(classes, counts summed over every row) of confusion rows of one cell."""
    classes, total = None, None
    for r in rows.itertuples():
        c, m = confusion_matrix_of(r)
        if classes is None:
            classes, total = c, m.copy()
        else:
            if not np.array_equal(c, classes):
                raise ValueError("confusion rows of one cell list different classes")
            total += m
    if classes is None:
        raise ValueError("no confusion rows")
    return classes, total


def _rng(*key: object) -> np.random.Generator:
    h = hashlib.sha1(repr(key).encode()).digest()
    return np.random.default_rng(int.from_bytes(h[:8], "little"))


class Bootstrap:
    """Bootstrap replicates of every cell of a confusion file, drawn reproducibly.

    ``conf`` is :func:`harnb.study.results.read_confusion` output (one configuration per cell).
    """

    def __init__(self, conf: pd.DataFrame, n_boot: int = 2000, seed: int = 0) -> None:
        self.n_boot, self.seed = int(n_boot), int(seed)
        self._cells: dict[tuple, tuple[np.ndarray, list[str], np.ndarray]] = {}
        if conf is None or conf.empty:
            return
        for key, g in conf.groupby(list(CELL_KEYS), sort=False):
            g = g.sort_values("subject")
            mats = [confusion_matrix_of(r) for r in g.itertuples()]
            classes = mats[0][0]
            stack = np.stack([m for _, m in mats])
            p, t, m, st, r, s = key
            self._cells[(p, t, m, st, int(r), int(s))] = (classes, list(g["subject"]), stack)

    def cells(self) -> list[Cell]:
        """Every cell (without seed) present."""
        return sorted({k[:5] for k in self._cells})

    def seeds(self, cell: Cell) -> list[int]:
        """Seeds recorded for ``cell``."""
        return sorted(k[5] for k in self._cells if k[:5] == tuple(cell))

    def _per_seed(self, cell: Cell, seed: int) -> tuple[float, np.ndarray]:
        """(macro-F1 on all test subjects, replicates over resampled subjects) of one seed."""
        classes, subjects, stack = self._cells[(*cell, seed)]
        p, t, m = cell[0], cell[1], cell[2]
        # the same subject draws for every cell of (target, model, protocol, seed)
        draw = _rng(self.seed, "subjects", t, m, p, seed, tuple(subjects)).integers(
            0, len(subjects), (self.n_boot, len(subjects))
        )
        point = macro_f1_from_confusion(stack.sum(0), classes)
        reps = macro_f1_from_confusion(stack[draw].sum(1), classes)
        return float(point), np.asarray(reps)

    def replicates(
        self, cell: Cell, seeds: Sequence[int] | None = None
    ) -> tuple[float, np.ndarray]:
        """(mean over seeds, bootstrap replicates of it) of ``cell``."""
        cell = (cell[0], cell[1], cell[2], cell[3], int(cell[4]))
        seeds = sorted(seeds if seeds is not None else self.seeds(cell))
        if not seeds:
            raise KeyError(f"no confusion counts for {cell}")
        per = [self._per_seed(cell, s) for s in seeds]
        point = float(np.mean([p for p, _ in per]))
        reps = np.stack([r for _, r in per])  # (S, B)
        # the same seed draws for every cell of (target, model) with these seeds
        sd = _rng(self.seed, "seeds", cell[1], cell[2], tuple(seeds)).integers(
            0, len(seeds), (self.n_boot, len(seeds))
        )
        boot = reps[sd, np.arange(self.n_boot)[:, None]].mean(1)
        return point, boot

    def interval(
        self, cell: Cell, seeds: Sequence[int] | None = None
    ) -> tuple[float, float, float]:
        """(mean, 2.5 %, 97.5 %) of ``cell``."""
        point, boot = self.replicates(cell, seeds)
        lo, hi = np.percentile(boot, [2.5, 97.5])
        return point, float(lo), float(hi)

    def difference(self, a: Cell, b: Cell) -> tuple[float, float, float, int]:
        """(a − b, 2.5 %, 97.5 %, seeds) paired within the seeds both cells have."""
        common = sorted(set(self.seeds(a)) & set(self.seeds(b)))
        if not common:
            raise KeyError(f"{a} and {b} share no seed")
        pa, ba = self.replicates(a, common)
        pb, bb = self.replicates(b, common)
        lo, hi = np.percentile(ba - bb, [2.5, 97.5])
        return pa - pb, float(lo), float(hi), len(common)


def _avg(reps: list[np.ndarray], points: list[float]) -> tuple[float, float, float]:
    boot = np.mean(np.stack(reps), 0)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return float(np.mean(points)), float(lo), float(hi)


def cell_intervals(boot: Bootstrap, model: str, protocol: str) -> pd.DataFrame:
    """Tidy (target, ratio, strategy, mean, lo, hi, seeds) for one model and protocol, with
    an ``AVG`` target (mean over targets, replicate by replicate) where every target has it."""
    rows = []
    cells = [c for c in boot.cells() if c[0] == protocol and c[2] == model]
    by_rs: dict[tuple[int, str], list] = {}
    for c in cells:
        point, reps = boot.replicates(c)
        lo, hi = np.percentile(reps, [2.5, 97.5])
        rows.append(dict(target=c[1], ratio=c[4], strategy=c[3], mean=point, lo=lo, hi=hi,
                         seeds=len(boot.seeds(c))))  # fmt: skip
        by_rs.setdefault((c[4], c[3]), []).append((c[1], point, reps))
    targets = {c[1] for c in cells}
    for (r, st), items in by_rs.items():
        if {t for t, _, _ in items} == targets and len(targets) > 1:
            m, lo, hi = _avg([x for _, _, x in items], [p for _, p, _ in items])
            rows.append(dict(target="AVG", ratio=r, strategy=st, mean=m, lo=lo, hi=hi,
                             seeds=min(len(boot.seeds((protocol, t, model, st, r)))
                                       for t, _, _ in items)))  # fmt: skip
    return pd.DataFrame(rows, columns=["target", "ratio", "strategy", "mean", "lo", "hi", "seeds"])


def paired_differences(boot: Bootstrap, pairs: Sequence[tuple[Cell, Cell, dict]]) -> pd.DataFrame:
    """Tidy rows of paired differences a − b with intervals; each pair carries its labels.

    Pairs that share a label dict except ``target`` are also averaged over targets (``AVG``).
    """
    rows, groups = [], {}
    for a, b, labels in pairs:
        common = sorted(set(boot.seeds(a)) & set(boot.seeds(b)))
        if not common:
            continue
        pa, ra = boot.replicates(a, common)
        pb, rb = boot.replicates(b, common)
        lo, hi = np.percentile(ra - rb, [2.5, 97.5])
        rows.append({**labels, "diff": pa - pb, "lo": lo, "hi": hi, "seeds": len(common)})
        k = tuple(sorted((k, v) for k, v in labels.items() if k != "target"))
        groups.setdefault(k, []).append((labels.get("target"), pa - pb, ra - rb, len(common)))
    targets = {r.get("target") for r in rows}
    for k, items in groups.items():
        if len(items) > 1 and {t for t, *_ in items} == targets:
            m, lo, hi = _avg([x for _, _, x, _ in items], [d for _, d, _, _ in items])
            rows.append({**dict(k), "target": "AVG", "diff": m, "lo": lo, "hi": hi,
                         "seeds": min(n for *_, n in items)})  # fmt: skip
    return pd.DataFrame(rows)


def strategy_differences(boot: Bootstrap, model: str, protocol: str = "paper") -> pd.DataFrame:
    """P_U − Rd and P_F − Rd per target and ratio (× 1, not × 100), paired within seeds."""
    pairs = []
    for c in boot.cells():
        p, t, m, st, r = c
        if p != protocol or m != model or st not in ("P_U", "P_F"):
            continue
        rd = (p, t, m, "Rd", r)
        if boot.seeds(rd):
            pairs.append((c, rd, {"target": t, "ratio": r, "comparison": f"{st} − Rd"}))
    return paired_differences(boot, pairs)


def protocol_gaps(
    boot: Bootstrap, model: str, versus: Sequence[str] = ("released-matched", "released-code")
) -> pd.DataFrame:
    """Protocol − paper per target, strategy and ratio, paired within seeds (shared
    pre-training, so the gap is the target split's alone)."""
    pairs = []
    for c in boot.cells():
        p, t, m, st, r = c
        if m != model or p not in versus:
            continue
        base = ("paper", t, m, st, r)
        if boot.seeds(base):
            pairs.append((c, base, {"target": t, "ratio": r, "strategy": st, "gap": p}))
    return paired_differences(boot, pairs)


def fmt_interval(mean: float, lo: float, hi: float, scale: float = 100.0, signed: bool = False):
    """``78.8 [76.1, 81.0]`` (× ``scale``, one decimal); blank for a missing value."""
    if mean is None or not np.isfinite(mean):
        return ""
    f = "{:+.1f}" if signed else "{:.1f}"
    return f"{f.format(mean * scale)} [{f.format(lo * scale)}, {f.format(hi * scale)}]"


#: The order strategies take in a table: the paper's, then the additions beside them.
STRATEGY_ORDER: tuple[str, ...] = (
    "P_0", "P_0 union", "Rd", "P_F", "P_F-tBN", "P_F-LP", "P_U", "FE-RF", "FE-LR",
)  # fmt: skip


def column_key(column: object) -> tuple:
    """Sort key of a table column (a tuple of levels, or one): per level, numbers (ratios) by
    value, strategies in :data:`STRATEGY_ORDER`, any other name after them alphabetically."""

    def level(part: object) -> tuple:
        if isinstance(part, (int, float, np.integer)):
            return (0, float(part), "")
        rank = STRATEGY_ORDER.index(part) if part in STRATEGY_ORDER else len(STRATEGY_ORDER)
        return (1, rank, str(part))

    return tuple(level(p) for p in (column if isinstance(column, tuple) else (column,)))


def table(
    tidy: pd.DataFrame,
    value: str = "mean",
    index: str | Sequence[str] = "target",
    columns: Sequence[str] = ("ratio", "strategy"),
    signed: bool = False,
) -> pd.DataFrame:
    """A formatted wide table of a tidy interval frame (targets in the paper's order)."""
    if tidy.empty:
        return pd.DataFrame()
    t = tidy.assign(cell=[
        fmt_interval(m, lo, hi, signed=signed)
        for m, lo, hi in zip(tidy[value], tidy["lo"], tidy["hi"], strict=True)
    ])  # fmt: skip
    idx = [index] if isinstance(index, str) else list(index)
    out = t.pivot_table(index=idx, columns=list(columns), values="cell", aggfunc="first")
    from harnb.data.splits import PROTOCOLS

    rank = {d: i for i, d in enumerate((*config.DATASETS, "AVG", *PROTOCOLS))}

    def key(v: object) -> tuple:
        parts = v if isinstance(v, tuple) else (v,)
        return tuple((rank.get(p, -1), str(p)) for p in parts)

    order = sorted(out.index, key=key)
    cols = sorted(out.columns, key=column_key)
    return out.reindex(index=order, columns=cols).fillna("")
