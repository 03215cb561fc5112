"""Readers of the committed results the book renders: LODO results with their bootstrap
(:class:`Published`), pre-training curves, t-SNE maps and cross-dataset matrices.

Each reads files that ``harnb run`` / ``harnb publish`` wrote; nothing here trains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from harnb import paper
from harnb.config import ARCHITECTURES, DATASETS
from harnb.study import grid, intervals

if TYPE_CHECKING:  # pragma: no cover
    pass


#: How the book names a dataset whose numbers come from a stand-in or a part (the mirror's
#: MobiAct is the 9-subject MobiFall v2.0 subset, not the paper's 61-subject MobiAct; its
#: HuGaDB holds 9 of the 18 subjects).
DISPLAY_NAMES: dict[str, str] = {"MobiAct": "MobiFall (9 subj.)", "HuGaDB": "HuGaDB (9 subj.)"}


def display_name(dataset: str) -> str:
    """The name a table shows for ``dataset`` (what the data really is)."""
    return DISPLAY_NAMES.get(dataset, dataset)


def side_by_side(ours: pd.DataFrame, model: str) -> pd.DataFrame:
    """Our formatted LODO table (from :func:`grid.paper_table`) with the paper's row under each.

    Rows are (target, source) with source ∈ {ours, paper}; the paper's AVG is recomputed over
    the targets we have so that the two AVG rows compare like with like; where the paper lacks
    one of our targets (HuGaDB), that target and the AVG row have ours alone. A model the paper
    did not run has ours alone.
    """
    if ours.empty:
        return ours
    if model not in paper.TABLE_NUMBER:  # an architecture the paper did not run: ours alone
        out = ours.assign(source="ours")
        out.index = pd.MultiIndex.from_arrays([out.index, out.pop("source")], names=["target", ""])
        return out
    ref = paper.lodo_table(model)
    targets = [t for t in ours.index if t != "AVG"]
    ref_t = ref.loc[[t for t in targets if t in ref.index]]
    if len(ref_t) == len(targets):  # the paper's AVG only where it has every one of our targets
        ref = pd.concat([ref_t, ref_t.mean().to_frame("AVG").T])
    else:
        ref = ref_t
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


class Published:
    """Committed results (every file matching a glob), their confusion counts and bootstrap."""

    def __init__(self, pattern: str, n_boot: int = 2000) -> None:
        from harnb.study import results

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
        """Models with results, in the paper's order (names only: no Keras import)."""
        from harnb.config import ARCHITECTURES

        have = set(self.results["model"]) if len(self.results) else set()
        return [m for m in ARCHITECTURES if m in have] + sorted(have - set(ARCHITECTURES))

    def protocols(self, model: str) -> list[str]:
        """Protocols run for ``model``."""
        from harnb.data.splits import PROTOCOLS

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
            ours = ours[sorted(ours.columns, key=intervals.column_key)]
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
        from harnb.study.results import confusion_matrix_of

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


class Pretraining:
    """Committed pre-training curves (``*.pretraining.csv``, :mod:`harnb.study.artefacts`)."""

    def __init__(self, pattern: str = "data/results/*.pretraining.csv") -> None:
        from harnb.study import artefacts

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
        """Tidy curves for :func:`harnb.book.plots.curves`, one per pre-training: (model,
        target (display name), seed, step, metric, value), sorted by step within each."""
        names = {"val_accuracy": "validation accuracy", "val_loss": "validation loss",
                 "loss": "training loss"}  # fmt: skip
        h = self.history[self.history["metric"].isin(list(names))].copy()
        h["metric"] = pd.Categorical(h["metric"].map(names), categories=list(names.values()))
        rank = {m: i for i, m in enumerate((*ARCHITECTURES, *DATASETS))}  # the paper's orders
        h = h.sort_values(["model", "target", "seed", "metric", "step"],
                          key=lambda c: c.map(rank).fillna(99) if c.name in ("model", "target")
                          else c)  # fmt: skip
        h["metric"] = h["metric"].astype(str)
        h["target"] = h["target"].map(display_name)
        return h[["model", "target", "seed", "step", "metric", "value"]].reset_index(drop=True)


def silhouette(xy_or_feats: np.ndarray, y: np.ndarray) -> float:
    """Silhouette score of the classes in an embedding (higher = better separated)."""
    from sklearn.metrics import silhouette_score

    if len(np.unique(y)) < 2:
        return float("nan")
    return float(silhouette_score(xy_or_feats, y))


class Embeddings:
    """Committed t-SNE maps (``*.tsne.csv``) of the pre-trained extractors' features."""

    def __init__(self, pattern: str = "data/results/*.tsne.csv") -> None:
        from harnb.study import artefacts

        self.points, self.files = artefacts.read_embeddings(pattern)

    @property
    def empty(self) -> bool:
        return self.points.empty

    def maps(self) -> list[tuple[str, str, int]]:
        """(model, target, seed) of every map, in the paper's dataset order."""

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


def _in_dataset_order(names) -> list[str]:
    """Dataset names in the project's order (:data:`harnb.config.DATASETS`), others after."""
    return sorted(names, key=lambda n: (DATASETS.index(n) if n in DATASETS else 99, n))


class Cross:
    """Committed cross-dataset matrices (``*_cross.csv``, :mod:`harnb.study.cross`), averaged over
    seeds, with a 95 % interval over seeds where there are several."""

    def __init__(self, pattern: str = "data/results/*_cross.csv", profile: str = "cpu") -> None:
        from harnb.study.cross import CROSS_COLUMNS
        from harnb.study.results import find_files, read_tidy

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
        from harnb.study.cross import cross_matrix_table

        d = self.results[self.results["model"] == model]
        return cross_matrix_table(d.groupby(["train_dataset", "test_dataset"], as_index=False)[
            value].mean(), value)  # fmt: skip

    def interval_table(self, model: str) -> pd.DataFrame:
        """Macro-F1 × 100 per (train, test) pair: mean over seeds [95 % t-interval over seeds]
        (the mean alone with one seed), Fig. 1's layout with display names."""
        from scipy import stats

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
        names = _in_dataset_order({k[0] for k in cells} | {k[1] for k in cells})
        t = pd.DataFrame(
            [[cells.get((a, b), "") for b in names] for a in names],
            index=pd.Index([display_name(n) for n in names], name="trained on ↓ / tested on →"),
            columns=[display_name(n) for n in names],
        )
        return t

    def convergence(self) -> pd.DataFrame:
        """Per model: its datasets (the models' matrices may cover different ones while a
        model's longer runs are under way), trainings, seeds, median steps and best step, and
        the share of trainings whose best step was their last evaluation (the budget ended
        them)."""
        if self.empty:
            return pd.DataFrame()
        runs = self.results.drop_duplicates(["model", "seed", "train_dataset"])
        rows = []
        for m, g in runs.groupby("model"):
            names = _in_dataset_order(set(g["train_dataset"]) | set(self.results.loc[
                self.results["model"] == m, "test_dataset"]))  # fmt: skip
            rows.append(
                {
                    "model": m,
                    "datasets": ", ".join(display_name(n) for n in names),
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
