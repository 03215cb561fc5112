"""Chapter-level steps of the study (chapters 4–6), built on :mod:`harnb.grid`.

Each function does what one notebook section shows, so the notebooks stay a sequence of calls
and the tests run exactly what the book runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from harnb import folds, grid, intervals, paper
from harnb.profiles import Part, Profile, get_profile
from harnb.store import WindowStore


def pretrain_targets(
    profile: str | Profile = "ci",
    model: str | None = None,
    targets: Sequence[str] | None = None,
    store: WindowStore | None = None,
    seed: int | None = None,
) -> pd.DataFrame:
    """Pre-train (or reuse the cached) ``model`` for every left-out target; tidy curves.

    Returns rows (target, step, metric, value, best_step, n_train, seconds, stopped); the
    pre-trained weights land in the cache the LODO grid reuses (one per target and seed, shared
    by every protocol), so chapter 5 does not train them again.
    """
    from harnb import train

    prof = get_profile(profile)
    model = model or prof.models[0]
    store = store if store is not None else grid.load_store(prof)
    seed = prof.split_seed if seed is None else int(seed)
    dkey = grid.data_key(store)
    rows = []
    for t in targets or prof.targets or store.datasets():
        fold = grid.prepare_fold(store, t, "paper", split_seed=seed)
        grid.get_pretrained(fold, model, prof, seed, dkey)
        try:
            h = train.load_history(folds.history_path(t, model, seed, prof, dkey))
        except FileNotFoundError:
            continue  # weights cached by an older run without a history: nothing to plot
        steps = h["history"].get("step", [])
        for metric, values in h["history"].items():
            if metric == "step":
                continue
            for st, v in zip(steps, values, strict=False):
                rows.append(
                    {
                        "target": t,
                        "step": int(st),
                        "metric": metric,
                        "value": np.nan if v is None else float(v),
                        "best_step": h["best_step"],
                        "n_train": h["n_train"],
                        "seconds": h["seconds"],
                        "stopped": h.get("stopped", ""),
                    }
                )
    return pd.DataFrame(rows)


def curves_frame(history: pd.DataFrame) -> pd.DataFrame:
    """Tidy curves for :func:`harnb.plots.curves`: accuracy and loss, train vs validation."""
    h = history.copy()
    h["split"] = np.where(h["metric"].str.startswith("val_"), "validation", "train")
    h["metric"] = h["metric"].str.removeprefix("val_")
    h = h[h["metric"].isin(["accuracy", "loss"])]
    h["run"] = h["target"] + " · " + h["split"]
    return h[["run", "step", "metric", "value"]]


def side_by_side(ours: pd.DataFrame, model: str) -> pd.DataFrame:
    """Our formatted LODO table (from :func:`grid.paper_table`) with the paper's row under each.

    Rows are (target, source) with source ∈ {ours, paper}; the paper's AVG is recomputed over
    the targets we have so that the two AVG rows compare like with like.
    """
    if ours.empty:
        return ours
    ref = paper.lodo_table(model)
    targets = [t for t in ours.index if t != "AVG"]
    ref_t = ref.loc[[t for t in targets if t in ref.index]]
    ref_avg = ref_t.mean().to_frame("AVG").T
    ref = pd.concat([ref_t, ref_avg])
    if (0, "P_0 union") in ours.columns:  # the paper's 0 % column is on the union metric
        ref[(0, "P_0 union")] = ref[(0, "P_0")]
        ref[(0, "P_0")] = np.nan
    ref = ref.reindex(columns=ours.columns)
    blocks = []
    for t in [*targets, *(["AVG"] if "AVG" in ours.index else [])]:
        o = ours.loc[[t]].assign(source="ours")
        p = (
            ref.loc[[t]].map(lambda v: "" if pd.isna(v) else f"{v:.1f}").assign(source="paper")
            if t in ref.index
            else None
        )
        blocks += [o] + ([p] if p is not None else [])
    out = pd.concat(blocks)
    out.index = pd.MultiIndex.from_arrays([out.index, out.pop("source")], names=["target", ""])
    return out


def protocol_gap(df: pd.DataFrame, model: str, metric: str = "macro_f1") -> pd.DataFrame:
    """How much the released code's split inflates macro-F1 (× 100): released − paper protocol.

    Rows targets (+ AVG), columns (ratio, strategy); positive = the leaky split scores higher.
    """
    a = grid.paper_table(df, model, "paper", metric, fmt=False)
    b = grid.paper_table(df, model, "released-code", metric, fmt=False)
    if a.empty or b.empty:
        return pd.DataFrame()
    ma = a.xs("mean", axis=1, level=2).drop(index="AVG")
    mb = b.xs("mean", axis=1, level=2).drop(index="AVG")
    common = [t for t in ma.index if t in mb.index]  # only targets run under both protocols
    if not common:
        return pd.DataFrame()
    gap = mb.loc[common] - ma.loc[common].reindex(columns=mb.columns)
    gap.loc["AVG"] = gap.mean()
    return gap.round(2)


def f1_curve_frame(df: pd.DataFrame, model: str, protocol: str = "paper") -> pd.DataFrame:
    """Mean macro-F1 (× 100) per ratio and strategy, ours (± sd over seeds) beside the paper's.

    Both are averaged over the targets we have; P_0 is drawn at ratio 0 for every strategy so
    each line starts from the untuned pre-trained model, as in the paper's Fig. 3.
    """
    a = grid.aggregate(df)
    a = a[(a["model"] == model) & (a["protocol"] == protocol)]
    if a.empty:
        return pd.DataFrame()
    targets = sorted(a["target"].unique())
    ours = (
        a.groupby(["ratio", "strategy"])
        .agg(f1=("mean", "mean"), sd=("sd", "mean"))
        .reset_index()
        .assign(f1=lambda d: d["f1"] * 100, sd=lambda d: d["sd"] * 100, source="ours")
    )
    ref = paper.lodo_tidy()
    ref = ref[(ref["model"] == model) & (ref["target"].isin(targets))]
    ref = (
        ref.groupby(["ratio", "strategy"])["f1"].mean().reset_index().assign(sd=0.0, source="paper")
    )
    both = pd.concat([ours, ref], ignore_index=True)
    zero = both[both["strategy"] == "P_0"]
    extra = [zero.assign(strategy=s) for s in ("Rd", "P_F", "P_U")]
    both = pd.concat([both[both["strategy"] != "P_0"], *extra], ignore_index=True)
    return both.sort_values(["source", "strategy", "ratio"]).reset_index(drop=True)


def target_embedding(
    profile: str | Profile = "ci",
    target: str | None = None,
    model: str | None = None,
    protocol: str = "paper",
    store: WindowStore | None = None,
    seed: int = 42,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """t-SNE of the pre-trained extractor's features of the target's test windows.

    Returns (xy (n, 2), labels (n,), subject ids (n,)); at most ``profile.tsne_max`` windows,
    drawn class-stratified with ``seed``. The extractor never saw the target (LODO).
    """
    from harnb import embed

    prof = get_profile(profile)
    model = model or prof.models[0]
    store = store if store is not None else grid.load_store(prof)
    target = target or (prof.targets or store.datasets())[0]
    dkey = grid.data_key(store)
    fold = grid.prepare_fold(store, target, protocol, split_seed=prof.split_seed)
    pre = grid.get_pretrained(fold, model, prof, prof.split_seed, dkey)  # shared by protocols
    idx = fold.split.target_test
    if len(idx) > prof.tsne_max:
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(idx, prof.tsne_max, replace=False))
    X, y = fold.part(idx)
    feats = embed.embed(pre, X, batch_size=prof.eval_batch)
    xy = embed.tsne(feats, seed=seed)
    return xy, y, np.asarray(store.subject)[idx]


def silhouette(xy_or_feats: np.ndarray, y: np.ndarray) -> float:
    """Silhouette score of the classes in an embedding (higher = better separated)."""
    from sklearn.metrics import silhouette_score

    if len(np.unique(y)) < 2:
        return float("nan")
    return float(silhouette_score(xy_or_feats, y))


# --------------------------------------------------------------------------------------------
# Chapter 5: committed results with intervals
# --------------------------------------------------------------------------------------------

#: How the book names a dataset whose numbers come from a stand-in (the mirror's MobiAct is
#: the 9-subject MobiFall v2.0 subset, not the paper's 61-subject MobiAct).
DISPLAY_NAMES: dict[str, str] = {"MobiAct": "MobiFall (9 subj.)"}


def display_name(dataset: str) -> str:
    """The name a table shows for ``dataset`` (what the data really is)."""
    return DISPLAY_NAMES.get(dataset, dataset)


class Published:
    """Committed results (every file matching a glob), their confusion counts and bootstrap."""

    def __init__(self, pattern: str, n_boot: int = 2000) -> None:
        from harnb import results

        self.results, self.files = grid.read_published(pattern)
        confs = [results.read_confusion(results.confusion_path(f)) for f in self.files]
        confs = [c for c in confs if not c.empty]
        self.confusion = pd.concat(confs, ignore_index=True) if confs else pd.DataFrame()
        if not self.confusion.empty:  # keep only the configuration the results rows carry
            ok = self.results[self.results["metric"] == "macro_f1"]
            keep = set(zip(*(ok[k] for k in (*grid.CELL_KEYS, "config")), strict=True))
            key = zip(*(self.confusion[k] for k in (*grid.CELL_KEYS, "config")), strict=True)
            self.confusion = self.confusion[[k in keep for k in key]]
        self.boot = intervals.Bootstrap(self.confusion, n_boot=n_boot)

    @property
    def models(self) -> list[str]:
        """Models with results, in the paper's order."""
        from harnb.models import MODELS

        have = set(self.results["model"]) if len(self.results) else set()
        return [m for m in MODELS if m in have]

    def protocols(self, model: str) -> list[str]:
        """Protocols run for ``model``."""
        from harnb.splits import PROTOCOLS

        have = set(self.results[self.results["model"] == model]["protocol"])
        return [p for p in PROTOCOLS if p in have]

    def summary(self) -> pd.DataFrame:
        """One row per model and protocol: targets, seeds, cells, configuration, files."""
        ok = self.results[(self.results["metric"] == "macro_f1") & (self.results["status"] == "ok")]
        rows = []
        for (m, p), g in ok.groupby(["model", "protocol"]):
            rows.append(
                {
                    "model": m,
                    "protocol": p,
                    "targets": ", ".join(display_name(t) for t in sorted(set(g["target"]))),
                    "seeds": " ".join(map(str, sorted(set(g["seed"])))),
                    "ratios": " ".join(map(str, sorted(set(g["ratio"])))),
                    "cells": len(g),
                    "configuration": ", ".join(sorted(set(g["config"]))),
                }
            )
        return pd.DataFrame(rows)

    def table(self, model: str, protocol: str = "paper") -> pd.DataFrame:
        """Tables III–V/VII layout with 95 % intervals, the paper's same-target values under
        ours, and the 0 % column also on the paper's union-of-labels metric."""

        tidy = intervals.cell_intervals(self.boot, model, protocol)
        if tidy.empty:
            return pd.DataFrame()
        ours = intervals.table(tidy)
        union = self._p0_union(model, protocol)
        if union is not None:
            ours[(0, "P_0 union")] = [union.get(t, "") for t in ours.index]
            ours = ours[sorted(ours.columns, key=_col_order)]
        out = side_by_side(ours, model)
        out.index = out.index.set_levels([display_name(t) for t in out.index.levels[0]], level=0)
        return out.fillna("")

    def _p0_union(self, model: str, protocol: str) -> dict[str, str] | None:
        d = self.results
        d = d[(d.model == model) & (d.protocol == protocol) & (d.strategy == "P_0")]
        d = d[(d.metric == "macro_f1_union") & (d.status == "ok")]
        if d.empty:
            return None
        by_t = d.groupby("target")["value"].mean() * 100
        out = {t: f"{v:.1f}" for t, v in by_t.items()}
        out["AVG"] = f"{by_t.mean():.1f}"
        return out

    def strategy_gains(self, model: str, protocol: str = "paper") -> pd.DataFrame:
        """P_U − Rd and P_F − Rd (× 100, paired within seeds, 95 % intervals)."""

        d = intervals.strategy_differences(self.boot, model, protocol)
        if d.empty:
            return d
        t = intervals.table(d, value="diff", columns=("ratio", "comparison"), signed=True)
        return t.rename(index=display_name)

    def leak_gaps(self, model: str) -> pd.DataFrame:
        """Protocol − paper (× 100, paired within seeds): the isolated leak
        (``released-matched``) and the released code as it is (``released-code``)."""

        d = intervals.protocol_gaps(self.boot, model)
        if d.empty:
            return d
        t = intervals.table(d, value="diff", index=("gap", "target"),
                            columns=("ratio", "strategy"), signed=True)  # fmt: skip
        return t.rename(index=display_name)

    def convergence(self) -> pd.DataFrame:
        """Per model, protocol and strategy: runs, the share whose best step was their last
        evaluation (the budget ended them), median steps taken and best step."""
        d = self.results[(self.results["status"] == "ok") & (self.results["strategy"] != "P_0")]
        if d.empty:
            return pd.DataFrame()
        w = d.pivot_table(index=[*grid.CELL_KEYS], columns="metric", values="value")
        w = w.reset_index()
        g = w.groupby(["model", "protocol", "strategy"])
        out = pd.DataFrame(
            {
                "runs": g.size(),
                "best step = last (%)": (g["best_is_last"].mean() * 100).round(1),
                "median steps": g["steps"].median().round(0).astype(int),
                "median best step": g["best_step"].median().round(0).astype(int),
            }
        )
        return out.reset_index()

    def single_class_runs(self) -> pd.DataFrame:
        """Cells whose predictions on some seed's test set are all one class (collapse)."""
        from harnb.results import confusion_matrix_of

        rows: list[dict] = []
        if self.confusion.empty:
            return pd.DataFrame(rows, columns=list(grid.CELL_KEYS))
        for key, g in self.confusion.groupby(list(grid.CELL_KEYS)):
            cols = None
            for r in g.itertuples():
                _, m = confusion_matrix_of(r)
                cols = m.sum(0) if cols is None else cols + m.sum(0)
            if (cols > 0).sum() <= 1:
                rows.append(dict(zip(grid.CELL_KEYS, key, strict=True)))
        return pd.DataFrame(rows, columns=list(grid.CELL_KEYS))


