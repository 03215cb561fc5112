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


def test_a_transposed_table_formats_cell_by_cell() -> None:
    """Table I transposed: one column per dataset, rows of different kinds (issue 25:
    ``9.0`` subjects, ``752573.0`` samples, ``2.332635549166665`` h)."""
    t = pd.DataFrame(
        [{"subjects": 9, "samples": 752573.0, "hours": 2.332635549166665, "rate": 87.2224,
          "paper": None, "position": "thigh"}], index=["MobiFall (9 subj.)"], dtype=object,
    ).T  # fmt: skip
    shown = tables.fmt_table(t)["MobiFall (9 subj.)"]
    assert list(shown) == ["9", "752,573", "2.3", "87.2", "", "thigh"]


def test_html_table_escapes_text_keeps_own_markup_and_scrolls() -> None:
    df = pd.DataFrame(
        {"where": ["<data>/raw/UCI", "a < b & c"],
         "see": ['<a href="05_lodo.html">chapter 5</a>', "<code>paper</code>"]},
        index=pd.Index(["<x>", "y"], name="<n>"),
    )  # fmt: skip
    html = tables.html_table(df).data
    assert "&lt;data&gt;/raw/UCI" in html and "a &lt; b &amp; c" in html
    assert '<a href="05_lodo.html">chapter 5</a>' in html and "<code>paper</code>" in html
    assert "<x>" not in html and "&lt;x&gt;" in html and "&lt;n&gt;" in html
    assert html.startswith('<div class="harnb-table-wrap" style="overflow-x: auto;')
    empty = tables.html_table(df.iloc[:0], empty="No cell collapsed.").data
    assert empty == "<p><em>No cell collapsed.</em></p>" and "<table" not in empty
    sec = tables.sections([("a", df.iloc[:0], "ispl: paper protocol only."), ("b", df.iloc[:0])])
    assert "ispl: paper protocol only." in sec.data and ">none<" not in sec.data


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
    shown = [published.display_name(d) for d in config.DATASETS]  # MobiFall (9 subj.)
    assert list(t.index) == [*shown, "HuGaDB (9 subj.)"]
    hg = t.loc["HuGaDB (9 subj.)"]
    assert hg["paper: # samples"] is None and hg["paper: rate"] is None  # blanks, not numbers
    assert (hg["ours: subjects"], hg["ours: windows"]) == (2, 3)
    assert hg["ours: files left out (corrupted gyroscope)"] == 110
    assert t.loc["UCI", "ours: files left out (corrupted gyroscope)"] is None
    shown = tables.fmt_table(t.T)
    assert shown.loc["paper: # samples", "UCI"] == "10,299"  # an integer, beside the blank
    assert shown.loc["paper: # samples", "HuGaDB (9 subj.)"] == ""
    y = np.array([5, 5, 0, 3], np.int8)
    counts = page.class_counts(y, np.array(["HuGaDB", "HuGaDB", "UCI", "MobiAct"]))
    # paper order, then extras, each under the name every chapter gives it
    assert list(counts.index) == ["MobiFall (9 subj.)", "UCI", "HuGaDB (9 subj.)"]
    cov = page.class_coverage(counts)
    assert cov.loc["HuGaDB (9 subj.)", "Walking"] == "✓"  # no released-code table to compare
    # still compared with the released code's MobiAct classes under its display name
    assert cov.loc["MobiFall (9 subj.)", "Sitting"] == "✓"
    assert cov.loc["MobiFall (9 subj.)", "Standing"] == "✗ (absent here)"
    assert "**HuGaDB (9 subj.)**" in page.dataset_cards() and "Chereshnev" in page.dataset_cards()


