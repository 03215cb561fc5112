"""Issue 23's machinery: orientation arms in the folds, the vector normalisation, the
classical baseline and target-BatchNorm P_F as grid strategies, the budget-honest validation,
precise BN on a shuffled sample; on the real mirror where the claim is about real devices."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pandas as pd
import pytest
from test_grid import SPEC, env, small_grid  # noqa: F401  (fixture)
from test_splits import synth_store
from test_train import fake_models  # noqa: F401  (fixture)

from harnb.data import orientation, preprocess
from harnb.data.fetch import fetch
from harnb.data.splits import budget_validation
from harnb.study import intervals, results
from harnb.study.cells import BASELINE_STRATEGIES, GRID_STRATEGIES
from harnb.training import folds, profiles, train

MIRROR_SETS = ("UCI", "MotionSense", "MobiAct")


@pytest.fixture(scope="module")
def real_store(mirror: Path, session_data: Path):
    """The mirror's three datasets as windows (SI units, device frames), 3,000 per dataset."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNB_DATA", str(session_data))
        mp.setenv("HARNB_MIRROR", str(mirror))
        fetch(list(MIRROR_SETS), progress=False)
        store = preprocess.load_windows(list(MIRROR_SETS))
    return folds.subsample_store(store, 3000, seed=0)


# ------------------------------------------------------------------ real devices, real frames


@pytest.mark.mirror
def test_the_datasets_device_frames_differ(real_store) -> None:
    """Gravity of static windows sits on +y (MobiFall), −y (MotionSense), +x (UCI)."""
    t = orientation.frames_table(real_store.X, real_store.dataset)
    axis = {d: int(np.argmax(np.abs([r["acc_x"], r["acc_y"], r["acc_z"]]))) for d, r in t.items()}
    sign = {d: np.sign([r["acc_x"], r["acc_y"], r["acc_z"]][axis[d]]) for d, r in t.items()}
    assert (axis["MobiAct"], sign["MobiAct"]) == (1, 1)
    assert (axis["MotionSense"], sign["MotionSense"]) == (1, -1)
    assert (axis["UCI"], sign["UCI"]) == (0, 1)
    for r in t.values():
        assert r["n_static"] > 50 and r["norm"] > 5  # postures mix: the mean is shorter than g


@pytest.mark.mirror
def test_fold_alignment_puts_every_datasets_gravity_on_z(real_store) -> None:
    fold = folds.prepare_fold(real_store, "UCI", "paper", orientation="align", norm="vector")
    t = orientation.frames_table(fold.X_si, real_store.dataset)
    for d, r in t.items():
        assert r["acc_z"] > 0.98 * r["norm"], (d, r)
    # SI windows untouched by the none arm, and the fold keeps them for the baseline
    none = folds.prepare_fold(real_store, "UCI", "paper")
    assert none.X_si is real_store.X


@pytest.mark.mirror
def test_vector_normalisation_commutes_with_rotation(real_store) -> None:
    stats = preprocess.fit_normalisation(real_store, mode="vector")
    R = orientation.random_rotations(len(real_store), 0)
    rotated = real_store.__class__(
        **{**real_store.__dict__, "X": orientation.rotate(real_store.X, R)}
    )
    a = orientation.rotate(preprocess.normalise(real_store, stats), R)
    b = preprocess.normalise(rotated, preprocess.fit_normalisation(rotated, mode="vector"))
    np.testing.assert_allclose(a, b, atol=2e-4)
    # under the paper's normalisation they do not: that is why rotating arms need "vector"
    s2 = preprocess.fit_normalisation(real_store, mode="sensor")
    c = orientation.rotate(preprocess.normalise(real_store, s2), R)
    d = preprocess.normalise(rotated, preprocess.fit_normalisation(rotated, mode="sensor"))
    assert np.abs(c - d).max() > 0.1


# ------------------------------------------------------------------ settings and their hashes


