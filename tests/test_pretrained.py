"""Released pre-trained models: the committed HART loads offline with its card, a changed file
is refused, and ``harnb pretrain --release`` writes a model that loads back identically."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from harnb import pretrained
from harnb.config import CHANNELS, CLASSES


def test_committed_hart_loads_offline_with_its_card(tmp_path):
    assert "hart" in pretrained.available()
    m = pretrained.load("hart", write_card=str(tmp_path / "card.json"))
    card = json.loads((tmp_path / "card.json").read_text())
    assert card == pretrained.card("hart")
    assert m.name == "hart" and m.input_shape == (None, 128, 6) and m.output_shape == (None, 10)
    assert card["classes"] == list(CLASSES)
    pp = card["preprocessing"]
    assert pp["rate_hz"] == 50.0 and pp["input_shape"] == [128, 6]
    assert pp["channels"] == list(CHANNELS)
    assert pp["units"] == {"acc": "m/s^2, with gravity", "gyro": "rad/s"}
    norm = pp["normalisation"]
    assert set(norm["per_dataset"]) == set(card["training_data"]["datasets"])
    assert len(norm["union"]["acc_std"]) == 3 and min(norm["union"]["acc_std"]) > 0
    for d, s in card["held_out"]["test"].items():
        assert 0 <= s["macro_f1"] <= 1 and s["windows"] > 0, d
        subj = card["training_data"]["datasets"][d]["subjects"]
        assert subj["test"] >= 1 and subj["val"] >= 1 and subj["train"] >= 1
    t = card["training"]
    assert t["steps"] >= t["best_step"] > 0 and t["budget"]["max_steps"] >= t["steps"]
    f16 = card["held_out"]["float16"]
    assert f16["stored_as_float16"] == (card["weights_dtype"] == "float16")
    p = m.predict_on_batch(np.zeros((2, 128, 6), np.float32))
    assert np.allclose(p.sum(-1), 1, atol=1e-5)


def _copy_release(tmp_path):
    d = tmp_path / "release"
    d.mkdir()
    index = pretrained.read_index()
    for f in ("index.json", index["hart"]["weights"], index["hart"]["card"]):
        shutil.copy(pretrained.RELEASE_DIR / f, d / f)
    return d, index["hart"]


def test_a_changed_file_is_refused(tmp_path):
    d, entry = _copy_release(tmp_path)
    pretrained.load("hart", folder=d)  # an intact copy loads
    w = d / entry["weights"]
    data = bytearray(w.read_bytes())
    data[len(data) // 2] ^= 0xFF
    w.write_bytes(bytes(data))
    with pytest.raises(pretrained.PretrainedError, match="does not match the hash"):
        pretrained.load("hart", folder=d)
    c = d / entry["card"]
    c.write_text(c.read_text().replace('"hart"', '"HART"', 1))
    with pytest.raises(pretrained.PretrainedError, match="card.json does not match"):
        pretrained.card("hart", folder=d)


def test_missing_and_unknown_models(tmp_path):
    with pytest.raises(pretrained.PretrainedError, match="harnb pretrain --release --model ispl"):
        pretrained.load("ispl", folder=tmp_path)
    with pytest.raises(ValueError, match="unknown model 'bert'"):
        pretrained.load("bert")


def test_normalise_matches_the_training_statistics():
    """Sensor-mode z-scoring of harnb.data.preprocess, on windows with a known mean and spread."""
    from harnb.data import preprocess
    from harnb.data.store import WindowStore

    rng = np.random.default_rng(0)
    X = (rng.normal(size=(40, 128, 6)) * [3, 2, 1, 0.5, 0.2, 0.1] + [0, 0, 9.8, 0, 0, 0.1]).astype(
        np.float32
    )
    n = len(X)
    store = WindowStore(
        X=X,
        y=np.zeros(n, np.int8),
        dataset=np.full(n, "UCI"),
        subject=np.full(n, "UCI:1"),
        device=np.full(n, "phone"),
        position=np.full(n, "waist"),
        recording=np.zeros(n, np.int32),
        start=np.zeros(n, np.float32),
    )
    ref = preprocess.normalise(store, preprocess.fit_normalisation(store))
    assert np.allclose(pretrained.normalise(X), ref, atol=1e-5)
    with pytest.raises(ValueError, match=r"\(n, time, 6\)"):
        pretrained.fit_stats(X[..., :3])


@pytest.mark.mirror
@pytest.mark.slow
def test_release_mechanism_at_a_tiny_budget(mirror, session_data, tmp_path, monkeypatch):
    """DeepConvLSTM, 4 steps on the ci profile's windows: weights, card and index are written,
    and load() gives back the trained model (float16 only where measured harmless)."""
    from harnb.data import fetch
    from harnb.pretrained.release import card_summary, make_release

    monkeypatch.setenv("HARNB_DATA", str(session_data))
    names = ["UCI", "MotionSense"]
    fetch.fetch(names, mirror=mirror, dest=session_data / "raw")
    card = make_release(
        "deepconvlstm", "ci", max_steps=4, datasets=names, out=tmp_path, progress=False
    )
    assert card["training"]["steps"] == 4 and card["training"]["budget"]["max_steps"] == 4
    assert set(card["held_out"]["test"]) == set(names)
    assert card["produced_by"].endswith(
        "--max-steps 4 --orientation none --datasets UCI MotionSense"
    )  # the command that reproduces it, the recipe and the datasets named
    assert pretrained.available(tmp_path) == ["deepconvlstm"]
    m = pretrained.load("deepconvlstm", folder=tmp_path)
    assert m.card["model"] == "deepconvlstm"
    with np.load(tmp_path / "deepconvlstm.weights.npz") as z:
        assert z["w0000"].dtype == np.dtype(card["weights_dtype"])
    assert "test macro-F1" in card_summary(card)


def test_vector_stats_and_prepare_follow_the_card():
    """fit_stats(X, "vector") is the study's vector normalisation; prepare() of a card of the
    paper's recipe (or an old card, no orientation field) is normalise(); of an align card it
    puts every window's gravity on +z before scaling, and rotations commute with it."""
    from harnb.data import orientation, preprocess
    from harnb.data.store import WindowStore

    rng = np.random.default_rng(1)
    X = (rng.normal(size=(30, 128, 6)) * [3, 2, 1, 0.5, 0.2, 0.1] + [0, 9.8, 0, 0, 0, 0.1]).astype(
        np.float32
    )
    n = len(X)
    store = WindowStore(
        X=X, y=np.zeros(n, np.int8), dataset=np.full(n, "UCI"), subject=np.full(n, "UCI:1"),
        device=np.full(n, "phone"), position=np.full(n, "waist"),
        recording=np.zeros(n, np.int32), start=np.zeros(n, np.float32),
    )  # fmt: skip
    ref = preprocess.normalise(store, preprocess.fit_normalisation(store, mode="vector"))
    st = pretrained.fit_stats(X, "vector")
    assert st["acc_mean"] == [0.0] * 3
    assert np.allclose(pretrained.normalise(X, st), ref, atol=1e-5)
    with pytest.raises(ValueError, match="normalisation mode"):
        pretrained.fit_stats(X, "channel")

    old = {"preprocessing": {"normalisation": {"mode": "sensor: ..."}}}
    none = {"preprocessing": {"orientation": {"arm": "none", "mode": "none"}}}
    for card in (old, none, {}):
        assert np.allclose(pretrained.prepare(X, card), pretrained.normalise(X), atol=1e-6)
    align = {
        "preprocessing": {
            "orientation": {"arm": "align", **orientation.ARMS["align"].key()},
            "normalisation": {"kind": "vector"},
        }
    }
    Xa = pretrained.orient(X, align)
    g = orientation.gravity(Xa)
    assert np.allclose(g[:, :2], 0, atol=1e-3) and (g[:, 2] > 9).all()
    R = orientation.random_rotations(1, 0)[0]
    rotated = orientation.rotate(Xa, np.broadcast_to(R, (n, 3, 3)))
    assert np.allclose(
        pretrained.prepare(
            rotated, none | {"preprocessing": {"normalisation": {"kind": "vector"}}}
        ),
        orientation.rotate(pretrained.prepare(Xa, align), np.broadcast_to(R, (n, 3, 3))),
        atol=1e-4,
    )
    bad = {"preprocessing": {"normalisation": {"kind": "quantile"}}}
    with pytest.raises(pretrained.PretrainedError, match="quantile"):
        pretrained.prepare(X, bad)