def _col_order(c: tuple) -> tuple:
    order = {"P_0": 0, "P_0 union": 1, "Rd": 2, "P_F": 3, "P_U": 4}
    return (int(c[0]), order.get(c[1], 9))


# --------------------------------------------------------------------------------------------
# Front page: the headline figure and the findings table, from the committed results
# --------------------------------------------------------------------------------------------


def headline_frame(pub: Published, protocol: str = "paper") -> pd.DataFrame:
    """Mean macro-F1 (× 100) over our targets per model, ratio and strategy with its 95 %
    interval, beside the paper's values averaged over the same targets (the Fig. 3 layout).

    P_0 is drawn at ratio 0 for every strategy, so each line starts at the untuned model.
    """
    rows = []
    for m in pub.models:
        ci = intervals.cell_intervals(pub.boot, m, protocol)
        if ci.empty:
            continue
        targets = sorted(set(ci["target"]) - {"AVG"})
        avg = ci[ci["target"] == ("AVG" if len(targets) > 1 else targets[0])]
        for r in avg.itertuples():
            rows.append(dict(model=m, ratio=int(r.ratio), strategy=r.strategy, source="ours",
                             f1=r.mean * 100, lo=r.lo * 100, hi=r.hi * 100))  # fmt: skip
        ref = paper.lodo_tidy()
        ref = ref[(ref["model"] == m) & ref["target"].isin(targets)]
        for (ratio, st), v in ref.groupby(["ratio", "strategy"])["f1"].mean().items():
            rows.append(dict(model=m, ratio=int(ratio), strategy=st, source="paper (same targets)",
                             f1=float(v), lo=np.nan, hi=np.nan))  # fmt: skip
    df = pd.DataFrame(rows, columns=["model", "ratio", "strategy", "source", "f1", "lo", "hi"])
    if df.empty:
        return df
    zero = df[df["strategy"] == "P_0"]
    extra = [zero.assign(strategy=s) for s in ("Rd", "P_F", "P_U")]
    df = pd.concat([df[df["strategy"] != "P_0"], *extra], ignore_index=True)
    return df.sort_values(["model", "source", "strategy", "ratio"]).reset_index(drop=True)


