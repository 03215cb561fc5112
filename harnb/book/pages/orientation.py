"""Chapter 8, transfer across devices: the datasets' device frames, the orientation arms under
LODO with paired gains over "none", the classical baseline beside every number, and the two
label budgets (the paper's validation rule against every label counted)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from harnb.book import plots, tables
from harnb.data import orientation
from harnb.data.store import WindowStore
from harnb.study import intervals
from harnb.study.arms import POSTURE, ArmStudy
from harnb.study.published import display_name

#: The criterion that picks the default recipe, fixed before the runs (issue 23).
CRITERION = (
    "the arm with the highest mean P_U macro-F1 at 1 % labels over the three targets and three "
    "seeds (paper protocol) becomes the default, but only if its paired difference against "
    "'none' has a 95 % interval above 0; otherwise the default stays 'none'"
)
STRATEGY_ORDER = ("P_0", "Rd", "P_F", "P_F-tBN", "P_U", "FE-RF", "FE-LR")


def frames_table(store: WindowStore, thresh: float = 0.3) -> pd.DataFrame:
    """Mean acceleration (m/s², device axes) of each dataset's static windows, before any
    normalisation: where gravity sits in each device's frame."""
    t = orientation.frames_table(store.X, store.dataset, thresh)
    df = pd.DataFrame.from_dict(t, orient="index")
    df.index = [display_name(d) for d in df.index]
    df = df.rename(columns={"n_windows": "windows", "n_static": "static windows",
                            "norm": "|mean|"})  # fmt: skip
    return df.round(2)


def arms_table(study: ArmStudy, model: str, ratios: Sequence[int] = (0, 1, 5, 10)):
    """Macro-F1 × 100 [95 % interval], mean over targets, per arm (rows) and strategy."""
    s = study.scores(model)
    if s.empty:
        return pd.DataFrame()
    s = s[(s["target"] == ("AVG" if "AVG" in set(s["target"]) else s["target"].iloc[0]))]
    s = s[s["ratio"].isin(ratios)]
    s = s.assign(cell=[intervals.fmt_interval(m, lo, hi)
                       for m, lo, hi in zip(s["mean"], s["lo"], s["hi"], strict=True)])  # fmt: skip
    t = s.pivot_table(index="arm", columns=["ratio", "strategy"], values="cell", aggfunc="first")
    cols = sorted(t.columns, key=lambda c: (c[0], STRATEGY_ORDER.index(c[1])
                                            if c[1] in STRATEGY_ORDER else 99))  # fmt: skip
    rows = [a for a in study.arms if a in t.index]
    return t.reindex(index=rows, columns=cols).fillna("")


def gains_table(study: ArmStudy, model: str, strategies: Sequence[str] = ("P_0", "Rd", "P_U")):
    """arm − none (× 100, paired within seeds, mean over targets [95 % interval])."""
    d = study.versus_none(model)
    if d.empty:
        return pd.DataFrame()
    d = d[(d["target"] == "AVG") & d["strategy"].isin(strategies)]
    d = d[~d["arm"].str.contains("budget")]
    return intervals.table(d, value="diff", index="arm", columns=("ratio", "strategy"),
                           signed=True)  # fmt: skip


def baseline_table(study: ArmStudy, model: str, baseline: str = "FE-RF"):
    """Each deep strategy − the random forest on the same labelled windows (× 100, paired)."""
    d = study.versus_baseline(model, baseline=baseline)
    if d.empty:
        return pd.DataFrame()
    d = d[d["target"] == "AVG"]
    return intervals.table(d, value="diff", index="arm", columns=("ratio", "strategy"),
                           signed=True)  # fmt: skip


def budget_table(study: ArmStudy, model: str, arm: str = "none"):
    """Budget-honest − the paper's validation rule (× 100, paired), per strategy and ratio:
    what choosing the checkpoint on labels outside the ratio was worth."""
    d = study.versus_none(model, base=arm)
    if d.empty:
        return pd.DataFrame()
    d = d[(d["arm"] == f"{arm}-budget") & (d["target"] == "AVG")]
    return intervals.table(d, value="diff", index="strategy", columns=("ratio",), signed=True)


def per_class_figure(study: ArmStudy, model: str, strategy: str = "P_U", ratio: int = 1):
    """F1 of each class per arm (``strategy`` at ``ratio`` %), posture classes first."""
    import plotly.graph_objects as go

    pc = study.per_class(model)
    pc = pc[(pc["strategy"] == strategy) & (pc["ratio"] == ratio)]
    fig = go.Figure()
    order = sorted(set(pc["class"]), key=lambda c: (c not in POSTURE, c))
    for arm in study.arms:
        d = pc[pc["arm"] == arm].set_index("class").reindex(order)
        fig.add_bar(name=arm, x=order, y=(d["f1"] * 100).round(1), meta={"arm": arm})
    fig.update_layout(
        barmode="group", height=420, yaxis_title="F1 × 100 (all targets, seeds, subjects)",
        xaxis_title="class (posture classes first)",
        title=f"{model}, {strategy} at {ratio} % labels: F1 per class and orientation arm",
    )  # fmt: skip
    return fig


