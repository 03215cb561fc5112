"""Chapter-level steps of the study (chapters 4–6), built on :mod:`harnb.grid`.

Each function does what one notebook section shows, so the notebooks stay a sequence of calls
and the tests run exactly what the book runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harnb import grid, paper
from harnb.profiles import Profile, get_profile
from harnb.store import WindowStore


def _history_file(protocol: str, target: str, model: str, prof: Profile, dkey: str) -> Path:
    base = grid.pretrained_path(protocol, target, model, prof.split_seed, prof, dkey)
    return base.with_name(base.name + ".history")


def pretrain_targets(
    profile: str | Profile = "ci",
    model: str | None = None,
    protocol: str = "paper",
    targets: Sequence[str] | None = None,
    store: WindowStore | None = None,
) -> pd.DataFrame:
    """Pre-train (or reuse the cached) ``model`` for every left-out target; tidy curves.

    Returns rows (target, epoch, metric, value, best_epoch, n_train, seconds); the pre-trained
    weights land in the cache the LODO grid reuses, so chapter 5 does not train them again.
    """
    from harnb import train

    prof = get_profile(profile)
    model = model or prof.models[0]
    store = store if store is not None else grid.load_store(prof)
    dkey = grid.data_key(store)
    rows = []
    for t in targets or prof.targets or store.datasets():
        fold = grid.prepare_fold(store, t, protocol, split_seed=prof.split_seed)
        grid.get_pretrained(fold, model, prof, prof.split_seed, dkey)
        try:
            h = train.load_history(_history_file(protocol, t, model, prof, dkey))
        except FileNotFoundError:
            continue  # weights cached by an older run without a history: nothing to plot
        for metric, values in h["history"].items():
            for i, v in enumerate(values):
                rows.append(
                    {
                        "target": t,
                        "epoch": i + 1,
                        "metric": metric,
                        "value": np.nan if v is None else float(v),
                        "best_epoch": h["best_epoch"],
                        "n_train": h["n_train"],
                        "seconds": h["seconds"],
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
    return h[["run", "epoch", "metric", "value"]]


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
    ref = pd.concat([ref_t, ref_avg]).reindex(columns=ours.columns)
    blocks = []
    for t in [*targets, "AVG"]:
        o = ours.loc[[t]].assign(source="ours")
        p = (
            ref.loc[[t]].map(lambda v: "" if pd.isna(v) else f"{v:.2f}").assign(source="paper")
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
    pre = grid.get_pretrained(fold, model, prof, prof.split_seed, dkey)
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
