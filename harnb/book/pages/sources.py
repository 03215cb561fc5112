"""Chapter 9, how many datasets does it take: the gain over Rd against the number of source
datasets, the zero-shot score against it, what removing each source costs each target, and
the gain against the number of pre-training windows (more data, or more datasets?)."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import pandas as pd

from harnb.book import plots, tables
from harnb.data.splits import lodo_split
from harnb.data.store import WindowStore
from harnb.study import intervals
from harnb.study.published import Published, display_name
from harnb.study.sources import (
    ALL,
    SourceStudy,
    subset_label,
    subset_of,
    windows_association,
)

COMPARABILITY = (
    "The paper combines up to five sources out of six datasets; here four datasets are "
    "available (UCI, MotionSense, the MobiFall 9-subject subset, HuGaDB's thigh IMU), so each "
    "target has three sources and k runs from 1 to 3. The paper reports no such curve; its "
    "numbers are not comparable with these."
)


def pretraining_windows(
    store: WindowStore, targets: Sequence[str] | None = None, seed: int = 0
) -> pd.DataFrame:
    """Source-training windows of every (target, non-empty subset of its sources)."""
    rows = []
    names = store.datasets()
    for t in targets or names:
        others = [d for d in names if d != t]
        for k in range(1, len(others) + 1):
            for sub in combinations(others, k):
                sp = lodo_split(store, t, "paper", seed=seed, sources=sub)
                label = ALL if k == len(others) else subset_label(sub)
                rows.append({"target": t, "subset": label, "k": k,
                             "windows": len(sp.source_train)})  # fmt: skip
    return pd.DataFrame(rows)


#: What each k is compared with: Rd (the paper's comparison) and the classical baseline trained
#: on the same labelled windows (is the pre-trained model worth it at all?).
COMPARISONS = (("P_U", "Rd"), ("P_F", "Rd"), ("P_U", "FE-RF"))


def curve_table(study: SourceStudy, model: str, ratios: Sequence[int] = (1, 5, 10)):
    """P_U − Rd, P_F − Rd and P_U − FE-RF (× 100, mean over targets) per k and ratio; P_0
    per k."""
    parts = []
    for st, ref in COMPARISONS:
        for r in ratios:
            c = study.curve(model, st, r, versus=ref)
            parts.append(c.assign(ratio=r, comparison=f"{st} − {ref}"))
    z = study.curve(model, "P_0", 0, versus=None)
    parts.append(z.assign(ratio=0, comparison="P_0"))
    d = pd.concat(parts, ignore_index=True)
    if d.empty:
        return d
    d = d[d["target"] == ("AVG" if "AVG" in set(d["target"]) else d["target"].iloc[0])]
    return intervals.table(d.rename(columns={"value": "diff"}), value="diff", index="k",
                           columns=("ratio", "comparison"), signed=True)  # fmt: skip


def curve_figure(study: SourceStudy, model: str, ratio: int = 1):
    """The curve: gain of P_U and P_F over Rd against k, per target and on average."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for st in ("P_U", "P_F"):
        c = study.curve(model, st, ratio)
        for t, g in c.groupby("target"):
            g = g.sort_values("k")
            fig.add_scatter(
                x=g["k"], y=g["value"] * 100, mode="lines+markers",
                name=f"{st} − Rd, {display_name(t) if t != 'AVG' else 'mean over targets'}",
                error_y={"type": "data", "symmetric": False,
                         "array": (g["hi"] - g["value"]) * 100,
                         "arrayminus": (g["value"] - g["lo"]) * 100},
            )  # fmt: skip
    fig.update_layout(
        height=420, xaxis_title="source datasets combined (k)", yaxis_title="macro-F1 gain × 100",
        title=f"{model}, {ratio} % labels: what each added source buys",
        xaxis={"dtick": 1},
    )  # fmt: skip
    return fig


def leave_one_out_table(study: SourceStudy, model: str, ratio: int = 1):
    """score(all sources) − score(all but one), × 100, per target (rows) and removed source."""
    d = study.leave_one_out(model, "P_U", ratio)
    if d.empty:
        return d
    d = d.assign(target=d["target"].map(lambda t: display_name(t) if t != "AVG" else t))
    return intervals.table(d, value="diff", index="target", columns=("removed",), signed=True)


def windows_figure(study: SourceStudy, model: str, sizes: pd.DataFrame, ratio: int = 1):
    """Gain of P_U over Rd against the pre-training windows of each (target, subset)."""
    import plotly.graph_objects as go

    subs, _ = study.per_subset(model, "P_U", ratio)
    d = subs.merge(sizes, on=["target", "subset", "k"], how="inner")
    fig = go.Figure()
    for t, g in d.groupby("target"):
        fig.add_scatter(x=g["windows"], y=g["value"] * 100, mode="markers",
                        name=display_name(t), text=g["subset"],
                        marker={"size": 6 + 4 * g["k"]})  # fmt: skip
    fig.update_layout(height=420, xaxis_title="pre-training windows (source train parts)",
                      yaxis_title="P_U − Rd × 100", xaxis_type="log",
                      title="More data or more datasets? (marker size: k)")  # fmt: skip
    return fig