def architectures_table(pub: Published, ratio: int = 1, protocol: str = "paper") -> pd.DataFrame:
    """One row per architecture at ``ratio`` % labels: our mean macro-F1 over its targets
    [95 % interval] per strategy beside the paper's values averaged over the same targets
    (the paper's AVG row on our targets), with the targets and seeds each row averages."""
    h = headline_frame(pub, protocol)
    rows = []
    for m in pub.models:
        sel = h[(h["model"] == m) & (h["ratio"] == ratio)]
        if sel.empty:
            continue
        ok = pub.results[(pub.results["model"] == m) & (pub.results["protocol"] == protocol)]
        ok = ok[(ok["ratio"] == ratio) & (ok["metric"] == "macro_f1") & (ok["status"] == "ok")]
        row = {
            "model": m,
            "targets": ", ".join(display_name(t) for t in sorted(set(ok["target"]))),
            "seeds": " ".join(map(str, sorted(set(ok["seed"])))),
        }
        for st in ("Rd", "P_F", "P_U"):
            ours = sel[(sel["strategy"] == st) & (sel["source"] == "ours")]
            ref = sel[(sel["strategy"] == st) & (sel["source"] != "ours")]
            o = ours.iloc[0] if len(ours) else None
            row[f"{st} ours"] = (
                intervals.fmt_interval(o.f1 / 100, o.lo / 100, o.hi / 100) if o is not None else ""
            )
            row[f"{st} paper"] = f"{ref.iloc[0].f1:.1f}" if len(ref) else ""
        rows.append(row)
    return pd.DataFrame(rows)


