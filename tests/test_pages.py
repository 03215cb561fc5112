"""What the pages show: formatted tables, no machine paths, committed artefacts, the front page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_grid import env, small_grid  # noqa: F401  (fixture)
from test_train import fake_models  # noqa: F401  (fixture)

from harnb import config
from harnb.book import tables
from harnb.book.pages import cross as cross_page
from harnb.book.pages import findings, lodo, tsne
from harnb.study import artefacts, grid, published


def test_fmt_table_integers_decimals_and_blanks() -> None:
    df = pd.DataFrame(
        {"n": [752573.0, 9.0], "f1": [2.332636, np.nan], "ci": ["78.8 [76.1, 81.0]", None]}
    )
    t = tables.fmt_table(df)
    assert list(t["n"]) == ["752,573", "9"]
    assert list(t["f1"]) == ["2.3", ""]
    assert list(t["ci"]) == ["78.8 [76.1, 81.0]", ""]
    html = tables.html_table(df).data
    assert "NaN" not in html and "nan" not in html and "752,573" in html


def test_chapter1_tables_show_an_extra_dataset_beside_the_paper() -> None:
    from harnb.book.pages import datasets as page
    from harnb.data.datasets import Recording, Stream

    def rec(name: str, subject: str) -> Recording:
        t = np.arange(100) / 50.0
        xyz = np.zeros((100, 3))
        labels = np.full(100, config.CLASS_INDEX["Walking"], np.int8)
        return Recording(name, subject, "s", "d", "p", Stream(t, xyz), Stream(t, xyz), labels, 50)

    recs = {"UCI": [rec("UCI", "1")], "HuGaDB": [rec("HuGaDB", "2"), rec("HuGaDB", "5")]}
    t = page.table1(recs, {"UCI": 7, "HuGaDB": 3}, {"HuGaDB": 110})
    assert list(t.index) == [*config.DATASETS, "HuGaDB (9 subj.)"]
    hg = t.loc["HuGaDB (9 subj.)"]
    assert hg["paper: # samples"] is None and hg["paper: rate"] is None  # blanks, not numbers
    assert (hg["ours: subjects"], hg["ours: windows"]) == (2, 3)
    assert hg["ours: files left out (corrupted gyroscope)"] == 110
    assert t.loc["UCI", "ours: files left out (corrupted gyroscope)"] is None
    shown = tables.fmt_table(t.T)
    assert shown.loc["paper: # samples", "UCI"] == "10299"  # an integer, beside the blank
    assert shown.loc["paper: # samples", "HuGaDB (9 subj.)"] == ""
    y = np.array([5, 5, 0, 3], np.int8)
    counts = page.class_counts(y, np.array(["HuGaDB", "HuGaDB", "UCI", "MobiAct"]))
    assert list(counts.index) == ["MobiAct", "UCI", "HuGaDB (9 subj.)"]  # paper order, then extras
    cov = page.class_coverage(counts)
    assert cov.loc["HuGaDB (9 subj.)", "Walking"] == "✓"  # no released-code table to compare
    assert "**HuGaDB (9 subj.)**" in page.dataset_cards() and "Chereshnev" in page.dataset_cards()


def test_display_path_hides_the_machine(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HARNB_DATA", str(tmp_path / "d"))
    assert tables.display_path(tmp_path / "d" / "raw" / "UCI") == "<data>/raw/UCI"
    assert tables.display_path(config.REPO_ROOT / "data" / "results") == "./data/results"
    assert tables.display_path("/somewhere/else/MobiAct") == "MobiAct"
    assert tables.display_path("") == ""


def test_artefacts_written_from_a_run_and_read_back(env) -> None:  # noqa: F811
    prof, store, out = env
    prof = prof.with_(tsne_max=60)
    small_grid(prof, store, out, targets=["A", "B"], strategies=["P_0", "Rd"], ratios=[0, 70])
    p = artefacts.export_pretraining(out, prof, "tiny", store=store)
    e = artefacts.export_embeddings(out, prof, "tiny", store=store)
    assert p.name == "res.pretraining.csv" and e.name == "res.tsne.csv"
    pt = published.Pretraining(str(p))
    s = pt.summary()
    assert set(s["target"]) == {"A", "B"} and (s["steps"] > 0).all()
    assert set(pt.curves()["metric"]) >= {"validation accuracy", "training loss"}
    emb = published.Embeddings(str(e))
    assert [k[1] for k in emb.maps()] == ["A", "B"]
    sil = emb.silhouettes()
    assert sil["silhouette"].between(-1, 1).all() and (sil["windows"] <= 60).all()
    assert tsne.tsne_figure(emb) is not None
    before = pd.read_csv(e)  # a second publish keeps the maps it has (no recomputation)
    artefacts.export_embeddings(out, prof, "tiny", store=store)
    pd.testing.assert_frame_equal(pd.read_csv(e), before)
    # a pre-training that is not cached here is named, not silently skipped
    with pytest.raises(FileNotFoundError, match="target C"):
        artefacts.export_pretraining(
            _with_target(out, "C"), prof, "tiny", store=store
        )  # fmt: skip


def _with_target(out, target):
    df = pd.read_csv(out)
    df.loc[df["target"] == "A", "target"] = target
    path = out.with_name("other.csv")
    df.to_csv(path, index=False)
    return path


def test_cross_ignores_ci_matrices(tmp_path) -> None:
    from harnb.study.cross import CROSS_COLUMNS

    rows = [
        dict(train_dataset=a, test_dataset=b, f1=0.5 + 0.4 * (a == b), f1_union=0.1, accuracy=0.1,
             model="hart", seed=s, profile=prof, timestamp="2026-12-02T00:00:00+00:00")
        for a in ("UCI", "MotionSense") for b in ("UCI", "MotionSense")
        for s in (0, 1) for prof in ("ci", "cpu")
    ]  # fmt: skip
    pd.DataFrame(rows, columns=CROSS_COLUMNS).to_csv(tmp_path / "x_cross.csv", index=False)
    c = published.Cross(str(tmp_path / "*_cross.csv"))
    assert set(c.results["profile"]) == {"cpu"} and c.models == ["hart"]
    t = c.table("hart")
    assert t.loc["UCI", "UCI"] == pytest.approx(0.9) and t.loc["UCI", "MotionSense"] == 0.5
    assert published.Cross(str(tmp_path / "none_*_cross.csv")).empty
    assert (
        "No cross-dataset matrix"
        in cross_page.cross_page(published.Cross(str(tmp_path / "n*"))).data
    )


@pytest.mark.skipif(
    not (config.REPO_ROOT / "data" / "results" / "cpu_hart.csv").exists(),
    reason="no committed results",
)
def test_front_page_from_committed_results() -> None:
    pub = published.Published("data/results/cpu_hart.csv", n_boot=300)
    h = findings.headline_frame(pub)
    assert set(h["source"]) == {"ours", "paper (same targets)"}
    ours = h[h["source"] == "ours"]
    assert ours[["f1", "lo", "hi"]].notna().all().all()
    assert ((ours["lo"] <= ours["f1"] + 1e-9) & (ours["f1"] <= ours["hi"] + 1e-9)).all()
    assert set(h["strategy"]) == {"Rd", "P_F", "P_U"}
    f = findings.findings(pub)
    assert len(f) >= 4 and f["ours [95 % CI]"].str.contains(r"\[").all()
    assert set(f["verdict"]) <= {
        "reproduced", "differs", "not resolved (interval includes 0)", "new", "new, not resolved",
        "same sign, smaller here", "same sign, larger here",
    }  # fmt: skip
    assert "MobiFall (9 subj.)" in " ".join(f["targets"]) or "MobiAct" not in set(
        pub.results["target"]
    )
    html = tables.html_table(f, index=False).data
    assert "NaN" not in html and 'href="05_lodo.html"' in html
    plan = lodo.plan_status(pub)
    assert plan.iloc[-1]["part"] == "total" and plan["cells committed"].str.contains(" / ").all()
    hart_a = plan.set_index("part").loc["hart-A", "cells committed"]
    assert int(hart_a.split(" / ")[1]) == 3 * 3 * (1 + 4 * 3)  # targets × protocols × cells
    both = lodo.plan_status(pub, partial=pub)  # a run in progress is counted the same way
    assert (both["cells of the run in progress"] == plan["cells committed"]).all()
    assert (both["hours spent"] == plan["hours spent"]).all()  # a cell in both counts once
    cells = pub.results[(pub.results["metric"] == "macro_f1") & (pub.results["model"] == "hart")]
    hart_hours = cells.drop_duplicates(list(grid.CELL_KEYS))["seconds"].sum() / 3600
    spent = plan.set_index("part")["hours spent"]
    assert spent["hart-A"] + spent["hart-B"] == pytest.approx(hart_hours, abs=0.11)
    a = lodo.architectures_table(pub, ratio=1)
    assert list(a["model"]) == pub.models and a["P_U ours"].str.contains(r"\[").all()
    hart = h[(h["model"] == "hart") & (h["ratio"] == 1) & (h["strategy"] == "P_U")]
    ref = hart[hart["source"] != "ours"]["f1"].iloc[0]
    assert a.set_index("model").loc["hart", "P_U paper"] == f"{ref:.1f}"


def test_cross_intervals_over_seeds_and_convergence(tmp_path) -> None:
    from scipy import stats

    from harnb.study.cross import CROSS_COLUMNS

    f1 = {0: 0.80, 1: 0.86, 2: 0.92}
    rows = [
        dict(train_dataset=a, test_dataset=b, f1=f1[s] if a == b else 0.1, f1_union=0.1,
             accuracy=0.1, model="ispl", seed=s, steps=900, best_step=500 if s else 900,
             profile="cpu", config="c", timestamp="2026-12-02T00:00:00+00:00")
        for a in ("UCI", "MobiAct") for b in ("UCI", "MobiAct") for s in (0, 1, 2)
    ]  # fmt: skip
    pd.DataFrame(rows, columns=CROSS_COLUMNS).to_csv(tmp_path / "x_cross.csv", index=False)
    c = published.Cross(str(tmp_path / "*_cross.csv"))
    t = c.interval_table("ispl")
    h = stats.t.ppf(0.975, 2) * np.std(list(f1.values()), ddof=1) / np.sqrt(3)
    assert t.loc["UCI", "UCI"] == f"86.0 [{(0.86 - h) * 100:.1f}, 100.0]"  # clipped at 1
    assert t.loc["MobiFall (9 subj.)", "UCI"] == "10.0 [10.0, 10.0]"
    conv = c.convergence().iloc[0]
    assert conv["trainings"] == 6 and conv["seeds"] == "0 1 2"
    assert conv["best step = last (%)"] == pytest.approx(100 / 3, abs=0.1)
    html = cross_page.cross_page(c).data
    assert "NaN" not in html and "interval over seeds" in html


def test_verdict_weighs_the_size_as_well_as_the_sign() -> None:
    v = findings._verdict
    assert v(0.025, 0.002, 0.053) == "reproduced"  # HART P_U − Rd at 10 %: paper inside
    assert v(0.216, 0.048, 0.112) == "same sign, smaller here"  # HART at 1 %
    assert v(0.01, 0.02, 0.05) == "same sign, larger here"
    assert v(-0.3, -0.2, -0.1) == "same sign, smaller here"
    assert v(0.065, -0.057, 0.045) == "not resolved (interval includes 0)"
    assert v(0.02, -0.119, -0.030) == "differs"
    assert v(float("nan"), 0.1, 0.2) == ""