def test_arms_enter_the_hash_only_when_on() -> None:
    cpu = profiles.get_profile("cpu")
    base = cpu.cell_key()
    assert "orientation" not in base and "norm" not in base and "val_labels" not in base
    keys = {a: str(profiles.with_arm(cpu, a).cell_key()) for a in profiles.STUDY_ARMS}
    assert len(set(keys.values())) == len(profiles.STUDY_ARMS)
    assert str(cpu.with_(val_labels="budget").cell_key()) != str(base)
    # the pre-trained model is shared by both label budgets (same training key)
    assert cpu.with_(val_labels="budget").training_key() == cpu.training_key()
    with pytest.raises(ValueError, match="needs norm='vector'"):
        cpu.with_(orientation="rotate3d")
    with pytest.raises(ValueError, match="unknown orientation"):
        cpu.with_(orientation="sideways")
    with pytest.raises(ValueError, match="unknown orientation arm"):
        profiles.with_arm(cpu, "sideways")


def test_budget_validation_stays_inside_the_labelled_subset() -> None:
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(10_000, 120, replace=False))
    y = np.r_[np.zeros(100), np.ones(15), np.full(4, 2), [3]].astype(int)
    tr, va = budget_validation(idx, y, 0.25, seed=1)
    assert np.intersect1d(tr, va).size == 0 and np.array_equal(np.sort(np.r_[tr, va]), idx)
    lab = dict(zip(idx, y, strict=True))
    counts = np.bincount([lab[i] for i in va], minlength=4)
    assert counts.tolist() == [25, 4, 1, 0]  # a one-window class is never held out
    tr2, va2 = budget_validation(idx, y, 0.25, seed=1)
    assert np.array_equal(va, va2)
    assert not np.array_equal(va, budget_validation(idx, y, 0.25, seed=2)[1])


def test_precise_bn_sees_a_shuffled_sample() -> None:
    """Windows sorted by dataset: a sorted sample would average within-dataset batch variances
    (≈ 1) and miss the variance between the datasets (the true variance is ≈ 1 + 25)."""
    x = np.concatenate([np.full((2048, 8, 1), -5.0), np.full((2048, 8, 1), 5.0)])
    x = (x + np.random.default_rng(0).normal(size=x.shape)).astype("float32")
    inp = keras.Input((8, 1))
    bn = keras.layers.BatchNormalization()
    model = keras.Model(inp, bn(inp))
    assert train.precise_bn(model, x, max_windows=2048, batch_size=256, seed=0) == 2048
    var = float(keras.ops.convert_to_numpy(bn.moving_variance)[0])
    assert 20 < var < 32, var


# ------------------------------------------------------------------ the grid's new strategies


def test_strategies_of_the_grid() -> None:
    assert {"FE-RF", "FE-LR", "P_F-tBN", "P_F-LP"} <= set(GRID_STRATEGIES)
    assert BASELINE_STRATEGIES == {"FE-RF": "rf", "FE-LR": "lr"}


def _f1(df):
    return df[(df["metric"] == "macro_f1") & (df["status"] == "ok")]


def _metric(df, name):
    d = df[df["metric"] == name].set_index(["strategy", "ratio"])["value"]
    return d.astype(float)


def test_baseline_reads_exactly_the_deep_strategies_labels(env) -> None:  # noqa: F811
    prof, store, out = env
    df = small_grid(
        prof, store, out, strategies=["Rd", "P_U", "P_F-LP", "FE-RF", "FE-LR"], ratios=[70]
    )
    assert len(_f1(df)) == 5
    assert _metric(df, "n_train")[("P_F-LP", 70)] == _metric(df, "n_train")[("Rd", 70)]
    n = _metric(df, "n_train")
    assert n[("FE-RF", 70)] == n[("FE-LR", 70)] == n[("Rd", 70)] == n[("P_U", 70)] > 0
    assert _metric(df, "n_val")[("FE-RF", 70)] == 0  # the baseline chooses no checkpoint
    assert _metric(df, "n_val")[("Rd", 70)] > 0
    conf = results.read_confusion(results.confusion_path(out))
    assert set(conf["strategy"]) >= {"FE-RF", "FE-LR"}