def _part_rows(results: pd.DataFrame, part: Part) -> pd.DataFrame:
    """One row per distinct finished cell of ``results`` in the plan ``part``'s scope."""
    if not len(results):
        return results.iloc[:0]
    ok = results[(results["metric"] == "macro_f1") & (results["status"] == "ok")]
    sel = ok[(ok["model"] == part.model) & ok["protocol"].isin(part.protocols)]
    sel = sel[sel["ratio"].isin(part.ratios) & sel["seed"].isin(part.seeds)]
    return sel.drop_duplicates(list(grid.CELL_KEYS))


def plan_status(
    pub: Published, n_targets: int = 3, partial: Published | None = None
) -> pd.DataFrame:
    """The ``cpu`` plan's parts (:func:`harnb.profiles.plan_table`) with the cells of each
    that the committed results hold, out of the cells it runs; with ``partial`` (the files of
    parts still running, ``data/results/partial/``) also the cells those hold so far.

    *hours spent* sums the finished cells' own ``seconds`` (a pre-training is counted in the
    cell that started it): the time the run actually took, on whatever machine and lane ran
    it; a cell cut off by a stop is not in it, and two lanes sharing the cores both count."""
    from harnb.profiles import CPU_PLAN, plan_table

    t = plan_table(CPU_PLAN, n_targets).drop(columns=["command", "relative rate"])
    t = t.rename(columns={"hours": "hours estimated"})
    total = [part.cells(n_targets) for part in CPU_PLAN]
    columns = {"cells committed": pub}
    if partial is not None:
        columns["cells of the run in progress"] = partial
    for name, src in columns.items():
        done = [len(_part_rows(src.results, part)) for part in CPU_PLAN]
        t[name] = [f"{d} / {n}" for d, n in zip(done, total, strict=True)] + [
            f"{sum(done)} / {sum(total)}"
        ]
    every = pd.concat([src.results for src in columns.values()], ignore_index=True)
    spent = [float(_part_rows(every, part)["seconds"].sum()) / 3600 for part in CPU_PLAN]
    t["hours spent"] = [round(h, 1) for h in spent] + [round(sum(spent), 1)]
    return t