def choice_note(study: ArmStudy, model: str) -> str:
    """The criterion, stated before the runs, and what it picks from the committed results."""
    if study.empty:
        return f"Criterion: {CRITERION}. No orientation results are committed yet."
    arm, rank = study.choose(model)
    groups = study.common_groups(model)
    best = rank.iloc[0] if len(rank) else None
    lead = (
        f"Criterion (fixed before the runs): {CRITERION}. On the {len(groups)} (target, seed) "
        f"groups every arm has finished"
    )
    if best is None:
        return lead + ", nothing to rank yet."
    return (
        f"{lead}, the highest P_U at 1 % is <b>{best['arm']}</b> "
        f"({intervals.fmt_interval(best['mean'], best['lo'], best['hi'])}); the default recipe "
        f"is <b>{arm}</b>."
    )


def progress_table(study: ArmStudy, partial: ArmStudy | None = None) -> pd.DataFrame:
    """How far the study is: :meth:`ArmStudy.progress` of the committed files and, while the
    runs go on, of the files they are writing (``data/results/partial/orientation/``); indexed
    by (files, model, arm), so that an arm's name is a row header, not a cell."""
    parts = [("committed", study), ("running (data/results/partial/orientation/)", partial)]
    frames = [s.progress().assign(files=name) for name, s in parts if s is not None and not s.empty]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).set_index(["files", "model", "arm"])


def page(study: ArmStudy, model: str = "hart"):
    """Chapter 8's tables for one model, or a note where nothing is committed."""
    if study.empty:
        return tables.note(choice_note(study, model))
    return tables.sections(
        [
            ("The choice", tables.note(choice_note(study, model))),
            *_comparisons(study, model),
            ("Budget-honest − paper validation rule ('none' arm)",
             budget_table(study, model), NOTHING_YET),
        ]
    )  # fmt: skip


#: What a comparison's table says while none of its cells is committed.
NOTHING_YET = "No cells of this comparison are committed yet."


def _comparisons(study: ArmStudy, model: str, gains: Sequence[str] = ("P_0", "Rd", "P_U")):
    """The sections every model of the study gets: scores per arm, gains over `none`, and the
    deep strategies against the classical baseline."""
    return [
        ("Macro-F1 per arm and strategy (mean over targets)", arms_table(study, model),
         NOTHING_YET),
        ("Gain over 'none' (paired)", gains_table(study, model, gains), NOTHING_YET),
        ("Deep strategies − features + random forest (paired)", baseline_table(study, model),
         NOTHING_YET),
    ]  # fmt: skip


def second_model_page(study: ArmStudy, model: str = "ispl", reference: str = "hart"):
    """Chapter 8's tables for the model that runs `none` and the two arms ``reference`` ranks
    best (ISPL: its pre-training costs 4–10× HART's); no choice of its own."""
    have = not study.results.empty and model in set(study.results["model"])
    if not study.complete(reference):
        which = f"<code>none</code> and the two arms {reference.upper()} will rank best"
    else:  # HTML: the note is not Markdown
        which = "<code>none</code>, " + " and ".join(
            f"<code>{a}</code>" for a in study.runners_up(reference)
        )
    lead = f"{model.upper()} runs {which} (the same groups, paper protocol)"
    if not have:
        return tables.note(f"{lead}; none of its files is committed yet.")
    if not study.complete(model):  # a study still running is published seed by seed
        groups = study.common_groups(model)
        seeds = sorted({s for _, s in groups})
        lead += (f"; committed so far: {len(groups)} of the planned 9 (target, seed) groups "
                 f"in every arm, seeds {', '.join(map(str, seeds)) or 'none'} of the planned "
                 "3, so the intervals are over test subjects and these seeds only")  # fmt: skip
    gains = ("P_0", "Rd", "P_F", "P_F-tBN", "P_U")
    return tables.sections([("", tables.note(lead + ".")), *_comparisons(study, model, gains)])


def per_class_page(study: ArmStudy, model: str = "hart"):
    """Chapter 8's figure: F1 per class and arm, or a note where nothing is committed."""
    if study.empty:
        return tables.note("No orientation results are committed yet: no per-class F1 to draw.")
    return plots.show(per_class_figure(study, model))
