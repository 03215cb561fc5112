"""LODO partitions: subject disjointness, nesting, stratification, both protocols' sizes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

from harnb.data import splits
from harnb.data.store import WindowStore


def synth_store(spec: dict[str, tuple[int, list[int], int]], seed: int = 0) -> WindowStore:
    """Datasets {name: (n_subjects, classes, mean windows per class)}; each subject's windows
    come class by class, as in a real recording session. X is tiny (labels are what matter)."""
    rng = np.random.default_rng(seed)
    y, ds, subj, rec, start = [], [], [], [], []
    r = 0
    for name, (n_subj, classes, per) in spec.items():
        for s in range(n_subj):
            for c in classes:
                k = int(rng.integers(max(1, per // 2), per * 2))
                y += [c] * k
                ds += [name] * k
                subj += [f"{name}:{s}"] * k
                rec += [r] * k
                start += list(np.arange(k) * 1.28)
                r += 1
    n = len(y)
    return WindowStore(
        X=rng.normal(size=(n, 4, 6)).astype(np.float32),
        y=np.asarray(y, np.int8),
        dataset=np.asarray(ds),
        subject=np.asarray(subj),
        device=np.asarray(["d"] * n),
        position=np.asarray(["waist"] * n),
        recording=np.asarray(rec, np.int32),
        start=np.asarray(start, np.float32),
    )


UCI_CLASSES = [0, 1, 3, 4, 5, 6]
SPEC = {
    "UCI": (30, UCI_CLASSES, 55),
    "MotionSense": (24, [0, 1, 2, 3, 4, 5], 150),
    "MobiAct": (9, [0, 1, 2, 4, 5, 9], 70),
}


@pytest.fixture(scope="module")
def store() -> WindowStore:
    return synth_store(SPEC)


def subjects(store: WindowStore, idx: np.ndarray) -> set[str]:
    return set(store.subject[idx].tolist())


@pytest.mark.parametrize("target", list(SPEC))
def test_paper_protocol_is_subject_disjoint_and_leaves_target_out(store, target):
    sp = splits.lodo_split(store, target, "paper", seed=3)
    parts = [sp.target_pool, sp.target_val, sp.target_test]
    for i, a in enumerate(parts):
        assert len(a) > 0
        for b in parts[i + 1 :]:
            assert not subjects(store, a) & subjects(store, b)
    assert not subjects(store, sp.source_train) & subjects(store, sp.source_val)
    assert set(store.dataset[sp.source_train]) | set(store.dataset[sp.source_val]) == set(SPEC) - {
        target
    }
    assert target not in sp.sources
    # every target window is in exactly one part
    tgt = np.flatnonzero(store.dataset == target)
    assert np.array_equal(np.sort(np.concatenate(parts)), tgt)
    # every target class is in test and validation
    for part in (sp.target_test, sp.target_val):
        assert set(np.unique(store.y[part])) == set(sp.target_classes)
    # normalisation statistics never see the test windows
    assert not sp.norm_mask()[sp.target_test].any()
    assert sp.norm_mask(as_released=True).all()


def test_paper_protocol_fractions_and_class_balance(store):
    sp = splits.lodo_split(store, "MotionSense", "paper", seed=0)
    n = (store.dataset == "MotionSense").sum()
    assert abs(len(sp.target_pool) / n - 0.7) < 0.06
    assert abs(len(sp.target_test) / n - 0.2) < 0.05
    assert abs(len(sp.target_val) / n - 0.1) < 0.05
    # each part's class distribution is close to the dataset's
    ref = np.bincount(store.y[store.dataset == "MotionSense"], minlength=10) / n
    for part in (sp.target_pool, sp.target_test, sp.target_val):
        dist = np.bincount(store.y[part], minlength=10) / len(part)
        assert np.abs(dist - ref).max() < 0.05


def test_subsets_nested_stratified_and_cover_every_class(store):
    sp = splits.lodo_split(store, "UCI", "paper", seed=1)
    pool_classes = set(np.unique(store.y[sp.target_pool]))
    prev: set[int] = set()
    for r in (1, 5, 10, 70):
        sub = sp.subset(r)
        assert set(sub.tolist()) >= prev  # nested
        prev = set(sub.tolist())
        assert set(np.unique(store.y[sub])) == pool_classes
        assert np.isin(sub, sp.target_pool).all()
        expect = len(sp.target_pool) * r / 70
        assert abs(len(sub) - expect) <= max(len(pool_classes), 0.02 * expect)
    assert np.array_equal(sp.subset(70), sp.target_pool)
    assert len(sp.subset(0)) == 0
    # class proportions of the 10 % subset follow the pool
    pool_d = np.bincount(store.y[sp.target_pool], minlength=10) / len(sp.target_pool)
    sub_d = np.bincount(store.y[sp.subset(10)], minlength=10) / len(sp.subset(10))
    assert np.abs(pool_d - sub_d).max() < 0.02


def test_deterministic_for_a_seed_and_seed_matters(store):
    a = splits.lodo_split(store, "MobiAct", "paper", seed=5)
    b = splits.lodo_split(store, "MobiAct", "paper", seed=5)
    c = splits.lodo_split(store, "MobiAct", "paper", seed=5, subset_seed=6)
    for k in ("source_train", "source_val", "target_pool", "target_val", "target_test"):
        assert np.array_equal(getattr(a, k), getattr(b, k))
        assert np.array_equal(getattr(a, k), getattr(c, k))  # subset seed keeps the subjects
    for r in (1, 5, 10):
        assert np.array_equal(a.subset(r), b.subset(r))
    assert not np.array_equal(a.subset(5), c.subset(5))
    others = [splits.lodo_split(store, "UCI", "paper", seed=s).target_test for s in range(4)]
    assert any(not np.array_equal(others[0], o) for o in others[1:])


def test_few_subjects_still_fill_every_part():
    st = synth_store({"A": (3, [0, 1, 2], 30), "B": (4, [0, 5], 30)})
    sp = splits.lodo_split(st, "A", "paper", seed=0)
    assert all(len(p) for p in (sp.target_pool, sp.target_val, sp.target_test))
    assert len(subjects(st, sp.source_val)) == 1


def test_released_folds_equal_sklearn():
    rng = np.random.default_rng(0)
    y = np.repeat(rng.permutation([3, 1, 5, 0]), [40, 23, 57, 11])
    ref = np.empty(len(y), int)
    for f, (_, te) in enumerate(StratifiedKFold(10, shuffle=False).split(np.zeros(len(y)), y)):
        ref[te] = f
    assert np.array_equal(splits._released_folds(y), ref)


def test_released_code_protocol_roles_and_table2_pattern(store):
    sp = splits.lodo_split(store, "UCI", "released-code", seed=0)
    n = (store.dataset == "UCI").sum()
    # every target subject is in pool and test (within-subject split), validation ⊂ test
    assert subjects(store, sp.target_pool) == subjects(store, sp.target_test)
    assert np.isin(sp.target_val, sp.target_test).all()
    assert not np.isin(sp.target_pool, sp.target_test).any()
    assert abs(len(sp.target_pool) / n - 0.7) < 0.03
    assert abs(len(sp.target_test) / n - 0.2) < 0.03
    # 1 %: every UCI-like pool (~230 windows) is < 700, so one window per class per subject
    assert len(sp.subset(1)) == 30 * len(UCI_CLASSES)
    # 5 %: mixed, ≈ pool · 5/70; subsets are not nested in the released code
    assert abs(len(sp.subset(5)) - len(sp.target_pool) * 5 / 70) < 60
    assert np.array_equal(sp.subset(70), sp.target_pool)
    assert any("B-L1" in note for note in sp.notes)


def test_sources_are_split_alike_under_every_protocol(store):
    """One pre-training serves every protocol: the sources' parts do not depend on it."""
    ref = splits.lodo_split(store, "UCI", "paper", seed=1)
    assert not subjects(store, ref.source_train) & subjects(store, ref.source_val)
    for p in splits.PROTOCOLS:
        sp = splits.lodo_split(store, "UCI", p, seed=1, subset_seed=4)
        np.testing.assert_array_equal(sp.source_train, ref.source_train)
        np.testing.assert_array_equal(sp.source_val, ref.source_val)
    assert not np.array_equal(
        splits.lodo_split(store, "UCI", "paper", seed=2).source_train, ref.source_train
    )