def _paper_avg(model: str, targets: Sequence[str], ratio: int, strategy: str) -> float:
    ref = paper.lodo_tidy()
    ref = ref[(ref["model"] == model) & ref["target"].isin(targets)]
    ref = ref[(ref["ratio"] == ratio) & (ref["strategy"] == strategy)]
    return float(ref["f1"].mean()) if len(ref) else float("nan")


def findings(pub: Published, ratios: Sequence[int] = (1, 10)) -> pd.DataFrame:
    """What was reproduced and what differs: the paper's claims on our targets, ours beside.

    Each row is a paired difference within seeds (× 100, 95 % interval over test subjects and
    seeds, averaged over our targets); *verdict*: our interval holds the paper's value and
    excludes zero (``reproduced``), excludes zero on the paper's side but not the paper's value
    (``same sign, smaller/larger here``), excludes zero on the other side (``differs``), or
    includes zero (``not resolved``).
    """
    rows = []
    for m in pub.models:
        d = intervals.strategy_differences(pub.boot, m, "paper")
        if d.empty:
            continue
        targets = sorted(set(d["target"]) - {"AVG"})
        key = "AVG" if "AVG" in set(d["target"]) else targets[0]
        names = ", ".join(display_name(t) for t in targets)
        for r in ratios:
            for comp, strat in (("P_U − Rd", "P_U"), ("P_F − Rd", "P_F")):
                sel = d[(d["target"] == key) & (d["ratio"] == r) & (d["comparison"] == comp)]
                if sel.empty:
                    continue
                s = sel.iloc[0]
                ref = _paper_avg(m, targets, r, strat) - _paper_avg(m, targets, r, "Rd")
                rows.append(
                    {
                        "model": m,
                        "claim": f"{comp} at {r} % labels",
                        "targets": names,
                        "paper": f"{ref:+.1f}" if np.isfinite(ref) else "",
                        "ours [95 % CI]": intervals.fmt_interval(
                            s["diff"], s["lo"], s["hi"], signed=True
                        ),  # fmt: skip
                        "verdict": _verdict(ref / 100, s["lo"], s["hi"]),
                        "see": '<a href="05_lodo.html">chapter 5</a>',
                    }
                )
        gaps = intervals.protocol_gaps(pub.boot, m)
        for gap, label in (("released-matched", "leak, isolated"),
                           ("released-code", "leak, as released")):  # fmt: skip
            g = gaps[(gaps["gap"] == gap) & (gaps["target"] == "AVG")] if len(gaps) else gaps
            g = g[(g["ratio"] == 1) & (g["strategy"] == "P_U")] if len(g) else g
            if len(g):
                s = g.iloc[0]
                rows.append(
                    {
                        "model": m,
                        "claim": f"{label}: {gap} − paper, P_U at 1 %",
                        "targets": names,
                        "paper": "not measured",
                        "ours [95 % CI]": intervals.fmt_interval(
                            s["diff"], s["lo"], s["hi"], signed=True
                        ),  # fmt: skip
                        "verdict": "new" if s["lo"] > 0 or s["hi"] < 0 else "new, not resolved",
                        "see": '<a href="05_lodo.html">chapter 5</a>',
                    }
                )
    return pd.DataFrame(rows)