def test_budget_honest_validation_counts_every_label(env) -> None:  # noqa: F811
    prof, store, out = env
    oracle = small_grid(prof, store, out, strategies=["Rd"], ratios=[70])
    bprof = prof.with_(val_labels="budget")
    budget = small_grid(bprof, store, out.with_name("b.csv"), strategies=["Rd", "FE-RF"],
                        ratios=[70])  # fmt: skip
    no, nb = _metric(oracle, "n_train"), _metric(budget, "n_train")
    vb = _metric(budget, "n_val")
    # the labelled subset is the same; under "budget" part of it validates
    assert nb[("Rd", 70)] + vb[("Rd", 70)] == no[("Rd", 70)] == nb[("FE-RF", 70)]
    assert 0 < vb[("Rd", 70)] < no[("Rd", 70)]
    assert set(oracle["config"]) != set(budget["config"])


def test_orientation_arm_runs_in_the_grid_and_changes_the_configuration(env) -> None:  # noqa: F811
    prof, store, out = env
    store = store.__class__(**{**store.__dict__, "X": store.X + np.float32(9.81) * np.eye(6)[1]})
    a = small_grid(prof, store, out, strategies=["P_0", "P_U"], ratios=[0, 70])
    arm = profiles.with_arm(prof, "align+heading")
    b = small_grid(arm, store, out.with_name("arm.csv"), strategies=["P_0", "P_U"], ratios=[0, 70])
    assert len(_f1(a)) == len(_f1(b)) == 2
    assert set(a["config"]).isdisjoint(set(b["config"]))


def test_target_batchnorm_features_differ_and_need_batchnorm(real_store) -> None:
    """P_F-tBN re-estimates BN statistics on the target's unlabelled windows (ISPL has BN)."""
    from harnb import models

    small = folds.subsample_store(real_store, 400, seed=1)
    fold = folds.prepare_fold(small, "UCI", "paper")
    pre = models.build("ispl", n_classes=10, input_shape=fold.X.shape[1:], seed=0)
    plain = folds.FeatureCache.compute(pre, fold, 256)
    adapted = folds.FeatureCache.compute(pre, fold, 256, target_bn=512, seed=0)
    assert np.array_equal(plain.index, adapted.index)
    assert not np.allclose(plain.features, adapted.features)
    again = folds.FeatureCache.compute(pre, fold, 256)  # the pre-trained model is unchanged
    np.testing.assert_allclose(plain.features, again.features, rtol=1e-5, atol=1e-5)
    hart = models.build("hart", n_classes=10, input_shape=fold.X.shape[1:], seed=0)
    with pytest.raises(ValueError, match="no BatchNorm"):
        folds.FeatureCache.compute(hart, fold, 256, target_bn=512)


def test_synthetic_store_helper_is_what_test_grid_uses() -> None:
    assert set(synth_store(SPEC, seed=1).datasets()) == set(SPEC)


@pytest.mark.mirror
def test_a_nine_subject_target_gets_its_own_split_per_seed(real_store) -> None:
    """MobiFall's 9 subjects: every seed used to hold out subjects 7 and 11."""
    from harnb.data.splits import lodo_split

    tests = []
    for seed in range(3):
        sp = lodo_split(real_store, "MobiAct", "paper", seed=seed)
        tests.append(tuple(sorted(set(real_store.subject[sp.target_test]))))
        assert not sp.notes, sp.notes  # test and validation still hold every class
        n = len(sp.target_test) / (len(sp.target_test) + len(sp.target_val) + len(sp.target_pool))
        assert 0.12 < n < 0.3
    assert len(set(tests)) >= 2, tests
    again = lodo_split(real_store, "MobiAct", "paper", seed=1)
    assert tuple(sorted(set(real_store.subject[again.target_test]))) == tests[1]


@pytest.mark.mirror
def test_targets_sharing_a_source_subset_pretrain_on_the_same_windows(real_store) -> None:
    """Why the source curve may share a subset's pre-training between targets (real windows):
    the sources' split and normalisation do not depend on the target."""
    from harnb.training.profiles import get_profile, with_arm

    folds_ = [
        folds.prepare_fold(real_store, t, "paper", 1, orientation="permute", norm="vector",
                           sources=("MotionSense",))
        for t in ("UCI", "MobiAct")
    ]  # fmt: skip
    (a, b) = (f.split for f in folds_)
    assert np.array_equal(a.source_train, b.source_train) and len(a.source_train) > 0
    assert np.array_equal(a.source_val, b.source_val)
    np.testing.assert_array_equal(folds_[0].X[a.source_train], folds_[1].X[b.source_train])
    prof = with_arm(get_profile("cpu"), "permute").with_(sources=("MotionSense",))
    paths = {folds.pretrained_path(t, "hart", 1, prof, "k") for t in ("UCI", "MobiAct")}
    assert len(paths) == 1


