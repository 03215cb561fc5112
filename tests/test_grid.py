"""The resumable grid: resume, failing cells, damaged CSVs, bad input, tables, profiles."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from test_splits import synth_store
from test_train import fake_models  # noqa: F401  (fixture)

from harnb.study import cells, grid, results
from harnb.training import profiles, train

SPEC = {
    "A": (5, [0, 3, 5], 12),
    "B": (4, [0, 1, 3], 12),
    "C": (4, [3, 5, 9], 12),
}


@pytest.fixture
def env(tmp_path, monkeypatch, fake_models):  # noqa: F811
    monkeypatch.setenv("HARNB_DATA", str(tmp_path / "data"))
    prof = profiles.get_profile("ci").with_(
        models=("tiny",),
        pretrain_budget=train.Budget(max_epochs=1),
        finetune_budget=train.Budget(max_steps=4, eval_every=2),
        pretrain_batch=64,
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
    log = out.with_name("progress.log")
    df = small_grid(prof, store, out, progress_log=log)
    assert list(df.columns) == list(grid.COLUMNS)
    # with the bar off, the progress log still tells how far the run got and when
    lines = log.read_text().splitlines()
    assert all(re.match(r"\[grid \+\d+s \d\d:\d\d:\d\d\] ", ln) for ln in lines)
    assert any("pre-training tiny for A (seed 0)" in ln for ln in lines)
    assert [ln.split("] ")[1] for ln in lines if "written" in ln] == [
        f"{k}/3 cells written" for k in (1, 2, 3)
    ]
    assert (df["status"] == "ok").all()
    cells = df.groupby(list(grid.CELL_KEYS)).size()
    assert len(cells) == 3 and (cells == len(grid.METRICS)).all()
    f1 = df[df["metric"] == "macro_f1"]["value"]
    assert f1.between(0, 1).all()
    assert df[(df.strategy == "P_0") & (df.metric == "n_train")]["value"].iloc[0] == 0
    runs = grid.default_results_path(prof).parent.parent
    cached = list(runs.glob("pretrained/**/*.weights.h5"))
    assert cached and not list(runs.glob("pretrained/**/.tmp*"))
    import h5py

    with h5py.File(cached[0]) as f:  # the cache holds the weights, not Adam's moments
        assert "layers" in f and "optimizer" not in f
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

    monkeypatch.setattr(cells, "run_cell", flaky)
    df = small_grid(prof, store, out)
    err = df[df["status"] == "error"]
    assert len(err) == 1 and err["strategy"].iloc[0] == "Rd"
    assert "RuntimeError: out of memory second line" in err["error"].iloc[0]
    assert set(df[df["status"] == "ok"]["strategy"]) == {"P_0", "P_U"}
    # a rerun retries the failed cell (now healthy) and only that one
    monkeypatch.setattr(cells, "run_cell", real)
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
    assert sum(1 for ln in lines[1:] if not results._TS.match(ln.rsplit(",", 1)[-1])) == 1


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


def test_cross_matrix_pooled_model_gives_a_fresh_models_rows(env, monkeypatch):
    """The matrix reuses one compiled model per architecture: C's row, trained after A's and B's
    on the pooled model, equals C's row trained first, on a fresh one."""
    from harnb.study import cross

    prof, store, out = env
    prof = prof.with_(cross_model="tiny", cross_epochs=2)
    compiled = []
    real_fit = train.fit
    monkeypatch.setattr(
        train, "fit", lambda *a, **k: compiled.append(k["compile"]) or real_fit(*a, **k)
    )
    pooled = grid.cross_dataset_matrix(prof, out, store=store, progress=False)
    assert compiled == [True, False, False]
    fresh_out = out.with_name("fresh.csv")  # A's and B's rows done: only C trains, first
    done = results.read_tidy(out, cross.CROSS_COLUMNS)
    results.append_rows(fresh_out, done[done["train_dataset"] != "C"].to_dict("records"),
                        cross.CROSS_COLUMNS)  # fmt: skip
    fresh = grid.cross_dataset_matrix(prof, fresh_out, store=store, progress=False)
    assert compiled[3:] == [True]
    cols = ["train_dataset", "test_dataset", "f1", "accuracy", "steps"]
    c = [d[d["train_dataset"] == "C"][cols].reset_index(drop=True) for d in (pooled, fresh)]
    pd.testing.assert_frame_equal(c[0], c[1])


