"""The front page: the headline figure and the findings table, from committed results."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from harnb import paper
from harnb.study import intervals
from harnb.study.published import Published, display_name

if TYPE_CHECKING:  # pragma: no cover
    from harnb.study.arms import ArmStudy
    from harnb.study.sources import SourceStudy

#: What the front page says while chapter 8's runs are not committed.
BASELINE_PENDING = (
    "Pending: chapter 8's orientation study (whose every cell has the classical baselines "
    "beside the deep strategies) is still running; its finished groups sit in "
    "data/results/partial/orientation/ and are rendered here once the study is complete."
)

#: The deep strategies and classical baselines the front page draws from the orientation study.
BASELINE_PANEL_STRATEGIES = ("P_0", "Rd", "P_F", "P_U", "FE-RF", "FE-LR")


def arm_panel(model: str = "hart", arm: str = "none") -> str:
    """The headline panel's name for one arm of chapter 8's study (its own runs and draws)."""
    return f"{model}, chapter 8 ({arm})"


def headline_frame(
    pub: Published,
    protocol: str = "paper",
    arms: ArmStudy | None = None,
    arm: str | None = None,
    arm_model: str = "hart",
) -> pd.DataFrame:
    """Mean macro-F1 (× 100) over our targets per model, ratio and strategy with its 95 %
    interval, beside the paper's values averaged over the same targets (the Fig. 3 layout).

    P_0 is drawn at ratio 0 for every strategy, so each line starts at the untuned model. With
    ``arms`` (chapter 8's study, whose cells also hold the classical baselines FE-RF and FE-LR
    on the same labelled windows), ``arm_model``'s ``arm`` gets a panel of its own: its runs are not the
    committed study's (a later training version, other MobiFall splits), so they are not mixed.
    ``arm`` defaults to the default recipe once chapter 8 has chosen it (:func:`shown_arms`).
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
    if arms is not None and not arms.empty:
        arm = arm or shown_arms(arms, arm_model)[-1]
        sc = arms.scores(arm_model, protocol)
        sc = sc[(sc["arm"] == arm) & (sc["target"] == "AVG")] if len(sc) else sc
        for r in sc[sc["strategy"].isin(BASELINE_PANEL_STRATEGIES)].itertuples():
            rows.append(dict(model=arm_panel(arm_model, arm), ratio=int(r.ratio),
                             strategy=r.strategy, source="ours", f1=r.mean * 100,
                             lo=r.lo * 100, hi=r.hi * 100))  # fmt: skip
    df = pd.DataFrame(rows, columns=["model", "ratio", "strategy", "source", "f1", "lo", "hi"])
    if df.empty:
        return df
    zero = df[df["strategy"] == "P_0"]
    extra = [zero.assign(strategy=s) for s in ("Rd", "P_F", "P_U")]
    df = pd.concat([df[df["strategy"] != "P_0"], *extra], ignore_index=True)
    return df.sort_values(["model", "source", "strategy", "ratio"]).reset_index(drop=True)


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


def recipe_findings(
    study: ArmStudy, models: Sequence[str] = ("hart", "ispl"), ratios: Sequence[int] = (1, 10),
    reference: str = "hart", n_targets: int = 3, n_seeds: int = 3,
) -> pd.DataFrame:  # fmt: skip
    """:func:`findings` on the default recipe's grid (chapter 8's chosen arm, the model's new
    paper-protocol runs), one block per model that has it, named by model and recipe."""
    frames = []
    for m in models:
        arm = study.recipe(m, reference, n_targets, n_seeds)
        if arm is None:
            continue
        f = findings(Published(str(study.file(m, arm))), ratios)
        frames.append(f[f["model"] == m].assign(model=f"{m} (recipe {arm}, chapter 8)"))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def shown_arms(study: ArmStudy, model: str = "hart") -> tuple[str, ...]:
    """The arms the front page shows: ``none`` (the paper's recipe) and, once chapter 8's
    complete study has chosen another, the default recipe after it."""
    recipe = study.recipe(model, reference=model)
    return ("none",) if recipe in (None, "none") else ("none", recipe)