def test_arm_study_pairs_arms_on_the_same_draws(env, tmp_path, capsys) -> None:  # noqa: F811
    from harnb.study.arms import ArmStudy, arm_of

    prof, store, _ = env
    kw = dict(targets=["A", "B"], strategies=["Rd", "P_U", "FE-RF"], ratios=[70], seeds=[0, 1])
    small_grid(prof, store, tmp_path / "ci_tiny_none.csv", **kw)
    small_grid(profiles.with_arm(prof, "rotate3d"), store, tmp_path / "ci_tiny_rotate3d.csv", **kw)
    assert arm_of(tmp_path / "ci_tiny_align+heading.csv") == ("ci", "tiny", "align+heading")
    s = ArmStudy(str(tmp_path / "ci_tiny_*.csv"), n_boot=200)
    assert s.arms == ["none", "rotate3d"]
    assert s.common_groups("tiny") == [("A", 0), ("A", 1), ("B", 0), ("B", 1)]
    sc = s.scores("tiny")
    assert set(sc["arm"]) == {"none", "rotate3d"} and "AVG" in set(sc["target"])
    d = s.versus_none("tiny")
    assert set(d["arm"]) == {"rotate3d"} and set(d["strategy"]) == {"Rd", "P_U", "FE-RF"}
    # the baseline does not depend on the arm's rotations (same SI windows): difference 0
    fe = d[(d["strategy"] == "FE-RF") & (d["target"] == "AVG")].iloc[0]
    assert fe["diff"] == fe["lo"] == fe["hi"] == 0
    pc = s.per_class("tiny")
    assert set(pc["group"]) <= {"posture", "locomotion"} and pc["f1"].between(0, 1).all()
    arm, ranking = s.choose("tiny", ratio=70)
    assert arm in {"none", "rotate3d"} and len(ranking) == 2
    vb = s.versus_baseline("tiny")
    assert set(vb["strategy"]) == {"Rd", "P_U"}
    from harnb.book.pages import orientation as page

    html = page.page(s, "tiny").data
    assert "Gain over" in html and "features + random forest" in html
    assert "plotly" in page.per_class_page(s, "tiny").data.lower()
    assert "criterion" in page.choice_note(s, "tiny").lower()
    assert "none of its files" in page.second_model_page(s, "ispl", "tiny").data
    second = page.second_model_page(s, "tiny", "tiny").data  # its reference not complete at 3 × 3
    assert "will rank best" in second and "Gain over" in second
    assert (
        "4 of the planned 9 (target, seed) groups in every arm, seeds 0, 1 of the planned 3"
        in second
    )
    frames = page.frames_table(store)
    assert list(frames.columns[:2]) == ["windows", "static windows"]
    # the front page: the deep model against the baseline, and a panel of its own
    from harnb.book import plots
    from harnb.book.pages import findings
    from harnb.study.published import Published

    bf = findings.baseline_findings(s, "tiny", arms=("none", "rotate3d"), ratios=(70,))
    assert list(bf["claim"]) == ["P_U − FE-RF at 70 % labels (arm none)",
                                 "P_U − FE-RF at 70 % labels (arm rotate3d)"]  # fmt: skip
    ref = vb[(vb["arm"] == "none") & (vb["strategy"] == "P_U") & (vb["target"] == "AVG")].iloc[0]
    assert bf.iloc[0]["ours [95 % CI]"] == intervals.fmt_interval(
        ref["diff"], ref["lo"], ref["hi"], signed=True
    )
    assert bf.iloc[0]["targets"] == "A, B"
    pub = Published(str(tmp_path / "none_*.csv"))
    hf = findings.headline_frame(pub, arms=s, arm_model="tiny")
    assert set(hf["model"]) == {"tiny, chapter 8 (none)"}
    assert set(hf["strategy"]) == {"Rd", "P_U", "FE-RF"}
    fig = plots.headline(hf)
    assert {t.meta["strategy"] for t in fig.data} == {"Rd", "P_U", "FE-RF"}
    assert findings.baseline_findings(ArmStudy(str(tmp_path / "none_*.csv"))).empty
    from harnb.book.pages import lodo

    html = lodo.baseline_tables(s, "tiny").data  # chapter 5's table, per target
    assert "tiny (none) − window statistics + random forest (FE-RF)" in html
    assert html.count("<table") == 1 and findings.BASELINE_PENDING.split(":")[0] in html
    assert (
        findings.BASELINE_PENDING.split(":")[0]
        in lodo.baseline_tables(ArmStudy(str(tmp_path / "none_*.csv"))).data
    )
    # the default recipe: chosen only on a complete study, its file is the model's new grid
    assert not s.complete("tiny") and s.recipe("tiny", "tiny") is None  # 3 × 3 asked, 2 × 2 run
    assert s.complete("tiny", n_targets=2, n_seeds=2)
    assert s.recipe("tiny", "tiny", n_targets=2, n_seeds=2) == arm
    assert s.file("tiny", "rotate3d") == tmp_path / "ci_tiny_rotate3d.csv"
    assert s.file("tiny", "align") is None and s.recipe("ispl", "tiny", 2, 2) is None
    assert findings.shown_arms(s, "tiny") == ("none",)  # not complete at 3 × 3
    html = lodo.recipe_tables(s, ("tiny",), "tiny", n_targets=2, n_seeds=2).data
    assert f"tiny — recipe <code>{arm}</code>" in html and "FE-RF" in html
    assert lodo.RECIPE_PENDING.split(":")[0] in lodo.recipe_tables(s, ("tiny",), "tiny").data
    part = ArmStudy(str(tmp_path / "ci_tiny_*.csv"), n_boot=50)
    part.results = part.results[~((part.results["arm"] == "none") & (part.results["seed"] == 1)
                                   & (part.results["target"] == "B"))]  # fmt: skip
    assert not part.complete("tiny", n_targets=2, n_seeds=2)  # one arm a group short
    pr = s.progress(n_targets=2, n_seeds=2)
    assert list(pr["arm"]) == ["none", "rotate3d"] and set(pr["groups finished"]) == {"4 / 4"}
    assert set(pr["seeds on every target"]) == {"0 1"} and (pr["hours"] >= 0).all()
    # none-budget is a label rule, not a candidate recipe: shown, never ranked; `harnb recipe`
    import shutil

    from harnb import cli

    for suffix in (".csv", ".confusion.csv"):
        shutil.copy(
            tmp_path / f"ci_tiny_rotate3d{suffix}", tmp_path / f"ci_tiny_none-budget{suffix}"
        )
    withb = ArmStudy(str(tmp_path / "ci_tiny_*.csv"), n_boot=200)
    assert withb.arms == ["none", "rotate3d", "none-budget"]
    assert list(withb.choose("tiny", ratio=70)[1]["arm"]) == list(ranking["arm"])
    assert withb.runners_up("tiny", ratio=70) == ["rotate3d"]
    argv = ["recipe", str(tmp_path), "--profile", "ci", "--model", "tiny", "--ratio", "70"]
    assert cli.main(argv + ["--targets", "2", "--seeds", "2", "--shell"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"CHOSEN={arm}", 'RUNNERS_UP="rotate3d"']
    assert cli.main(argv) == 2  # 3 × 3 asked, 2 × 2 run
    assert "not complete" in capsys.readouterr().err
    pr = part.progress(n_targets=2, n_seeds=2)  # the results of a cut group are fewer cells
    assert list(pr["groups finished"]) == ["3 / 4", "4 / 4"]
    assert list(pr["seeds on every target"]) == ["0", "0 1"]
    assert part.progress(n_targets=3, n_seeds=3)["seeds on every target"].eq("—").all()
    rf = findings.recipe_findings(s, ("tiny",), (70,), "tiny", n_targets=2, n_seeds=2)
    assert set(rf["model"]) == {f"tiny (recipe {arm}, chapter 8)"}
    assert list(rf["claim"]) == ["P_U − Rd at 70 % labels"]  # only P_U and Rd were run
    assert findings.recipe_findings(s, ("tiny",), (70,), "tiny").empty  # not complete at 3 × 3
    table = page.progress_table(s, part)
    assert list(table.index.get_level_values("files").unique()) == [
        "committed",
        "running (data/results/partial/orientation/)",
    ]


def test_a_source_subset_pretrains_on_those_sources_only(env, tmp_path) -> None:  # noqa: F811
    """The source-count curve's machinery: a subset of the sources is its own pre-training
    (its own cache and configuration), and nonsense subsets fail before any training."""
    from harnb.training.folds import history_path

    prof, store, _ = env
    sub = prof.with_(sources=("B",))
    assert "sources" in sub.training_key() and "sources" not in prof.training_key()
    df = small_grid(sub, store, tmp_path / "ci_tiny_B.csv", strategies=["P_0", "P_U"])
    full = small_grid(prof, store, tmp_path / "ci_tiny_all.csv", strategies=["P_0", "P_U"])
    assert set(df["config"]).isdisjoint(set(full["config"]))
    import json

    dk = folds.data_key(store)
    meta = json.loads(history_path("A", "tiny", 0, sub, dk).with_suffix(".json").read_text())
    assert meta["meta"]["sources"] == ["B"]
    # the targets that share a source subset share its pre-training: same windows, same key
    fa, fc = (folds.prepare_fold(store, t, "paper", 0, sources=("B",)) for t in ("A", "C"))
    assert np.array_equal(fa.split.source_train, fc.split.source_train)
    np.testing.assert_array_equal(
        fa.part(fa.split.source_train)[0], fc.part(fc.split.source_train)[0]
    )
    assert history_path("C", "tiny", 0, sub, dk) == history_path("A", "tiny", 0, sub, dk)
    small_grid(sub, store, tmp_path / "ci_tiny_B.csv", targets=["C"], strategies=["P_0", "P_U"])
    from harnb.config import runs_dir

    assert len(list((runs_dir() / "pretrained" / "ci" / "src-B").glob("*.weights.h5"))) == 1
    assert history_path("A", "tiny", 0, prof, dk) != history_path("C", "tiny", 0, prof, dk)
    meta = json.loads(history_path("A", "tiny", 0, prof, dk).with_suffix(".json").read_text())
    assert sorted(meta["meta"]["sources"]) == ["B", "C"]
    with pytest.raises(ValueError, match="both a target and a source"):
        small_grid(prof.with_(sources=("A", "B")), store, tmp_path / "x.csv")
    with pytest.raises(ValueError, match="have no windows"):
        small_grid(prof.with_(sources=("Z",)), store, tmp_path / "y.csv")
    with pytest.raises(ValueError, match="distinct datasets"):
        prof.with_(sources=())


def test_source_study_curve_and_leave_one_out(env, tmp_path) -> None:  # noqa: F811
    from harnb.study.sources import SourceStudy, subset_label, subset_of

    prof, store, _ = env
    kw = dict(targets=["A"], ratios=[0, 70], seeds=[0, 1])
    small_grid(prof, store, tmp_path / "ci_tiny_src-all.csv",
               strategies=["P_0", "Rd", "P_U", "FE-RF"], **kw)  # fmt: skip
    for s in ("B", "C"):
        small_grid(prof.with_(sources=(s,)), store, tmp_path / f"ci_tiny_src-{s}.csv",
                   strategies=["P_0", "P_U"], **kw)  # fmt: skip
    assert subset_of(tmp_path / "ci_tiny_src-B+C.csv") == ("ci", "tiny", "B+C")
    assert subset_label(["C", "B"]) == "B+C"
    st = SourceStudy(str(tmp_path / "ci_tiny_src-*.csv"), n_boot=200)
    assert st.subsets("tiny", "A") == ["B", "C", "all"]
    assert [st.k_of("tiny", "A", s) for s in ("B", "C", "all")] == [1, 1, 2]
    assert st.datasets("tiny") == ["A", "B", "C"]
    c = st.curve("tiny", "P_U", ratio=70)
    assert sorted(c["k"]) == [1, 2] and set(c["subsets"]) == {2, 1}
    assert (c["lo"] <= c["value"]).all() and (c["value"] <= c["hi"]).all()
    z = st.curve("tiny", "P_0")
    assert sorted(z["k"]) == [1, 2]
    fe = st.curve("tiny", "P_U", ratio=70, versus="FE-RF")  # the baseline, paired too
    assert sorted(fe["k"]) == [1, 2] and not np.allclose(fe["value"], c["value"])
    assert st.curve("tiny", "P_U", ratio=70, versus="FE-LR").empty  # not run: no comparison
    assert st.seeds("tiny") == [0, 1]
    loo = st.leave_one_out("tiny", "P_U", ratio=70)
    assert sorted(loo["removed"]) == ["B", "C"]
    # chapter 9 renders it, with the pre-training windows of every subset
    from harnb.book.pages import sources as page

    sizes = page.pretraining_windows(store, targets=["A"])
    assert sorted(sizes["subset"]) == ["B", "C", "all"]
    full = sizes.set_index("subset")["windows"]
    assert full["all"] == full["B"] + full["C"]  # the union's train parts
    html = page.page(st, "tiny", sizes).data
    assert "Leave one source out" in html and "More data or more datasets" in html
    assert "LODO on four datasets" in html
    # glued apart: a table must not sit under a "Figure" caption, nor a figure under "Table"
    figs, tabs = (page.page(st, "tiny", sizes, part=p).data for p in ("figures", "tables"))
    assert "<table" not in figs and figs.count("Plotly.newPlot") == 2
    assert "Plotly.newPlot" not in tabs and "Leave one source out" in tabs
    with pytest.raises(ValueError, match="part must be"):
        page.page(st, "tiny", sizes, part="both")
    assert "seeds 0, 1 (2 of the planned 3" in html
    # the tiny target has one test subject per seed, as HuGaDB's 9-subject subset
    assert st.confusion.groupby(["target", "seed"])["subject"].nunique().max() == 1
    assert "A: one test subject per seed, so the interval is over seeds alone" in html
    two = SourceStudy(str(tmp_path / "ci_tiny_src-*.csv"), n_boot=20)
    two.confusion = two.confusion.assign(subject=[f"A:{i % 2}" for i in range(len(two.confusion))])
    assert "one test subject" not in page.coverage(two, "tiny")
    cols = page.curve_table(st, "tiny", ratios=(70,)).columns
    assert {(70, "P_U − Rd"), (70, "P_U − FE-RF"), (0, "P_0")} <= set(cols)
    lodo = page.lodo_table(st, "tiny")  # the src-all file in chapter 5's layout
    assert ("A", "ours") in lodo.index and (70, "P_U") in lodo.columns
    assert "No source-count run" in page.page(SourceStudy(str(tmp_path / "none_*.csv")), "x").data
    # what more sources buy, paired, and the front page's rows
    d = st.k_difference("tiny", "P_U", ratio=70)
    assert list(d[["target", "k_hi", "k_lo", "seeds"]].itertuples(index=False, name=None)) == [
        ("A", 2, 1, 2)
    ]
    assert d["lo"].iloc[0] <= d["diff"].iloc[0] <= d["hi"].iloc[0]
    full, one = c[c["k"] == 2]["value"].iloc[0], c[c["k"] == 1]["value"].iloc[0]
    assert d["diff"].iloc[0] == pytest.approx(full - one)
    from harnb.book.pages import findings

    f = findings.source_findings(st, "tiny", ratios=(70,))
    assert len(f) == 4 and f["see"].str.contains("09_sources").all()
    assert f["claim"].str.endswith("[seeds 0, 1 of the planned 3]").all()
    assert (
        not findings.source_findings(st, "tiny", (70,), planned_seeds=2)["claim"]
        .str.contains("planned")
        .any()
    )
    base = f[f["claim"].str.startswith("P_U − FE-RF at 70 % labels, pre-trained on 2 source")]
    assert len(base) == 1 and base["verdict"].iloc[0] in (
        "deep model better", "baseline better", "not resolved (interval includes 0)"
    )  # fmt: skip
    v = fe[fe["k"] == 2]["value"].iloc[0]
    assert base["ours [95 % CI]"].iloc[0].startswith(f"{v * 100:+.1f} [")
    assert f["claim"].str.contains("with 2 source datasets − with 1").any()
    # publishing a curve still running keeps whole seeds only: seed 2 begun in one file
    from harnb.study.results import confusion_path
    from harnb.study.sources import publish_seeds, whole_seeds

    assert whole_seeds(tmp_path / "ci_tiny_src-*.csv") == [0, 1]
    for path in (tmp_path / "ci_tiny_src-B.csv", confusion_path(tmp_path / "ci_tiny_src-B.csv")):
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        begun = raw[(raw["seed"] == "1") & (raw["strategy"] == "P_0")].assign(seed="2")
        begun.to_csv(path, mode="a", header=False, index=False, lineterminator="\n")
    assert 2 in SourceStudy(str(tmp_path / "ci_tiny_src-*.csv"), n_boot=20).seeds("tiny")
    assert whole_seeds(tmp_path / "ci_tiny_src-*.csv") == [0, 1]  # P_U of seed 2 missing
    out = publish_seeds(tmp_path / "ci_tiny_src-*.csv", tmp_path / "pub")
    assert sorted(o.name for o in out) == [f"ci_tiny_src-{s}.csv" for s in ("B", "C", "all")]
    assert SourceStudy(str(tmp_path / "pub" / "ci_tiny_src-*.csv"), n_boot=20).seeds("tiny") == [
        0,
        1,
    ]
    assert confusion_path(tmp_path / "pub" / "ci_tiny_src-B.csv").exists()
    with pytest.raises(ValueError, match=r"seed\(s\) \[2\] not finished"):
        publish_seeds(tmp_path / "ci_tiny_src-*.csv", tmp_path / "pub", seeds=[1, 2])
    one = publish_seeds(tmp_path / "ci_tiny_src-*.csv", tmp_path / "pub", seeds=[0])
    assert SourceStudy(str(tmp_path / "pub" / "ci_tiny_src-*.csv"), n_boot=20).seeds("tiny") == [0]
    assert len(one) == 3
    # a study whose files begin a group at a time (ISPL's arms): its only group still running
    # looks whole from the file alone; the cells and targets every file must hold say it is not
    from harnb.study.results import COLUMNS, CONFUSION_COLUMNS, read_tidy, write_with_confusion
    from harnb.study.sources import expected_cells

    src = tmp_path / "ci_tiny_src-B.csv"
    r, c = read_tidy(src, COLUMNS), read_tidy(confusion_path(src), CONFUSION_COLUMNS)
    write_with_confusion(tmp_path / "arms" / "ci_tiny_whole.csv", r, c)
    run = (
        (r["seed"] == "0") & (r["strategy"] == "P_0"),
        (c["seed"] == "0") & (c["strategy"] == "P_0"),
    )
    write_with_confusion(tmp_path / "arms" / "ci_tiny_begun.csv", r[run[0]], c[run[1]])
    arms, cells = tmp_path / "arms" / "ci_tiny_*.csv", expected_cells(["P_0", "P_U"], [0, 70])
    assert cells == {("P_0", 0), ("P_U", 70)}
    assert whole_seeds(arms) == [0]  # wrong, and why the arguments exist
    assert whole_seeds(arms, cells=cells) == []
    assert whole_seeds(tmp_path / "arms" / "ci_tiny_whole.csv", cells=cells) == [0, 1]
    assert whole_seeds(tmp_path / "arms" / "ci_tiny_whole.csv", ["A"], cells) == [0, 1]
    assert whole_seeds(tmp_path / "arms" / "ci_tiny_whole.csv", ["A", "Z"], cells) == []
    with pytest.raises(ValueError, match="no seed is finished"):
        publish_seeds(arms, tmp_path / "pub2", cells=cells)