def test_cross_matrix_early_stops_on_own_validation_subjects(env, monkeypatch):
    """cross_budget set: each training dataset's own validation subjects choose the checkpoint;
    they are disjoint from its training and test subjects; another budget is another config."""
    from harnb.study import cross

    prof, store, out = env
    prof = prof.with_(cross_model="tiny", cross_budget=train.Budget(max_steps=6, eval_every=2))
    for d in ("A", "B", "C"):
        tr, va, te = cross.cross_parts(store, d, 0.7, 0, validation=True)
        s = [set(np.asarray(store.subject)[i]) for i in (tr, va, te)]
        assert all(s) and not (s[0] & s[1] or s[0] & s[2] or s[1] & s[2]), d
    seen = []
    real_fit = train.fit

    def spy(*a, **k):
        seen.append(a[3] is not None and len(a[3]) > 0)
        return real_fit(*a, **k)

    monkeypatch.setattr(train, "fit", spy)
    df = grid.cross_dataset_matrix(prof, out, store=store, seeds=[0, 1], progress=False)
    assert len(df) == 2 * 9 and seen == [True] * 6 and df["config"].nunique() == 1
    assert (df["best_step"] <= df["steps"]).all() and (df["steps"] <= 6).all()
    other = prof.with_(cross_budget=train.Budget(max_steps=4, eval_every=2))
    assert len(grid.cross_dataset_matrix(other, out, store=store, seeds=[0], progress=False)) == 9
    assert len(seen) == 9  # the other budget trained again; the first one's rows are kept
    assert (
        len(grid.cross_dataset_matrix(prof, out, store=store, seeds=[0, 1], progress=False)) == 18
    )
    assert len(seen) == 9


def test_profiles():
    for name in ("ci", "cpu", "full"):
        p = profiles.get_profile(name)
        assert p.name == name and p.pretrain_budget.plan(1000, 64)[0] >= 1
    full = profiles.get_profile("full")
    assert full.pretrain_budget == full.finetune_budget == train.Budget(max_epochs=200)
    assert full.finetune_budget.plan(6400, 64) == (20000, 100, 0)  # 200 epochs, one eval each
    assert (full.pretrain_batch, full.finetune_batch, full.lr) == (128, 64, 5e-4)
    with pytest.raises(ValueError, match="unknown profile"):
        profiles.get_profile("gpu-huge")
    ci = profiles.get_profile("ci")
    assert ci.max_windows_per_dataset and ci.max_windows_per_dataset <= 2000
    cpu = profiles.get_profile("cpu")
    assert cpu.pretrain_per_seed and cpu.finetune_budget.patience


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
    assert seen["replace_stale"] is False
    assert seen["profile"] == "cpu" and seen["out"] == "x.csv" and seen["models"] == ["hart"]
    assert seen["progress_log"] is None
    args = p.parse_args(["--protocol", "released-matched", "--replace-stale", "--no-progress",
                         "--progress-log", "p.log"])  # fmt: skip
    assert grid.run_from_args(args) == 0
    assert seen["protocols"] == ["released-matched"] and seen["replace_stale"] is True
    assert seen["progress_log"] == "p.log"
    bad = p.parse_args(["--profile", "nope"])
    assert grid.run_from_args(bad) == 2
    _ = np  # keep numpy imported for fixtures' sake


def test_plan_parts_set_the_grid_and_its_file(monkeypatch, capsys):
    """--part runs one sized part (its own results file per model); --plan prints the sums."""
    import argparse

    seen = {}

    def fake_run_grid(prof, out, **kw):
        seen.update(kw, out=out)
        return pd.DataFrame(columns=grid.COLUMNS)

    monkeypatch.setattr(grid, "run_grid", fake_run_grid)
    p = grid.add_run_arguments(argparse.ArgumentParser())
    assert grid.run_from_args(p.parse_args(["--profile", "cpu", "--part", "ispl"])) == 0
    assert seen["models"] == ["ispl"] and seen["protocols"] == ["paper"]
    assert seen["ratios"] == [0, 1, 5, 10] and seen["seeds"] == [0, 1, 2]
    assert seen["out"].endswith("cpu_ispl.csv")
    args = p.parse_args(["--profile", "cpu", "--part", "hart-B", "--seed", "0"])
    assert grid.run_from_args(args) == 2  # contradicts the part
    assert "runs --seed 1 2" in capsys.readouterr().err
    assert grid.run_from_args(p.parse_args(["--profile", "ci", "--part", "ispl"])) == 2
    assert grid.run_from_args(p.parse_args(["--plan"])) == 0
    assert "total" in capsys.readouterr().out
    t = profiles.plan_table()
    parts = t[t["part"] != "total"]
    assert set(parts["model"]) == {"hart", "ispl", "deepconvlstm", "mobilehart"}
    assert t.iloc[-1]["hours"] == pytest.approx(parts["hours"].sum(), abs=0.1)
    # HART's cost is the measured one; a model at a quarter of the rate costs four times more
    one = profiles.Part("x", "hart", ("paper",), (1,), (0,))
    assert one.hours(1) * 3600 == pytest.approx(
        sum(profiles.HART_SECONDS[k] for k in ("pretrain", 1))
    )
    slow = profiles.Part("x", "ispl", ("paper",), (1,), (0,))
    assert slow.hours(1) == pytest.approx(one.hours(1) / profiles.RELATIVE_RATE["ispl"])