def windows_table(study: SourceStudy, model: str, sizes: pd.DataFrame) -> pd.DataFrame:
    """The windows figure in numbers: within-target slopes of P_U − Rd on log2 windows and on
    k, alone and jointly (× 100 per doubling / per added dataset, 95 % intervals)."""
    w = windows_association(study, model, sizes)
    if w.empty:
        return w
    w = w.assign(cell=[intervals.fmt_interval(v, lo, hi, signed=True)
                       for v, lo, hi in zip(w["slope"], w["lo"], w["hi"], strict=True)])  # fmt: skip
    t = w.pivot_table(index=["fit", "per"], columns="ratio", values="cell", aggfunc="first")
    t = t.reindex([i for i in WINDOWS_FITS if i in t.index])
    t.columns = [f"{c} %" for c in t.columns]
    t.index.names = ["fit", "slope per"]
    return t


#: The rows of :func:`windows_table`, in reading order.
WINDOWS_FITS = (
    ("windows alone", "doubling of windows"),
    ("k alone", "added dataset"),
    ("jointly", "doubling of windows"),
    ("jointly", "added dataset"),
)

#: What :func:`windows_table` shows and does not.
WINDOWS_NOTE = (
    "P_U − Rd (× 100) against log2 of the pre-training windows and against k, least squares "
    "within targets (each target's mean removed), alone and jointly; 95 % intervals from the "
    "same paired bootstrap replicates as the tables above. Subsets of one k differ in size, so "
    "the joint fit can separate more data from more datasets only as far as the (target, "
    "subset) pairs allow: an interval that includes 0 in the joint fit means these runs cannot "
    "tell the two apart."
)


def lodo_table(study: SourceStudy, model: str) -> pd.DataFrame:
    """The four-dataset LODO run (every target's pre-training on all three other datasets, the
    ``src-all`` file) in chapter 5's layout, the paper's values under ours where it has them."""
    f = next((f for f in study.files if subset_of(f)[1:] == (model, ALL)), None)
    return Published(str(f)).table(model) if f is not None else pd.DataFrame()


def coverage(study: SourceStudy, model: str, planned_seeds: int = 3) -> str:
    """Which targets and seeds the committed files hold (fewer seeds than planned say so), and
    which targets have a single test subject per seed (their intervals are over seeds alone)."""
    targets = [display_name(t) for t in study.targets(model)]
    seeds = study.seeds(model)
    cut = (f" ({len(seeds)} of the planned {planned_seeds}: the intervals are over test "
           "subjects and these seeds only)") if len(seeds) < planned_seeds else ""  # fmt: skip
    c = study.confusion[study.confusion["model"] == model]
    per_seed = c.groupby(["target", "seed"])["subject"].nunique().groupby("target").max()
    single = [display_name(t) for t, n in per_seed.items() if n == 1]
    alone = ("" if not single else f" {', '.join(single)}: one test subject per seed, so the "
             "interval is over seeds alone (none with one seed: a zero-width interval).")  # fmt: skip
    return (f"{model}: targets {', '.join(targets)}; seeds {', '.join(map(str, seeds))}"
            f"{cut}.{alone}")  # fmt: skip


#: What chapter 9 says while nothing is committed.
NOTHING_COMMITTED = (
    f"No source-count run is committed yet. {COMPARABILITY} The machinery is "
    "<code>harnb run --sources A B</code> (one results file per subset, "
    "<code>data/results/sources/cpu_hart_src-A+B.csv</code>) and "
    "<code>harnb.study.sources</code>."
)


def page(
    study: SourceStudy, model: str = "hart", sizes: pd.DataFrame | None = None, part: str = "all"
):
    """Chapter 9's sections, or a note where nothing is committed. ``part`` keeps the
    ``figures`` (glued as a figure) or the ``tables`` (glued as a table: the book numbers a
    glued output by its name, and a table must not be captioned "Figure"), or ``all``."""
    if part not in ("all", "figures", "tables"):
        raise ValueError(f"part must be all, figures or tables, not {part!r}")
    if study.empty:
        return tables.note(NOTHING_COMMITTED if part != "tables" else
                           "No source-count run is committed yet: no tables.")  # fmt: skip
    figures = [("The curve at 1 % labels", plots.show(curve_figure(study, model)))]
    parts = [
        ("What is comparable", tables.note(f"{COMPARABILITY} {coverage(study, model)}")),
        (
            "LODO on four datasets (each target's three other datasets as sources)",
            lodo_table(study, model),
            "No four-dataset LODO run (src-all) is committed.",
        ),
        (
            "Gain over Rd and over the classical baseline, and zero-shot score, against k",
            curve_table(study, model),
        ),
        ("Leave one source out (P_U at 1 %)", leave_one_out_table(study, model)),
    ]
    if sizes is not None and not sizes.empty:
        figures.append(("Gain against pre-training windows", plots.show(
            windows_figure(study, model, sizes))))  # fmt: skip
        parts += [("More data or more datasets? (slopes within targets)",
                   tables.note(WINDOWS_NOTE)),
                  ("", windows_table(study, model, sizes),
                   "Too few (target, subset) pairs for a slope.")]  # fmt: skip
    chosen = {"all": parts + figures, "figures": figures, "tables": parts}[part]
    return tables.sections(chosen)