def test_released_matched_subsets_match_the_paper_protocol(store):
    for seed in (0, 1):
        paper = splits.lodo_split(store, "UCI", "paper", seed=seed)
        sp = splits.lodo_split(store, "UCI", "released-matched", seed=seed)
        released = splits.lodo_split(store, "UCI", "released-code", seed=seed)
        # the released code's pool and test set; validation on its unused fold F7
        np.testing.assert_array_equal(sp.target_pool, released.target_pool)
        np.testing.assert_array_equal(sp.target_test, released.target_test)
        assert not np.isin(sp.target_val, sp.target_test).any()
        assert not np.isin(sp.target_val, sp.target_pool).any()
        assert subjects(store, sp.target_pool) == subjects(store, sp.target_test)
        prev = np.empty(0, np.int64)
        for r in splits.SUBSET_RATIOS:
            a = np.bincount(store.y[paper.subset(r)], minlength=10)
            b = np.bincount(store.y[sp.subset(r)], minlength=10)
            avail = np.bincount(store.y[sp.target_pool], minlength=10)
            np.testing.assert_array_equal(b, np.minimum(a, avail))  # same size and classes
            assert np.isin(sp.subset(r), sp.target_pool).all()
            assert np.isin(prev, sp.subset(r)).all()  # nested like the paper's
            prev = sp.subset(r)
    a = splits.lodo_split(store, "UCI", "released-matched", seed=0, subset_seed=0)
    b = splits.lodo_split(store, "UCI", "released-matched", seed=0, subset_seed=1)
    assert not np.array_equal(a.subset(1), b.subset(1))  # the subset varies with the seed