def test_read_published_merges_files_by_glob(env, tmp_path):
    """Chapter 5 renders every results file matching a glob; a later file's row wins."""
    prof, store, out = env
    made = small_grid(prof, store, out, strategies=["P_0"], ratios=[0], seeds=[0, 1])
    a = made[made["seed"] == 0]
    b = made[made["seed"] == 1]
    a.to_csv(tmp_path / "run_a.csv", index=False)
    b.to_csv(tmp_path / "run_b.csv", index=False)
    (tmp_path / "other.txt").write_text("not a results file")
    df, files = grid.read_published(tmp_path / "run_*.csv")
    assert [f.name for f in files] == ["run_a.csv", "run_b.csv"]
    assert len(df) == len(made)
    # the same cell in a later file replaces the earlier one
    c = a.iloc[[0]].copy()
    c["value"] = -1.0
    c.to_csv(tmp_path / "run_c.csv", index=False)
    df, _ = grid.read_published(tmp_path / "run_*.csv")
    key = c.iloc[0]
    hit = df[
        (df[list(grid.CELL_KEYS)] == key[list(grid.CELL_KEYS)]).all(axis=1)
        & (df["metric"] == key["metric"])
    ]
    assert hit["value"].tolist() == [-1.0]
    # a confusion file matching the glob is not mistaken for results
    results.confusion_path(out).rename(tmp_path / "run_d.confusion.csv")
    df, files = grid.read_published(tmp_path / "run_*.csv")
    assert "run_d.confusion.csv" not in [f.name for f in files]
    # two configurations of one cell across files: refused, naming both hashes
    d = a.copy()
    d["config"] = "0123456789ab"
    d.to_csv(tmp_path / "run_e.csv", index=False)
    with pytest.raises(results.MixedConfigurations, match="0123456789ab"):
        grid.read_published(tmp_path / "run_*.csv")
    empty, files = grid.read_published(tmp_path / "none_*.csv")
    assert empty.empty and files == []


def test_merge_joins_parts_run_side_by_side(env, tmp_path, capsys):
    """Two lanes of a plan, each into its own file, merge into one file with its confusion
    counts; merging again changes nothing; another configuration is refused unwritten."""
    from harnb.cli import main

    prof, store, _ = env
    kw = dict(strategies=["P_0", "P_U"], ratios=[0, 70])
    a, b, out = tmp_path / "lane_a.csv", tmp_path / "lane_b.csv", tmp_path / "merged.csv"
    da = small_grid(prof, store, a, seeds=[0], **kw)
    db = small_grid(prof, store, b, seeds=[1], **kw)
    assert main(["merge", str(out), str(a), str(b)]) == 0
    assert "lane_a.csv: 2 cell(s) added" in capsys.readouterr().out
    merged = results.read_results(out)
    assert len(merged) == len(da) + len(db)
    assert set(merged["seed"]) == {0, 1} and merged["config"].nunique() == 1
    conf = results.read_confusion(results.confusion_path(out))
    n_conf = len(results.read_confusion(results.confusion_path(a))) + len(
        results.read_confusion(results.confusion_path(b))
    )
    assert len(conf) == n_conf > 0
    # the merged file resumes like a file the grid wrote: nothing left to run
    assert len(results.finished_cells(out)) == 4
    text, ctext = out.read_text(), results.confusion_path(out).read_text()
    assert main(["merge", str(out), str(a), str(b), str(out)]) == 0
    assert "0 cell(s) added" in capsys.readouterr().out
    assert out.read_text() == text and results.confusion_path(out).read_text() == ctext
    # a source under another configuration: refused, the merged file left as it was
    other = tmp_path / "other.csv"
    small_grid(prof.with_(lr=1e-3), store, other, seeds=[0], **kw)
    assert main(["merge", str(out), str(other)]) == 2
    assert "more than one configuration" in capsys.readouterr().err
    assert out.read_text() == text
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    assert main(["merge", str(out), str(tmp_path / "notes.csv")]) == 2
    assert "not a results file" in capsys.readouterr().err
    assert main(["merge", str(out), str(tmp_path / "absent.csv")]) == 2


