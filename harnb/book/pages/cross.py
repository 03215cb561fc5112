"""Chapter 3, the cross-dataset matrix: committed matrices beside the paper's Fig. 1."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harnb import paper
from harnb.book import plots, tables
from harnb.study.published import Cross, display_name

if TYPE_CHECKING:  # pragma: no cover
    pass

#: What chapter 3 says while no matrix trained to convergence is committed.
NO_MATRIX = (
    "No cross-dataset matrix trained to convergence is committed yet (<code>harnb run --cross "
    "--profile cpu --model ispl hart --seed 0 1 2 --out data/results/cpu_cross.csv</code> "
    "writes it)."
)


def cross_figures(cross: Cross):
    """Chapter 3's heat-maps: each committed model's matrix (datasets under their display
    names) beside the paper's Fig. 1 on the same datasets (under the paper's names), or the
    paper's alone with a note."""
    ref = paper.fig1_matrix()
    if cross.empty:
        return tables.sections(
            [
                ("", tables.note(f"{NO_MATRIX} The paper's Fig. 1 is shown alone.")),
                ("Paper, Fig. 1", plots.show(plots.heatmap(ref, "Paper, Fig. 1: macro-F1"))),
            ]
        )
    parts, names = [], []
    for m in cross.models:
        ours = cross.table(m)
        names += [n for n in ours.index if n not in names]
        shown = ours.rename(index=display_name, columns=display_name)
        parts.append((f"{m}: ours", plots.show(plots.heatmap(shown, f"Ours ({m}): macro-F1"))))
    names = [n for n in names if n in ref.index]  # HuGaDB is not in the paper
    r = ref.reindex(index=names, columns=names)
    parts.append(("Paper, Fig. 1 (ISPL, same datasets, under the paper's names)",
                  plots.show(plots.heatmap(r, "Paper, Fig. 1: macro-F1"))))  # fmt: skip
    return tables.sections(parts)


def cross_tables(cross: Cross):
    """Chapter 3's tables: convergence, each model's matrix with its interval over seeds, and
    ours − the paper's, × 100."""
    if cross.empty:
        return tables.note(NO_MATRIX)
    ref = paper.fig1_matrix()
    parts = [("Convergence", cross.convergence())]
    for m in cross.models:
        ours = cross.table(m)
        both = [n for n in ours.index if n in ref.index]  # HuGaDB is not in the paper
        diff = (ours.loc[both, both] - ref.loc[both, both]) * 100
        parts += [
            (f"{m}: ours, macro-F1 × 100 [95 % interval over seeds]", cross.interval_table(m)),
            (f"{m}: ours − paper, × 100 (the datasets the paper has)",
             diff.rename(index=display_name, columns=display_name)),
        ]  # fmt: skip
    return tables.sections(parts)
