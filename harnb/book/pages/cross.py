"""Chapter 3, the cross-dataset matrix: committed matrices beside the paper's Fig. 1."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harnb import paper
from harnb.book import plots, tables
from harnb.study.published import Cross, display_name

if TYPE_CHECKING:  # pragma: no cover
    pass


def cross_page(cross: Cross):
    """Chapter 3's figures: each committed matrix beside the paper's Fig. 1 (same datasets),
    or, with none committed, the paper's matrix and a note saying so."""
    ref = paper.fig1_matrix()
    if cross.empty:
        return tables.sections(
            [
                ("", tables.note(
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
    return tables.sections(parts)
