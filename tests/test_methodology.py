"""The methodology on real mirror data: precise BatchNorm rescues a short MobileHART run, P_F on
cached features is the frozen model, and intervals reproduce the recorded macro-F1."""

from __future__ import annotations

import numpy as np
import pytest

from harnb import models
from harnb.data.splits import stratified_sample
from harnb.study import intervals
from harnb.training import evaluate, train

pytestmark = [pytest.mark.mirror, pytest.mark.slow]


@pytest.fixture(scope="module")
def uci_fold(mirror, session_data):
    """The real UCI fold of the paper protocol (sources MotionSense and the MobiFall subset)."""
    from harnb.data import fetch, preprocess
    from harnb.training import folds

    mp = pytest.MonkeyPatch()
    mp.setenv("HARNB_DATA", str(session_data))
    names = ["UCI", "MotionSense", "MobiAct"]
    fetch.fetch(names, mirror=mirror, dest=session_data / "raw")
    store = preprocess.load_windows(names, progress=False)
    fold = folds.prepare_fold(store, "UCI", "paper", split_seed=0)
    yield fold
    mp.undo()


def _val(fold, k=500):
    v = fold.split.target_val
    return stratified_sample(v, fold.y[v], k, 0)


def test_precise_bn_rescues_a_short_mobilehart_run(uci_fold):
    """MobileHART from random weights, UCI 10 % subset, 50 steps: with stale moving averages
    (momentum 0.99) it predicts one class; with precise BN it scores macro-F1 >= 0.5."""
    sp = uci_fold.split
    Xtr, ytr = uci_fold.part(sp.subset(10))
    Xva, yva = uci_fold.part(_val(uci_fold))
    Xte, yte = uci_fold.part(sp.target_test)
    m = models.build("mobilehart", 10, seed=0)
    budget = train.Budget(max_steps=50, eval_every=25)
    res = train.fit(m, Xtr, ytr, Xva, yva, budget=budget, batch_size=64, seed=0)
    assert res.meta["precise_bn_windows"] == 2048 and res.steps == 50
    pred = train.predict_labels(m, Xte)
    f1 = evaluate.macro_f1(yte, pred, sp.target_classes)
    assert f1 >= 0.5, f1
    assert len(np.unique(pred)) > 1
    # the same weights with the statistics of a short run's moving averages collapse
    bn = train.batch_norm_layers(m)
    for layer in bn:
        layer.moving_mean.assign(np.zeros(layer.moving_mean.shape, "float32"))
        layer.moving_variance.assign(np.ones(layer.moving_variance.shape, "float32"))
    stale = evaluate.macro_f1(yte, train.predict_labels(m, Xte), sp.target_classes)
    assert stale < 0.2, stale


@pytest.mark.parametrize("name", ["hart", "ispl"])
def test_pf_on_cached_features_is_the_frozen_model(uci_fold, name):
    """For the same weights, the head on cached features and the whole frozen model agree."""
    sp = uci_fold.split
    pre = models.build(name, 10, seed=1)
    X = uci_fold.X[sp.target_test[:64]]
    pf = models.finetune_variant("P_F", pre, 10, seed=3)
    head = models.feature_head(pre, 10, seed=3)
    np.testing.assert_array_equal(
        pf.get_layer("head").get_weights()[0], head.get_layer("head").get_weights()[0]
    )  # the same seed draws the same head
    F = train.predict_outputs(models.frozen_features(pre), X, 512)
    np.testing.assert_allclose(
        train.predict_outputs(head, F, 512), train.predict_outputs(pf, X, 512), atol=1e-5
    )
    # train the head on features, put it back on the extractor: the same predictions
    Xtr, ytr = uci_fold.part(sp.subset(1))
    Ftr = train.predict_outputs(models.frozen_features(pre), Xtr, 512)
    train.fit(head, Ftr, ytr, budget=train.Budget(max_steps=30), batch_size=64, seed=0)
    full = models.compose_frozen(pre, head)
    np.testing.assert_allclose(
        train.predict_outputs(full, X, 512), train.predict_outputs(head, F, 512), atol=1e-5
    )


def test_bootstrap_point_equals_metric_and_intervals_cover_it(uci_fold):
    """Per-subject confusion counts rebuild the macro-F1 of a real prediction exactly."""
    from harnb.study import results

    sp = uci_fold.split
    te = sp.target_test
    y = uci_fold.y[te].astype(np.int64)
    rng = np.random.default_rng(0)
    preds = [np.where(rng.random(len(y)) < 0.7, y, rng.integers(0, 10, len(y))) for _ in range(3)]
    rows = []
    for seed, p in enumerate(preds):
        cell = dict(protocol="paper", target="UCI", model="hart", strategy="Rd", ratio=1,
                    seed=seed)  # fmt: skip
        rows += results.confusion_rows(
            cell, y, p, uci_fold.subject[te], sp.target_classes, "abc", "t"
        )
    import pandas as pd

    conf = pd.DataFrame(rows)
    boot = intervals.Bootstrap(conf, n_boot=500)
    cell = ("paper", "UCI", "hart", "Rd", 1)
    per_seed = [evaluate.macro_f1(y, p, sp.target_classes) for p in preds]
    mean, lo, hi = boot.interval(cell)
    assert mean == pytest.approx(np.mean(per_seed))
    assert lo < mean < hi and hi - lo < 0.2
    # a difference of a cell with itself is exactly zero in every replicate
    d, dlo, dhi, n = boot.difference(cell, cell)
    assert (d, dlo, dhi, n) == (0.0, 0.0, 0.0, 3)
    assert intervals.fmt_interval(mean, lo, hi).count("[") == 1


def test_per_class_f1_from_confusion_matches_sklearn():
    """Per-class F1 from summed counts (chapter 8's posture/locomotion split) is sklearn's F1
    on the same predictions, a prediction of a class the target lacks included."""
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    classes = np.array([1, 4, 6])
    y_true = rng.choice(classes, 400)
    y_pred = np.where(rng.random(400) < 0.6, y_true, rng.integers(0, 10, 400))
    cm = np.zeros((3, 10))
    np.add.at(cm, (np.searchsorted(classes, y_true), y_pred), 1)
    ours = intervals.per_class_f1(cm, classes)
    ref = f1_score(y_true, y_pred, labels=classes, average=None, zero_division=0)
    np.testing.assert_allclose(ours, ref)
    assert intervals.macro_f1_from_confusion(cm, classes) == pytest.approx(ref.mean())