def test_display_path_hides_the_machine(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HARNB_DATA", str(tmp_path / "d"))
    assert tables.display_path(tmp_path / "d" / "raw" / "UCI") == "<data>/raw/UCI"
    assert tables.display_path(config.REPO_ROOT / "data" / "results") == "./data/results"
    assert tables.display_path("/somewhere/else/MobiAct") == "MobiAct"
    assert tables.display_path("") == ""
    # as HTML the placeholder is text, not a tag a browser drops (issue 25: "/raw/MobiAct")
    assert tables.path_html(tmp_path / "d" / "raw" / "UCI") == "<code>&lt;data&gt;/raw/UCI</code>"


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
    nothing = published.Cross(str(tmp_path / "n*"))
    assert "No cross-dataset matrix" in cross_page.cross_figures(nothing).data
    assert "No cross-dataset matrix" in cross_page.cross_tables(nothing).data


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
    assert conv["datasets"] == "MobiFall (9 subj.), UCI"
    assert conv["best step = last (%)"] == pytest.approx(100 / 3, abs=0.1)
    html = cross_page.cross_tables(c).data
    assert "NaN" not in html and "interval over seeds" in html and "<table" in html
    figs = cross_page.cross_figures(c).data
    assert "<table" not in figs and figs.count("Plotly.newPlot") == 2  # ours and the paper's
    assert "MobiFall (9 subj.)" in figs  # ours under the name the tables give it

    # a second model on four datasets (HuGaDB, not in the paper) beside the first on two
    more = [dict(r, model="hart", train_dataset=a, test_dataset=b)
            for r in rows[:3] for a in ("UCI", "HuGaDB") for b in ("UCI", "HuGaDB")]  # fmt: skip
    pd.DataFrame(rows + more, columns=CROSS_COLUMNS).to_csv(tmp_path / "x_cross.csv", index=False)
    c = published.Cross(str(tmp_path / "*_cross.csv"))
    assert c.convergence().set_index("model").loc["hart", "datasets"] == "UCI, HuGaDB (9 subj.)"
    html = cross_page.cross_tables(c).data
    diffs = html.split("hart: ours − paper")[1].split("<h3>")[0]
    assert "UCI" in diffs and "HuGaDB" not in diffs and "NaN" not in html
    assert "HuGaDB (9 subj.)" in html.split("hart: ours, macro-F1")[1].split("<h3>")[0]
    paper = cross_page.cross_figures(c).data.split("Paper, Fig. 1 (ISPL")[1]
    assert "HuGaDB" not in paper and "UCI" in paper


def test_verdict_weighs_the_size_as_well_as_the_sign() -> None:
    v = findings._verdict
    assert v(0.025, 0.002, 0.053) == "reproduced"  # HART P_U − Rd at 10 %: paper inside
    assert v(0.216, 0.048, 0.112) == "same sign, smaller here"  # HART at 1 %
    assert v(0.01, 0.02, 0.05) == "same sign, larger here"
    assert v(-0.3, -0.2, -0.1) == "same sign, smaller here"
    assert v(0.065, -0.057, 0.045) == "not resolved (interval includes 0)"
    assert v(0.02, -0.119, -0.030) == "differs"
    assert v(float("nan"), 0.1, 0.2) == ""


COMMITTED = pytest.mark.skipif(
    not list((config.REPO_ROOT / "data" / "results").glob("cpu_*.pretraining.csv")),
    reason="no committed results",
)
#: Column names a figure must not show raw (issue 25: ``model=hart``, ``f1``).
RAW_LABELS = {"f1", "value", "step", "ratio", "x", "y", "run", "model", "target", "seed"}


def one_trace_per_key(fig, fields: tuple[str, ...]) -> set[tuple]:
    """The (meta fields) of each trace; fails on two traces with one key or on a line whose
    x repeats (two runs joined into one zig-zag line)."""
    keys = [tuple(t.meta[f] for f in fields) for t in fig.data]
    dup = {k for k in keys if keys.count(k) > 1}
    assert not dup, f"several traces for {sorted(dup)[:3]}"
    for k, t in zip(keys, fig.data, strict=True):
        x = list(t.x)
        assert len(set(x)) == len(x), f"{k}: a line visits an x twice (runs joined)"
    return set(keys)


def labels_read_well(fig) -> None:
    """Panel titles and axis titles are words, not ``column=value`` or a column's name."""
    texts = [a.text for a in fig.layout.annotations]
    texts += [fig.layout[k].title.text for k in fig.layout if k.startswith(("xaxis", "yaxis"))]
    for t in filter(None, texts):
        assert "=" not in t and t not in RAW_LABELS, f"raw label {t!r}"


@COMMITTED
def test_pretraining_figure_has_one_line_per_pretraining() -> None:
    """Chapter 4 (issue 25: four architectures joined into one zig-zag line per target and
    seed, 9 legend entries for 26 pre-trainings, no model named)."""
    from harnb.book import plots

    pt = published.Pretraining("data/results/*.pretraining.csv")
    curves = pt.curves()
    fig = plots.curves(curves)
    runs = {(m, published.display_name(t), int(s))
            for m, t, s in pt.history[["model", "target", "seed"]].itertuples(index=False)}  # fmt: skip
    assert len(runs) == len(pt.summary())
    keys = one_trace_per_key(fig, ("model", "target", "seed", "metric"))
    assert keys == {(*r, m) for r in runs for m in set(curves["metric"])}
    models = [m for m in config.ARCHITECTURES if m in {r[0] for r in runs}]
    for row, m in enumerate(models, start=1):  # each row of panels is one model, named
        assert {t.meta["model"] for t in fig.select_traces(row=row)} == {m}
    assert [a.text for a in fig.layout.annotations if a.text in models] == models
    for t in fig.data:  # the legend names target and seed; hover names all three
        assert t.name == f"{t.meta['target']} · seed {t.meta['seed']}"
        assert t.hovertemplate.startswith(f"{t.meta['model']} · {t.name}")
    legend = {t.name for t in fig.data if t.showlegend}
    assert legend == {f"{t} · seed {s}" for _, t, s in runs}
    labels_read_well(fig)


@COMMITTED
def test_front_page_and_chapter5_draw_the_same_lines() -> None:
    """One trace per (model, strategy, source); chapter 5's per-model Fig. 3 shows the front
    page's numbers with its colours and intervals (issue 25: different colours, sd error bars)."""
    from harnb.book import plots

    pub = published.Published("data/results/cpu_*.csv", n_boot=200)
    frame = findings.headline_frame(pub)
    front = plots.headline(frame)
    keys = one_trace_per_key(front, ("model", "strategy", "source"))
    assert keys == set(frame[["model", "strategy", "source"]].itertuples(index=False, name=None))
    labels_read_well(front)
    by_key = {(t.meta["model"], t.meta["strategy"], t.meta["source"]): t for t in front.data}
    per_model = lodo.ratio_figure_list(pub)
    assert [m for m, _ in per_model] == pub.models
    for m, fig in per_model:
        assert one_trace_per_key(fig, ("model", "strategy", "source")) == {
            k for k in keys if k[0] == m
        }
        labels_read_well(fig)
        for t in fig.data:
            f = by_key[(t.meta["model"], t.meta["strategy"], t.meta["source"])]
            assert list(t.y) == list(f.y) and t.line.color == f.line.color
            assert t.line.color == plots.STRATEGY_COLORS[t.meta["strategy"]]
            if t.meta["source"] == "ours":  # 95 % intervals, never a standard deviation
                assert list(t.error_y.array) == list(f.error_y.array)
                lo = frame.set_index(["model", "strategy", "source", "ratio"])["lo"]
                want = [t.y[i] - lo[(m, t.meta["strategy"], "ours", int(x.split()[0]))]
                        for i, x in enumerate(t.x)]  # fmt: skip
                assert np.allclose(list(t.error_y.arrayminus), want)


def test_class_figure_has_one_bar_trace_per_dataset() -> None:
    from harnb.book import plots

    counts = pd.DataFrame([[3, 0], [1, 2]], index=["UCI", "MobiFall (9 subj.)"],
                          columns=["Walking", "Sitting"])  # fmt: skip
    fig = plots.class_distribution(counts)
    assert one_trace_per_key(fig, ("dataset",)) == {("UCI",), ("MobiFall (9 subj.)",)}
    labels_read_well(fig)


def test_side_by_side_averages_the_paper_only_over_targets_it_has() -> None:
    """The paper's AVG row is like for like: over the same targets as ours, and absent where
    the paper lacks one of them (HuGaDB); a model the paper did not run has ours alone."""
    from harnb import paper
    from harnb.study.published import side_by_side

    cols = pd.MultiIndex.from_tuples([(1, "Rd"), (1, "P_U")], names=["ratio", "strategy"])
    ours = pd.DataFrame("x", index=["UCI", "MotionSense", "AVG"], columns=cols)
    out = side_by_side(ours, "hart")
    ref = paper.lodo_table("hart").loc[["UCI", "MotionSense"], (1, "P_U")].mean()
    assert out.loc[("AVG", "paper"), (1, "P_U")] == f"{ref:.1f}"
    ours4 = pd.DataFrame("x", index=["UCI", "HuGaDB", "AVG"], columns=cols)
    out4 = side_by_side(ours4, "hart")
    assert ("UCI", "paper") in out4.index and ("HuGaDB", "ours") in out4.index
    assert ("HuGaDB", "paper") not in out4.index and ("AVG", "paper") not in out4.index
    alone = side_by_side(ours, "tiny")
    assert list(alone.index.get_level_values(1)) == ["ours"] * 3