def test_one_configuration_per_cell(env, monkeypatch):
    prof, store, out = env
    kw = dict(strategies=["P_0", "P_U"], ratios=[0, 70])
    df = small_grid(prof, store, out, **kw)
    assert df["config"].nunique() == 1 and len(df["config"].iloc[0]) == 12
    # another budget is another configuration: the file is refused, nothing is trained
    other = prof.with_(finetune_budget=train.Budget(max_steps=6, eval_every=2))
    with monkeypatch.context() as mp:
        mp.setattr(train, "pretrain", lambda *a, **k: pytest.fail("trained"))
        with pytest.raises(ValueError, match="another configuration"):
            small_grid(other, store, out, **kw)
    # resuming with the same configuration skips every cell
    n = out.read_text().count("\n")
    small_grid(prof, store, out, **kw)
    assert out.read_text().count("\n") == n
    # replace_stale drops the old rows and reruns them under the new configuration
    df2 = small_grid(other, store, out, replace_stale=True, **kw)
    assert df2["config"].nunique() == 1 and df2["config"].iloc[0] != df["config"].iloc[0]
    assert len(df2) == len(df)
    # a file that mixes two configurations of one cell cannot be read
    text = out.read_text().splitlines()
    row = text[1].replace(df2["config"].iloc[0], "feedfacecafe")
    out.write_text("\n".join([*text, row]) + "\n")
    with pytest.raises(results.MixedConfigurations, match="feedfacecafe"):
        grid.read_results(out)
    # any setting that changes numbers changes the hash; the t-SNE size does not
    dk = grid.data_key(store)
    h = grid.config_hash(prof, "paper", dk)
    assert grid.config_hash(prof.with_(lr=1e-3), "paper", dk) != h
    assert grid.config_hash(prof.with_(max_val_windows=7), "paper", dk) != h
    assert grid.config_hash(prof, "released-code", dk) != h
    assert grid.config_hash(prof, "paper", "otherdata") != h
    assert grid.config_hash(prof, "paper", dk, norm_as_released=True) != h
    assert grid.config_hash(prof.with_(tsne_max=1), "paper", dk) == h


def test_pretraining_shared_by_protocols_and_confusion_counts(env, monkeypatch):
    prof, store, out = env
    calls = []
    real = train.pretrain

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(train, "pretrain", counting)
    df = small_grid(
        prof, store, out, protocols=list(grid.PROTOCOLS), strategies=["P_0", "P_F"],
        ratios=[0, 70],
    )  # fmt: skip
    assert len(calls) == 1  # one pre-training for (target, model, seed), all three protocols
    assert set(df["protocol"]) == set(grid.PROTOCOLS) and (df["status"] == "ok").all()
    conf = grid.read_confusion(results.confusion_path(out))
    assert set(conf["protocol"]) == set(grid.PROTOCOLS)
    from harnb.study import intervals

    f1 = df[df.metric == "macro_f1"].set_index(list(grid.CELL_KEYS))["value"]
    for key, g in conf.groupby(list(grid.CELL_KEYS)):
        classes, total = intervals.summed_confusion(g)
        assert intervals.macro_f1_from_confusion(total, classes) == pytest.approx(f1[key])
    steps = df[(df.metric == "steps") & (df.strategy == "P_F")]["value"]
    assert (steps > 0).all()


def test_chapter5_renders_intervals_gaps_and_convergence(env):
    """Published: Tables with intervals beside the paper, paired gaps, convergence."""
    from harnb.study import intervals
    from harnb.study.published import Published, display_name

    prof, store, out = env
    for t in ("A", "B"):
        small_grid(
            prof, store, out, targets=[t], protocols=["paper", "released-matched"],
            strategies=["P_0", "Rd", "P_F", "P_U"], ratios=[0, 10], seeds=[0, 1],
        )  # fmt: skip
    pub = Published(str(out), n_boot=200)
    assert pub.models == ["tiny"] and len(pub.boot.cells()) == 2 * 2 * 4
    tidy = intervals.cell_intervals(pub.boot, "tiny", "paper")
    assert set(tidy["target"]) == {"A", "B", "AVG"}
    assert (tidy["lo"] <= tidy["mean"] + 1e-12).all() and (tidy["mean"] <= tidy["hi"] + 1e-12).all()
    wide = intervals.table(tidy)
    assert wide.loc["AVG", (10, "P_U")].count("[") == 1 and "nan" not in wide.to_string().lower()
    gains = intervals.strategy_differences(pub.boot, "tiny")
    assert set(gains["comparison"]) == {"P_U − Rd", "P_F − Rd"} and (gains["seeds"] == 2).all()
    gaps = intervals.protocol_gaps(pub.boot, "tiny")
    assert set(gaps["gap"]) == {"released-matched"} and "AVG" in set(gaps["target"])
    conv = pub.convergence()
    assert set(conv["strategy"]) == {"Rd", "P_F", "P_U"} and (conv["runs"] == 4 * 2 // 2).all()
    assert conv["best step = last (%)"].between(0, 100).all()
    summary = pub.summary()
    assert set(summary["protocol"]) == {"paper", "released-matched"}
    assert summary["configuration"].str.len().min() == 12
    assert display_name("MobiAct") == "MobiFall (9 subj.)"
