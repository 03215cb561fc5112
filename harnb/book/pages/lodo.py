"""Chapter 5, LODO fine-tuning: Tables III–V/VII with intervals, gains, leak gaps, the
ratio curves, the architectures side by side and the plan's progress."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from harnb.book import plots, tables
from harnb.book.pages.findings import headline_frame
from harnb.study import grid, intervals
from harnb.study.published import Published, display_name
from harnb.training.profiles import Part

if TYPE_CHECKING:  # pragma: no cover
    from harnb.study.arms import ArmStudy


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
    """The ``cpu`` plan's parts (:func:`harnb.training.profiles.plan_table`) with the cells of each
    that the committed results hold, out of the cells it runs; with ``partial`` (the files of
    parts still running, ``data/results/partial/``) also the cells those hold so far.

    *hours spent* sums the finished cells' own ``seconds`` (a pre-training is counted in the
    cell that started it): the time the run actually took, on whatever machine and lane ran
    it; a cell cut off by a stop is not in it, and two lanes sharing the cores both count."""
    from harnb.training.profiles import CPU_PLAN, plan_table

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


#: The recipe of the committed four-architecture files (what chapter 8 calls arm ``none``).
PREVIOUS_RECIPE = "previous recipe: per-sensor z-score, no orientation handling"

#: What chapter 5 says while no default recipe has been chosen from a complete chapter 8 study.
RECIPE_PENDING = (
    "Pending: chapter 8's orientation study is not complete for this model (its finished groups "
    "sit in data/results/partial/orientation/), so no recipe has been chosen from it yet; until "
    "then the tables above, of the previous recipe, are this model's paper-protocol grid."
)


def lodo_tables(pub: Published):
    """Tables III–V/VII: per model and protocol, ours with intervals over the paper's (the
    committed files, named as the previous recipe)."""
    parts = [
        (f"{m} — <code>{p}</code> protocol ({PREVIOUS_RECIPE})", pub.table(m, p))
        for m in pub.models
        for p in pub.protocols(m)
    ]
    return tables.sections(parts or [("", tables.note("No committed results matched."))])


def recipe_tables(
    study: ArmStudy, models: tuple[str, ...] = ("hart", "ispl"), reference: str = "hart",
    n_targets: int = 3, n_seeds: int = 3,
):  # fmt: skip
    """Tables III–V/VII of the default recipe: per model, the chosen arm's runs of chapter 8
    (:meth:`ArmStudy.recipe`), which are its new paper-protocol grid, with the classical
    baselines and the linear probe beside the paper's strategies and the paper's values under
    ours; a note where the model's study (``n_targets`` × ``n_seeds`` groups) is not complete."""
    parts = []
    for m in models:
        arm = study.recipe(m, reference, n_targets, n_seeds)
        if arm is None:
            parts.append((m, pd.DataFrame(), RECIPE_PENDING))
            continue
        table = Published(str(study.file(m, arm))).table(m)
        parts.append((f"{m} — recipe <code>{arm}</code> (chapter 8), <code>paper</code> protocol",
                      table, RECIPE_PENDING))  # fmt: skip
    return tables.sections(parts, level=4)


def gains_tables(pub: Published):
    """P_U − Rd and P_F − Rd per model (paper protocol, paired within seeds)."""
    return tables.sections(
        [(m, pub.strategy_gains(m), f"No paired Rd and pre-trained cells for {m}.")
         for m in pub.models], level=4,
    )  # fmt: skip


def baseline_tables(study: ArmStudy, model: str = "hart", arm: str = "none"):
    """Each deep strategy − the classical baselines (FE-RF, FE-LR) on the same labelled
    windows, per target, from chapter 8's runs of ``arm`` (× 100, paired within seeds)."""
    from harnb.book.pages.findings import BASELINE_PENDING

    parts = []
    for b, name in (("FE-RF", "random forest"), ("FE-LR", "logistic regression")):
        d = study.versus_baseline(model, baseline=b)
        if len(d):
            d = d[d["arm"] == arm].assign(target=lambda x: x["target"].map(display_name))
            d = intervals.table(d, value="diff", index="target", columns=("ratio", "strategy"),
                                signed=True)  # fmt: skip
        parts.append((f"{model} ({arm}) − window statistics + {name} ({b})", d, BASELINE_PENDING))
    return tables.sections(parts, level=4)


def leak_tables(pub: Published):
    """The isolated and the as-released leak gaps per model; a model run under the paper
    protocol alone says so."""
    parts = []
    for m in pub.models:
        other = [p for p in pub.protocols(m) if p != "paper"]
        empty = (
            f"{m} was run under the <code>paper</code> protocol only (the plan's scope for it), "
            "so no leak gap is measured."
            if not other
            else f"No cells of {m} paired across protocols ({', '.join(other)} run)."
        )
        parts.append((m, pub.leak_gaps(m), empty))
    return tables.sections(parts, level=4)


def ratio_figure_list(pub: Published, protocol: str = "paper") -> list[tuple[str, Any]]:
    """(model, figure) per model: the paper's Fig. 3 as the front page draws it (the same
    numbers, colours and 95 % intervals), one model at a time."""
    frame = headline_frame(pub, protocol)
    title = "{}, {} protocol: mean macro-F1 over our targets"
    return [(m, plots.headline(frame[frame["model"] == m], title.format(m, protocol)))
            for m in pub.models if (frame["model"] == m).any()]  # fmt: skip


def ratio_figures(pub: Published, protocol: str = "paper"):
    """Chapter 5's Fig. 3, one figure per model (:func:`ratio_figure_list`)."""
    parts = [("", plots.show(fig)) for _, fig in ratio_figure_list(pub, protocol)]
    return tables.sections(parts or [("", tables.note("No committed results matched."))])