def baseline_findings(
    study: ArmStudy, model: str = "hart", arms: Sequence[str] | None = None,
    ratios: Sequence[int] = (1, 10),
) -> pd.DataFrame:  # fmt: skip
    """The deep model against the classical baseline on the same labelled windows (chapter 8's
    cells): P_U − FE-RF and P_U − FE-LR per arm (default :func:`shown_arms`) and ratio,
    averaged over the targets, with paired 95 % intervals and who wins."""
    d = pd.concat(
        [study.versus_baseline(model, baseline=b).assign(baseline=b) for b in ("FE-RF", "FE-LR")],
        ignore_index=True,
    )
    rows = []
    if d.empty:
        return pd.DataFrame(rows)
    for arm in arms or shown_arms(study, model):
        da = d[d["arm"] == arm]
        targets = sorted(set(da["target"]) - {"AVG"})
        if not targets:
            continue
        key = "AVG" if "AVG" in set(da["target"]) else targets[0]
        for r in ratios:
            for b in ("FE-RF", "FE-LR"):
                sel = da[(da["ratio"] == r) & (da["baseline"] == b)
                         & (da["strategy"] == "P_U") & (da["target"] == key)]  # fmt: skip
                if sel.empty:
                    continue
                s = sel.iloc[0]
                rows.append({
                    "model": model,
                    "claim": f"P_U − {b} at {r} % labels (arm {arm})",
                    "targets": ", ".join(display_name(t) for t in targets),
                    "paper": "not measured",
                    "ours [95 % CI]": intervals.fmt_interval(s["diff"], s["lo"], s["hi"],
                                                             signed=True),
                    "verdict": _side(s["lo"], s["hi"], "deep model better", "baseline better"),
                    "see": '<a href="08_orientation.html">chapter 8</a>',
                })  # fmt: skip
    return pd.DataFrame(rows)


def source_findings(
    study: SourceStudy, model: str = "hart", ratios: Sequence[int] = (1, 10), planned_seeds: int = 3
) -> pd.DataFrame:
    """Chapter 9 on the front page: the gain over Rd pre-trained on one source and on all of
    them, what the extra sources buy (all − one, paired), and, with every source, the deep
    model against the classical baseline on the same labelled windows; mean over the targets
    run."""
    rows = []
    targets = study.targets(model)
    key = targets[0] if len(targets) == 1 else "AVG"  # the mean where it has every target
    for r in ratios:
        c = study.curve(model, "P_U", r)
        c = c[c["target"] == key]
        for k in sorted(c["k"]):
            s = c[c["k"] == k].iloc[0]
            rows.append((f"P_U − Rd at {r} % labels, pre-trained on {k} source dataset"
                         f"{'s' if k > 1 else ''} (mean over subsets)", s["value"], s["lo"],
                         s["hi"], "pre-training helps", "random init better"))  # fmt: skip
        d = study.k_difference(model, "P_U", r)
        for s in d[d["target"] == key].itertuples():
            rows.append(
                (
                    f"P_U with {s.k_hi} source datasets − with {s.k_lo}, at {r} % labels",
                    s.diff,
                    s.lo,
                    s.hi,
                    "more sources better",
                    "fewer sources better",
                )
            )
        fe = study.curve(model, "P_U", r, versus="FE-RF")
        fe = fe[fe["target"] == key]
        if not fe.empty:
            s = fe[fe["k"] == fe["k"].max()].iloc[0]
            rows.append((f"P_U − FE-RF at {r} % labels, pre-trained on {s['k']} source datasets "
                         "(features + random forest on the same windows)", s["value"], s["lo"],
                         s["hi"], "deep model better", "baseline better"))  # fmt: skip
    names = ", ".join(display_name(t) for t in targets)
    seeds = study.seeds(model)
    part = (f" [seeds {', '.join(map(str, seeds))} of the planned {planned_seeds}]"
            if len(seeds) < planned_seeds else "")  # fmt: skip
    return pd.DataFrame([{
        "model": model, "claim": claim + part, "targets": names, "paper": "not measured",
        "ours [95 % CI]": intervals.fmt_interval(v, lo, hi, signed=True),
        "verdict": _side(lo, hi, up, down),
        "see": '<a href="09_sources.html">chapter 9</a>',
    } for claim, v, lo, hi, up, down in rows])  # fmt: skip


def _side(lo: float, hi: float, above: str, below: str) -> str:
    """The verdict of a paired difference with no paper value: which side its interval
    excludes 0 on, if any."""
    return above if lo > 0 else (below if hi < 0 else "not resolved (interval includes 0)")


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