@pytest.mark.mirror
def test_release_with_an_orientation_arm_and_finetuning_from_it(
    mirror, session_data, tmp_path, monkeypatch
):
    """`harnb pretrain --release --orientation align+heading`, 4 steps: the card names the arm,
    its vector statistics (no offset) come from aligned windows, and the user path prepares a
    user's windows the same way (gravity on +z, vector scale, per recording)."""
    from harnb.data import fetch, orientation, preprocess
    from harnb.pretrained import finetune
    from harnb.pretrained.release import make_release

    monkeypatch.setenv("HARNB_DATA", str(session_data))
    names = ["UCI", "MotionSense"]
    fetch.fetch(names, mirror=mirror, dest=session_data / "raw")
    card = make_release(
        "hart", "ci", max_steps=4, datasets=names, out=tmp_path, progress=False,
        arm="align+heading",
    )  # fmt: skip
    pre = card["preprocessing"]
    assert pre["orientation"] == {"arm": "align+heading", "mode": "align+heading", "axis": "z",
                                  "per": "window", "copies": 4}  # fmt: skip
    assert pre["normalisation"]["kind"] == "vector"
    assert pre["normalisation"]["per_dataset"]["UCI"]["acc_mean"] == [0.0] * 3
    assert (
        "harnb.pretrained.prepare" in pre["text"]
        and "--orientation align+heading" in (card["produced_by"])
    )
    m = pretrained.load("hart", folder=tmp_path)
    assert pretrained.norm_kind(m.card) == "vector"

    uci = preprocess.load_windows(["UCI"], progress=False)
    ud = finetune.UserData(name="uci", store=uci, classes=tuple(CLASSES), recordings=[])
    X, stats = finetune.normalise_user(ud, ud.subjects[:5], card)
    assert stats["acc_mean"] == [0.0] * 3
    g = orientation.gravity(X)
    assert np.allclose(g[:, :2], 0, atol=1e-3) and (g[:, 2] > 0).all()
    ft_card = {"preprocessing": {**pre, "normalisation": {"kind": "vector", "stats": stats}}}
    assert np.allclose(finetune.pretrained_normalise(uci.X, ft_card), X, atol=1e-5)
    assert "gravity" in finetune._input_text(["a", "b"], card)


