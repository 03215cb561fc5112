"""Chapter 9's 'more data or more datasets?': slopes within targets, on gains built to follow
one of the two."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harnb.book.pages import sources as page
from harnb.study.sources import windows_association

#: (subset, k, windows) of one target; the second target has 4x the windows (and a higher
#: level), so a fit across targets would mix the targets' levels into the slope.
SUBSETS = (("X", 1, 1000), ("Y", 1, 4000), ("Z", 1, 2000), ("X+Y", 2, 5000),
           ("X+Z", 2, 3000), ("Y+Z", 2, 6000), ("all", 3, 7000))  # fmt: skip
TARGETS = (("A", 0.10, 1), ("B", 0.40, 4))


class Stub:
    """``per_subset`` as :class:`SourceStudy` returns it, gains = level + slopes · (log2 w, k)."""

    def __init__(self, per_doubling: float, per_dataset: float) -> None:
        self.b = (per_doubling, per_dataset)

    def per_subset(self, model: str, strategy: str = "P_U", ratio: int = 1):
        rng = np.random.default_rng(ratio)
        rows, reps = [], {}
        for t, level, scale in TARGETS:
            for s, k, w in SUBSETS:
                v = level + self.b[0] * np.log2(w * scale) + self.b[1] * k
                reps[(t, s)] = v + rng.normal(0, 0.002, 400)
                rows.append({"target": t, "subset": s, "k": k, "value": v, "lo": v, "hi": v,
                             "seeds": 3})  # fmt: skip
        return pd.DataFrame(rows), reps


SIZES = pd.DataFrame([{"target": t, "subset": s, "k": k, "windows": w * scale}
                      for t, _, scale in TARGETS for s, k, w in SUBSETS])  # fmt: skip


def _slope(w: pd.DataFrame, fit: str, per: str) -> pd.Series:
    return w[(w["ratio"] == 1) & (w["fit"] == fit) & (w["per"] == per)].iloc[0]


def test_more_data_is_told_from_more_datasets() -> None:
    w = windows_association(Stub(0.02, 0.0), "m", SIZES)
    assert set(w["ratio"]) == {1, 5, 10} and (w["pairs"] == 14).all()
    alone = _slope(w, "windows alone", "doubling of windows")
    assert alone["slope"] == pytest.approx(0.02, abs=1e-9)  # the targets' levels removed
    data, sets = _slope(w, "jointly", "doubling of windows"), _slope(w, "jointly", "added dataset")
    assert data["slope"] == pytest.approx(0.02, abs=1e-9) and data["lo"] > 0
    assert abs(sets["slope"]) < 1e-9 and sets["lo"] < 0 < sets["hi"]

    w = windows_association(Stub(0.0, 0.03), "m", SIZES)
    data, sets = _slope(w, "jointly", "doubling of windows"), _slope(w, "jointly", "added dataset")
    assert sets["slope"] == pytest.approx(0.03, abs=1e-9) and sets["lo"] > 0
    assert data["lo"] < 0 < data["hi"]
    assert _slope(w, "k alone", "added dataset")["slope"] == pytest.approx(0.03, abs=1e-9)


def test_the_page_table_and_too_few_pairs() -> None:
    t = page.windows_table(Stub(0.02, 0.0), "m", SIZES)
    assert list(t.index) == list(page.WINDOWS_FITS) and list(t.columns) == ["1 %", "5 %", "10 %"]
    assert t.loc[("windows alone", "doubling of windows"), "1 %"].startswith("+2.0 [")
    few = SIZES[SIZES["subset"].isin(["X", "all"])]  # 4 pairs, 2 targets: one slope at a time
    assert set(windows_association(Stub(0.02, 0.0), "m", few)["fit"]) == {"windows alone",
                                                                         "k alone"}  # fmt: skip
    none = SIZES[SIZES["subset"] == "all"]  # one pair per target: nothing within targets
    assert windows_association(Stub(0.02, 0.0), "m", none).empty
    assert page.windows_table(Stub(0.02, 0.0), "m", none).empty
