"""The paper's numbers as typed in: internally consistent with its own AVG rows and totals."""

import numpy as np
import pytest

from harnb import paper


@pytest.mark.parametrize("model", ["ispl", "hart", "mobilehart", "deepconvlstm"])
def test_lodo_avg_rows_match_column_means(model: str) -> None:
    t = paper.lodo_table(model)
    assert t.shape == (7, 13)
    np.testing.assert_allclose(t.drop("AVG").mean(), t.loc["AVG"], atol=0.006)


def test_lodo_tidy_and_bad_model() -> None:
    tidy = paper.lodo_tidy()
    assert len(tidy) == 4 * 6 * 13
    assert set(tidy["strategy"]) == {"P_0", "Rd", "P_F", "P_U"}
    with pytest.raises(ValueError, match="ispl"):
        paper.lodo_table("resnet")


def test_table_ii_pools_sum_to_the_papers_total() -> None:
    # 213,289 windows in the union (text); the 70 % pools / 0.7 give 213,486 (reference §7.2).
    total = paper.table_ii()[70].sum() / 0.7
    assert abs(total - 213_289) / 213_289 < 0.002


def test_fig1_diagonal_dominates() -> None:
    m = paper.fig1_matrix().to_numpy()
    assert (np.diag(m) > m.max(axis=1, where=~np.eye(6, dtype=bool), initial=0)).all()