@pytest.mark.mirror
@pytest.mark.slow
def test_released_hart_reproduces_its_card_on_the_held_out_subjects(mirror, session_data):
    """The card's statistics, split and UCI test score are what the released weights give."""
    from harnb.data import fetch, preprocess, splits
    from harnb.pretrained.release import release_split
    from harnb.training import evaluate, train
    from harnb.training.folds import data_key

    card = pretrained.card("hart")
    names = list(card["training_data"]["datasets"])  # the store's order: part of its data key
    mp = pytest.MonkeyPatch()
    mp.setenv("HARNB_DATA", str(session_data))
    try:
        fetch.fetch(names, mirror=mirror, dest=session_data / "raw")
        store = preprocess.load_windows(names, progress=False)
    finally:
        mp.undo()
    if data_key(store) != card["training_data"]["data_key"]:
        pytest.skip("this mirror's windows are not the ones the release was trained on")
    parts = release_split(store)["UCI"]
    assert len(parts["test"]) == card["held_out"]["test"]["UCI"]["windows"]
    uci = store.select(parts["test"])
    stats = card["preprocessing"]["normalisation"]["per_dataset"]["UCI"]
    X = pretrained.prepare(uci.X, card, stats, groups=np.asarray(uci.recording))  # any recipe
    pred = train.predict_labels(pretrained.load("hart"), X)
    f1 = evaluate.macro_f1(uci.y, pred, splits.classes_of(store, "UCI"))
    assert f1 == pytest.approx(
        card["held_out"]["test_float16_weights"]["UCI"]["macro_f1"], abs=2e-3
    )