def _verdict(ref: float, lo: float, hi: float) -> str:
    """Sign first, then size: an effect of the paper's sign whose size our interval excludes
    is not the paper's result (HART's P_U − Rd at 1 %: +8.0 [+4.8, +11.2] against +21.6)."""
    if not np.isfinite(ref):
        return ""
    if lo <= 0 <= hi:
        return "not resolved (interval includes 0)"
    if (lo > 0) != (ref > 0):
        return "differs"
    if lo <= ref <= hi:
        return "reproduced"
    return (
        "same sign, smaller here" if abs(ref) > max(abs(lo), abs(hi)) else "same sign, larger here"
    )


# --------------------------------------------------------------------------------------------
# Chapters 3, 4 and 6 from committed artefacts
# --------------------------------------------------------------------------------------------


class Pretraining:
    """Committed pre-training curves (``*.pretraining.csv``, :mod:`harnb.artefacts`)."""

    def __init__(self, pattern: str = "data/results/*.pretraining.csv") -> None:
        from harnb import artefacts

        self.history, self.files = artefacts.read_pretraining(pattern)

    @property
    def empty(self) -> bool:
        return self.history.empty

    def summary(self) -> pd.DataFrame:
        """Per model, target and seed: windows, steps, best step, why it stopped, best
        validation accuracy (× 100) and minutes."""
        h = self.history
        if h.empty:
            return pd.DataFrame()
        g = h.groupby(["model", "target", "seed"])
        first = g[["n_train", "steps", "best_step", "stopped", "seconds"]].first()
        acc = h[h["metric"] == "val_accuracy"].groupby(["model", "target", "seed"])["value"].max()
        out = first.join((acc * 100).round(1).rename("best val. accuracy"))
        out["minutes"] = (out.pop("seconds") / 60).round(1)
        out = out.rename(columns={"n_train": "training windows", "best_step": "best step",
                                  "stopped": "stopped by"})  # fmt: skip
        out = out.reset_index()
        out["target"] = out["target"].map(display_name)
        return out

    def curves(self) -> pd.DataFrame:
        """Tidy validation curves for :func:`harnb.plots.curves` (one run per target · seed)."""
        h = self.history[self.history["metric"].isin(["val_accuracy", "val_loss", "loss"])].copy()
        h["run"] = h["target"].map(display_name) + " · seed " + h["seed"].astype(str)
        h["metric"] = h["metric"].map(
            {
                "val_accuracy": "validation accuracy",
                "val_loss": "validation loss",
                "loss": "training loss",
            }  # fmt: skip
        )
        return h[["run", "step", "metric", "value"]]


class Embeddings:
    """Committed t-SNE maps (``*.tsne.csv``) of the pre-trained extractors' features."""

    def __init__(self, pattern: str = "data/results/*.tsne.csv") -> None:
        from harnb import artefacts

        self.points, self.files = artefacts.read_embeddings(pattern)

    @property
    def empty(self) -> bool:
        return self.points.empty

    def maps(self) -> list[tuple[str, str, int]]:
        """(model, target, seed) of every map, in the paper's dataset order."""
        from harnb.config import DATASETS

        keys = self.points[["model", "target", "seed"]].drop_duplicates()
        rank = {d: i for i, d in enumerate(DATASETS)}
        return sorted(
            ((str(m), str(t), int(s)) for m, t, s in keys.itertuples(index=False)),
            key=lambda k: (k[0], rank.get(k[1], 99), k[2]),
        )

    def map(self, model: str, target: str, seed: int) -> pd.DataFrame:
        p = self.points
        return p[(p["model"] == model) & (p["target"] == target) & (p["seed"] == seed)]

    def silhouettes(self) -> pd.DataFrame:
        """Silhouette of the true classes in each map (higher = better separated)."""
        rows = []
        for m, t, s in self.maps():
            d = self.map(m, t, s)
            rows.append({"model": m, "target": display_name(t), "seed": s, "windows": len(d),
                         "silhouette": round(silhouette(d[["x", "y"]].to_numpy(),
                                                        d["label"].to_numpy()), 3)})  # fmt: skip
        return pd.DataFrame(rows)

    def figure(self, seed: int | None = None):
        """One interactive scatter per map of ``seed`` (default: the smallest), faceted."""
        from harnb import plots

        maps = self.maps()
        seed = min(s for _, _, s in maps) if seed is None else seed
        frames = [self.map(m, t, s).assign(panel=f"{display_name(t)} ({m})")
                  for m, t, s in maps if s == seed]  # fmt: skip
        return plots.tsne_panels(pd.concat(frames, ignore_index=True))


