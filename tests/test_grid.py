"""The resumable grid: resume, failing cells, damaged CSVs, bad input, tables, profiles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_splits import synth_store
from test_train import fake_models  # noqa: F401  (fixture)

from harnb import grid, profiles, train

SPEC = {
    "A": (5, [0, 3, 5], 12),
    "B": (4, [0, 1, 3], 12),
    "C": (4, [3, 5, 9], 12),
}


@pytest.fixture
def env(tmp_path, monkeypatch, fake_models):  # noqa: F811
    monkeypatch.setenv("HARNB_DATA", str(tmp_path / "data"))
    prof = profiles.get_profile("ci").with_(
        models=("tiny",), pretrain_epochs=1, finetune_epochs=1, pretrain_batch=64
    )
    return prof, synth_store(SPEC, seed=1), tmp_path / "res.csv"


def small_grid(prof, store, out, **kw):
    args = dict(
        targets=["A"],
        protocols=["paper"],
        strategies=["P_0", "P_U", "Rd"],
        ratios=[0, 70],
        seeds=[0],
        store=store,
        progress=False,
    )
    args.update(kw)
    return grid.run_grid(prof, out, **args)


def test_grid_writes_tidy_rows_and_resume_skips_done_cells(env, monkeypatch):
    prof, store, out = env
    df = small_grid(prof, store, out)
    assert list(df.columns) == list(grid.COLUMNS)
    assert (df["status"] == "ok").all()
    cells = df.groupby(list(grid.CELL_KEYS)).size()
    assert len(cells) == 3 and (cells == len(grid.METRICS)).all()
    f1 = df[df["metric"] == "macro_f1"]["value"]
    assert f1.between(0, 1).all()
    assert df[(df.strategy == "P_0") & (df.metric == "n_train")]["value"].iloc[0] == 0
    runs = grid.default_results_path(prof).parent.parent
    assert list(runs.glob("pretrained/**/*.weights.h5"))
    assert list(runs.glob("histories/**/*.json"))
    n_lines = out.read_text().count("\n")

    # second run: nothing is trained again, nothing appended
    def boom(*a, **k):
        raise AssertionError("should not train")

    real_finetune = train.finetune
    monkeypatch.setattr(train, "pretrain", boom)
    monkeypatch.setattr(train, "finetune", boom)
    small_grid(prof, store, out)
    assert out.read_text().count("\n") == n_lines
    # a new seed reuses the cached pre-trained model (pretrain still patched to fail)
    monkeypatch.setattr(train, "finetune", real_finetune)
    df = small_grid(prof, store, out, seeds=[0, 1], strategies=["P_0"], ratios=[0])
    assert set(df[df.strategy == "P_0"]["seed"]) == {0, 1}
    assert (df["status"] == "ok").all()


def test_failing_cell_is_recorded_and_grid_goes_on(env, monkeypatch):
    prof, store, out = env
    real = grid.run_cell

    def flaky(fold, pre, strategy, *a, **k):
        if strategy == "Rd":
            raise RuntimeError("out of memory\nsecond line")
        return real(fold, pre, strategy, *a, **k)

    monkeypatch.setattr(grid, "run_cell", flaky)
    df = small_grid(prof, store, out)
    err = df[df["status"] == "error"]
    assert len(err) == 1 and err["strategy"].iloc[0] == "Rd"
    assert "RuntimeError: out of memory second line" in err["error"].iloc[0]
    assert set(df[df["status"] == "ok"]["strategy"]) == {"P_0", "P_U"}
    # a rerun retries the failed cell (now healthy) and only that one
    monkeypatch.setattr(grid, "run_cell", real)
    df = small_grid(prof, store, out)
    assert (df[df.metric == "macro_f1"]["status"] == "ok").all()
    assert df[df.metric == "macro_f1"].shape[0] == 3


def test_truncated_last_line_is_tolerated(env):
    prof, store, out = env
    small_grid(prof, store, out, strategies=["P_0"], ratios=[0], seeds=[0, 1])
    text = out.read_text()
    out.write_text(text[: len(text) - 25])  # a crash in the middle of the last row
    df = grid.read_results(out)
    assert len(df) == 2 * len(grid.METRICS) - 1
    done = grid.finished_cells(out, prof.name)
    assert len(done) == 1  # the cell whose macro_f1 row was cut is not finished
    df = small_grid(prof, store, out, strategies=["P_0"], ratios=[0], seeds=[0, 1])
    assert len(grid.finished_cells(out, prof.name)) == 2
    assert len(df) == 2 * len(grid.METRICS)
    # the damaged fragment stays on its own line and the new rows parse
    lines = out.read_text().splitlines()
    assert sum(1 for ln in lines[1:] if not grid._TS.match(ln.rsplit(",", 1)[-1])) == 1


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"protocols": ["leaky"]}, "protocol"),
        ({"strategies": ["P_Z"]}, "strategy"),
        ({"ratios": [0, 50]}, "ratio"),
        ({"targets": ["Nope"]}, "target"),
        ({"models": ["resnet"]}, "model"),
    ],
)
def test_bad_input_rejected_before_training(env, monkeypatch, kw, msg):
    prof, store, out = env
    monkeypatch.setattr(train, "pretrain", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(ValueError, match=msg):
        small_grid(prof, store, out, **kw)
    assert not out.exists()


def test_paper_table_layout():
    rows = []
    for t, base in (("UCI", 0.9), ("HHAR", 0.8)):
        for s in (0, 1):
            for r, st in ((0, "P_0"), (1, "Rd"), (1, "P_U")):
                rows.append(
                    dict(protocol="paper", target=t, model="hart", strategy=st, ratio=r, seed=s,
                         metric="macro_f1", value=base + 0.02 * s, status="ok", profile="ci")
                )  # fmt: skip
    df = pd.DataFrame(rows)
    t = grid.paper_table(df, "hart")
    assert list(t.index) == ["HHAR", "UCI", "AVG"]
    assert list(t.columns) == [(0, "P_0"), (1, "Rd"), (1, "P_U")]
    assert t.loc["UCI", (1, "Rd")] == "91.00 ± 1.41"
    assert t.loc["AVG", (0, "P_0")] == "86.00"
    n = grid.paper_table(df, "hart", fmt=False)
    assert n.loc["UCI", (1, "Rd", "mean")] == pytest.approx(91.0)


def test_cross_dataset_matrix_resumes(env, monkeypatch):
    prof, store, out = env
    prof = prof.with_(cross_model="tiny", cross_epochs=1)
    df = grid.cross_dataset_matrix(prof, out, store=store, progress=False)
    assert len(df) == 9 and df["f1"].between(0, 1).all()
    m = grid.cross_matrix_table(df)
    assert m.shape == (3, 3)
    monkeypatch.setattr(train, "fit", lambda *a, **k: pytest.fail("trained again"))
    assert len(grid.cross_dataset_matrix(prof, out, store=store, progress=False)) == 9


def test_profiles():
    for name in ("ci", "cpu", "full"):
        p = profiles.get_profile(name)
        assert p.name == name and p.pretrain_epochs >= 1
    full = profiles.get_profile("full")
    assert (full.pretrain_epochs, full.finetune_epochs) == (200, 200)
    assert (full.pretrain_batch, full.finetune_batch, full.lr) == (128, 64, 5e-4)
    assert full.finetune_min_steps == 0
    with pytest.raises(ValueError, match="unknown profile"):
        profiles.get_profile("gpu-huge")
    ci = profiles.get_profile("ci")
    assert ci.max_windows_per_dataset and ci.max_windows_per_dataset <= 2000


def test_subsample_store_keeps_subjects():
    st = synth_store({"A": (4, [0, 1], 40), "B": (3, [2], 10)})
    sub = grid.subsample_store(st, 50, seed=0)
    assert (sub.dataset == "A").sum() == 50 and (sub.dataset == "B").sum() == (
        st.dataset == "B"
    ).sum()
    assert set(sub.subject[sub.dataset == "A"]) == set(st.subject[st.dataset == "A"])
    assert grid.data_key(sub) != grid.data_key(st)


def test_cli_arguments_reach_run_grid(monkeypatch):
    import argparse

    seen = {}

    def fake_run_grid(prof, out, **kw):
        seen.update(kw, profile=prof.name, out=out)
        return pd.DataFrame(columns=grid.COLUMNS)

    monkeypatch.setattr(grid, "run_grid", fake_run_grid)
    p = grid.add_run_arguments(argparse.ArgumentParser())
    args = p.parse_args(
        ["--profile", "cpu", "--model", "hart", "--protocol", "paper", "released-code",
         "--ratio", "0", "1", "--seed", "0", "1", "2", "--out", "x.csv", "--no-progress"]
    )  # fmt: skip
    assert grid.run_from_args(args) == 0
    assert seen["protocols"] == ["paper", "released-code"] and seen["ratios"] == [0, 1]
    assert seen["profile"] == "cpu" and seen["out"] == "x.csv" and seen["models"] == ["hart"]
    bad = p.parse_args(["--profile", "nope"])
    assert grid.run_from_args(bad) == 2
    _ = np  # keep numpy imported for fixtures' sake


def test_read_published_merges_files_by_glob(tmp_path):
    """Chapter 5 renders every committed run matching a glob; a later file's row wins."""
    committed = grid.read_results(grid.config.REPO_ROOT / "data/results/cpu_hart.csv")
    assert not committed.empty
    a = committed[committed["target"] == "UCI"]
    b = committed[committed["target"] != "UCI"].copy()
    a.to_csv(tmp_path / "run_a.csv", index=False)
    b.to_csv(tmp_path / "run_b.csv", index=False)
    (tmp_path / "other.txt").write_text("not a results file")
    df, files = grid.read_published(tmp_path / "run_*.csv")
    assert [f.name for f in files] == ["run_a.csv", "run_b.csv"]
    assert len(df) == len(committed)
    assert set(df["target"]) == set(committed["target"])
    # the same cell in a later file replaces the earlier one
    c = a.iloc[[0]].copy()
    c["value"] = -1.0
    c.to_csv(tmp_path / "run_c.csv", index=False)
    df, _ = grid.read_published(tmp_path / "run_*.csv")
    key = c.iloc[0]
    hit = df[
        (df[list(grid.CELL_KEYS)] == key[list(grid.CELL_KEYS)]).all(axis=1)
        & (df["metric"] == key["metric"])
        & (df["profile"] == key["profile"])
    ]
    assert hit["value"].tolist() == [-1.0]
    empty, files = grid.read_published(tmp_path / "none_*.csv")
    assert empty.empty and files == []
    # a relative pattern is taken from the repository root
    df, files = grid.read_published("data/results/cpu_*.csv")
    assert files and files[0].parent == grid.config.REPO_ROOT / "data" / "results"