def test_released_code_first_window_per_class_fallback():
    y = np.array([2, 2, 0, 0, 0, 5, 2])
    assert list(splits._released_subset(y, 1, 0)) == [0, 2, 5]


def test_released_pool_is_first_70_percent_in_time():
    st = synth_store({"A": (3, [0, 1], 100), "B": (3, [0], 40)})
    sp = splits.lodo_split(st, "A", "released-code")
    for s in ("A:0", "A:1"):
        for c in (0, 1):
            w = np.flatnonzero((st.subject == s) & (st.y == c))
            pool = np.isin(w, sp.target_pool)
            test = np.isin(w, sp.target_test)
            assert pool[: pool.sum()].all()  # earliest windows of each class form the pool
            assert test[-test.sum() :].all()  # latest ones the test set


def test_cross_dataset_split(store):
    tr, te = splits.cross_dataset_split(store, "UCI", 0.7, seed=0)
    assert not subjects(store, tr) & subjects(store, te)
    assert abs(len(tr) / (len(tr) + len(te)) - 0.7) < 0.05
    assert set(np.unique(store.y[te])) == set(UCI_CLASSES)


@pytest.mark.parametrize(
    "kwargs, msg",
    [
        ({"target": "Nope"}, "no windows"),
        ({"target": "UCI", "protocol": "subject"}, "unknown protocol"),
        ({"target": "UCI", "sources": ["UCI"]}, "bad source"),
    ],
)
def test_bad_input_fails_early(store, kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        splits.lodo_split(store, **kwargs)


def test_bad_ratio_and_too_few_subjects(store):
    sp = splits.lodo_split(store, "UCI")
    for bad in (2, 50, 100, -1, 1.5, "x"):
        with pytest.raises(ValueError, match="ratio"):
            sp.subset(bad)
    st = synth_store({"A": (2, [0, 1], 20), "B": (4, [0], 20)})
    with pytest.raises(ValueError, match="at least 3"):
        splits.lodo_split(st, "A", "paper")
    splits.lodo_split(st, "A", "released-code")  # within-subject: two subjects are enough
    with pytest.raises(ValueError, match="no windows"):
        splits.classes_of(st, "C")