class Cross:
    """Committed cross-dataset matrices (``*_cross.csv``, :mod:`harnb.cross`), averaged over
    seeds, with a 95 % interval over seeds where there are several."""

    def __init__(self, pattern: str = "data/results/*_cross.csv", profile: str = "cpu") -> None:
        from harnb.cross import CROSS_COLUMNS
        from harnb.results import find_files, read_tidy

        self.files = find_files(pattern)
        frames = [read_tidy(f, CROSS_COLUMNS) for f in self.files]
        df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        if not df.empty:
            df = df[df["profile"] != "ci"]  # a ci matrix is a smoke check, never a result
            for c in ("f1", "f1_union", "accuracy", "steps", "best_step"):
                df[c] = pd.to_numeric(df[c], errors="coerce")
        self.results = df

    @property
    def empty(self) -> bool:
        return self.results.empty

    @property
    def models(self) -> list[str]:
        return sorted(set(self.results["model"])) if not self.empty else []

    def table(self, model: str, value: str = "f1") -> pd.DataFrame:
        """Mean over seeds, rows = training dataset, columns = test dataset (× 1)."""
        from harnb.cross import cross_matrix_table

        d = self.results[self.results["model"] == model]
        return cross_matrix_table(d.groupby(["train_dataset", "test_dataset"], as_index=False)[
            value].mean(), value)  # fmt: skip

    def interval_table(self, model: str) -> pd.DataFrame:
        """Macro-F1 × 100 per (train, test) pair: mean over seeds [95 % t-interval over seeds]
        (the mean alone with one seed), Fig. 1's layout with display names."""
        from scipy import stats

        from harnb.config import DATASETS

        d = self.results[self.results["model"] == model]
        cells = {}
        for (tr, te), g in d.groupby(["train_dataset", "test_dataset"]):
            v = g["f1"].to_numpy(float)
            m = float(v.mean())
            if len(v) > 1:
                h = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
                cells[(tr, te)] = intervals.fmt_interval(m, max(m - h, 0.0), min(m + h, 1.0))
            else:
                cells[(tr, te)] = f"{m * 100:.1f}"
        names = sorted({k[0] for k in cells} | {k[1] for k in cells},
                       key=lambda n: (DATASETS.index(n) if n in DATASETS else 99, n))  # fmt: skip
        t = pd.DataFrame(
            [[cells.get((a, b), "") for b in names] for a in names],
            index=pd.Index([display_name(n) for n in names], name="trained on ↓ / tested on →"),
            columns=[display_name(n) for n in names],
        )
        return t

    def convergence(self) -> pd.DataFrame:
        """Per model: trainings, seeds, median steps and best step, and the share of
        trainings whose best step was their last evaluation (the budget ended them)."""
        if self.empty:
            return pd.DataFrame()
        runs = self.results.drop_duplicates(["model", "seed", "train_dataset"])
        rows = []
        for m, g in runs.groupby("model"):
            rows.append(
                {
                    "model": m,
                    "trainings": len(g),
                    "seeds": " ".join(map(str, sorted(set(g["seed"])))),
                    "median steps": int(g["steps"].median()),
                    "median best step": int(g["best_step"].median()),
                    "best step = last (%)": round(
                        100 * float((g["best_step"] == g["steps"]).mean()), 1
                    ),
                }
            )
        return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# One call per page element (chapters 3–6)
# --------------------------------------------------------------------------------------------


def smoke_check(
    chapter: str,
    profile: str | Profile = "ci",
    run: bool = True,
    changes: dict[str, Any] | None = None,
    **grid_args: Any,
):
    """Run this build's own small computation for ``chapter`` (cross, pretraining, lodo,
    tsne) and say that it ran, without showing its numbers: a ``ci`` number is never a result.

    ``changes`` overrides profile fields (:func:`harnb.profiles.changed`); for ``lodo``,
    ``grid_args`` (``models``, ``targets``, ``protocols``, ``ratios``, ``seeds``, ``out``; None
    = the profile's) restrict the grid to a slice, e.g. ``bench/gpu_full_slice.sh``'s.
    Raises when any part of it fails, so a broken chapter fails the build.
    """
    import time

    from harnb import report
    from harnb.cross import cross_dataset_matrix
    from harnb.profiles import changed

    prof = changed(profile, changes)
    grid_args = {k: v for k, v in grid_args.items() if v is not None}
    if grid_args and chapter != "lodo":
        raise ValueError(f"only chapter 5 (lodo) runs a grid slice, not {chapter!r}")
    if not run:
        return report.note(f"Smoke check of the <code>{prof.name}</code> profile skipped.")
    t0 = time.perf_counter()
    if chapter == "cross":
        df = cross_dataset_matrix(prof, progress=False)
        what = f"a {df['train_dataset'].nunique()} × {df['test_dataset'].nunique()} matrix"
    elif chapter == "pretraining":
        h = pretrain_targets(prof)
        what = f"{h['target'].nunique()} pre-trainings"
    elif chapter == "lodo":
        df = grid.run_grid(prof, progress=False, **grid_args)
        df = df[(df["profile"] == prof.name) & (df["metric"] == "macro_f1")]
        bad = df[df["status"] == "error"]
        if len(bad):
            raise RuntimeError(f"{len(bad)} grid cells failed, e.g. {bad['error'].iloc[0]}")
        what = f"{len(df)} LODO cells"
        if grid_args.get("out"):
            what += f" (<code>{grid_args['out']}</code>)"
    elif chapter == "tsne":
        store = grid.load_store(prof)
        names = list(prof.targets or store.datasets())
        for t in names:
            target_embedding(prof, t, store=store)
        what = f"{len(names)} t-SNE maps"
    else:
        raise ValueError(f"unknown chapter {chapter!r}")
    done = f"ran end to end in {time.perf_counter() - t0:.0f} s"
    if grid_args.get("out"):  # a slice run for its numbers: they are in its results file
        return report.note(
            f"<strong>Grid slice</strong> (<code>{prof.name}</code> profile, this build): {what} "
            f"{done}. Their numbers are in the results file, not shown here."
        )
    return report.note(
        f"<strong>Smoke check</strong> (<code>{prof.name}</code> profile, this build): {what} "
        f"{done}. They prove that the code runs; their numbers are not results and are not shown."
    )


def split_sizes(store: WindowStore, seed: int = 0) -> pd.DataFrame:
    """Windows per part of the paper protocol's split, for every left-out target."""
    sizes = {
        display_name(t): grid.prepare_fold(store, t, "paper", split_seed=seed).split.sizes()
        for t in store.datasets()
    }
    return pd.DataFrame(sizes).T


def cross_page(cross: Cross):
    """Chapter 3's figures: each committed matrix beside the paper's Fig. 1 (same datasets),
    or, with none committed, the paper's matrix and a note saying so."""
    from harnb import plots, report

    ref = paper.fig1_matrix()
    if cross.empty:
        return report.sections(
            [
                ("", report.note(
                    "No cross-dataset matrix trained to convergence is committed yet "
                    "(<code>harnb run --cross --profile cpu --model ispl hart --seed 0 1 2 --out "
                    "data/results/cpu_cross.csv</code> writes it); the paper's Fig. 1 is shown alone."
                )),
                ("Paper, Fig. 1", plots.show(plots.heatmap(ref, "Paper, Fig. 1: macro-F1"))),
            ]
        )  # fmt: skip
    parts = [("Convergence", cross.convergence())]
    for m in cross.models:
        ours = cross.table(m)
        r = ref.reindex(index=ours.index, columns=ours.columns)
        parts += [
            (f"{m}: ours", plots.show(plots.heatmap(ours, f"Ours ({m}): macro-F1"))),
            (f"{m}: ours, macro-F1 × 100 [95 % interval over seeds]", cross.interval_table(m)),
            ("Paper, Fig. 1 (ISPL, same datasets)", plots.show(plots.heatmap(r, "Paper"))),
            (
                "Ours − paper, × 100",
                ((ours - r) * 100).rename(index=display_name, columns=display_name),
            ),
        ]
    return report.sections(parts)


def lodo_tables(pub: Published):
    """Tables III–V/VII: per model and protocol, ours with intervals over the paper's."""
    from harnb import report

    parts = [
        (f"{m} — <code>{p}</code> protocol", pub.table(m, p))
        for m in pub.models
        for p in pub.protocols(m)
    ]
    return report.sections(parts or [("", report.note("No committed results matched."))])


def gains_tables(pub: Published):
    """P_U − Rd and P_F − Rd per model (paper protocol, paired within seeds)."""
    from harnb import report

    return report.sections([(m, pub.strategy_gains(m)) for m in pub.models], level=4)


def leak_tables(pub: Published):
    """The isolated and the as-released leak gaps per model."""
    from harnb import report

    return report.sections([(m, pub.leak_gaps(m)) for m in pub.models], level=4)


def ratio_figures(pub: Published):
    """The paper's Fig. 3 per model: mean macro-F1 over our targets against the ratio."""
    from harnb import plots, report

    parts = []
    for m in pub.models:
        frame = f1_curve_frame(pub.results, m, "paper")
        if not frame.empty:
            title = f"{m}, paper protocol: mean macro-F1 over our targets (ours vs paper)"
            parts.append(("", plots.show(plots.f1_vs_ratio(frame, title))))
    return report.sections(parts)


def tsne_page(emb: Embeddings, seed: int | None = None):
    """Chapter 6's figure: the committed maps of one seed, or a note when none is committed."""
    from harnb import plots, report

    if emb.empty:
        return report.note(
            "No t-SNE map is committed yet (<code>harnb publish data/results/cpu_hart.csv</code> "
            "writes them from a run's pre-trained models)."
        )
    return plots.show(emb.figure(seed))
