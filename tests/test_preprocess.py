"""Preprocessing invariants (synthetic recordings) and the real windows store (mirror)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest

from harnb.config import CLASSES, HOP, WINDOW
from harnb.data import preprocess as pp
from harnb.data import store as store_mod
from harnb.data.datasets.base import Recording, Stream
from harnb.data.preprocess import (
    NormStats,
    PreprocessConfig,
    WindowStore,
    build_windows,
    fit_normalisation,
    load_windows,
    normalise,
    resample_recording,
    window_count,
    window_segments,
    window_starts,
)

RNG = np.random.default_rng(0)


def times(duration: float, rate: float, jitter: float = 0.0, t0: float = 0.0) -> np.ndarray:
    """Sample times at ``rate`` with relative jitter (like MobiAct's irregular ~87 Hz)."""
    n = int(duration * rate)
    dt = np.full(n, 1.0 / rate)
    if jitter:
        dt *= 1 + RNG.uniform(-jitter, jitter, n)
    return t0 + np.r_[0.0, np.cumsum(dt[:-1])]


def rec(
    ta: np.ndarray,
    tg: np.ndarray | None = None,
    labels=None,
    acc=None,
    gyro=None,
    dataset: str = "UCI",
    subject: str = "1",
    session: str = "s",
) -> Recording:
    """A synthetic recording: by default acc_x = t (time ramp), other channels noise."""
    tg = ta if tg is None else tg
    acc = np.column_stack([ta, RNG.normal(size=(len(ta), 2))]) if acc is None else acc
    gyro = RNG.normal(size=(len(tg), 3)) if gyro is None else gyro
    lab = np.zeros(len(ta), np.int8) if labels is None else labels(ta).astype(np.int8)
    return Recording(
        dataset=dataset,
        subject=subject,
        session=session,
        device="phone",
        position="waist",
        acc=Stream(ta, acc),
        gyro=Stream(tg, gyro),
        labels=lab,
        nominal_rate=50.0,
    )


# --------------------------------------------------------------------------- windowing


@pytest.mark.parametrize(
    "n,expected",
    [(WINDOW - 1, 0), (WINDOW, 1), (WINDOW + HOP - 1, 1), (WINDOW + HOP, 2), (1000, 14)],
)
def test_window_count_takes_last_full_window(n: int, expected: int) -> None:
    assert window_count(n, WINDOW, HOP) == expected
    assert len(window_starts(np.zeros(n, np.int8), None, WINDOW, HOP)) == expected


def test_window_count_vectorised() -> None:
    n = np.arange(0, 2000)
    brute = np.array([len(range(0, k - WINDOW + 1, HOP)) if k >= WINDOW else 0 for k in n])
    np.testing.assert_array_equal(window_count(n), brute)


def test_window_starts_respect_runs_breaks_and_drop_minus_one() -> None:
    y = np.r_[np.zeros(300), np.full(200, -1), np.full(128, 3), np.full(127, 4), np.full(400, 5)]
    y = y.astype(np.int8)
    breaks = np.zeros(len(y), bool)
    breaks[755 + 150] = True  # a gap inside the class-5 run
    st = window_starts(y, breaks, 128, 64)
    run_id = np.cumsum(np.r_[True, (y[1:] != y[:-1]) | breaks[1:]])
    for s in st:  # check (test side only): each window lies inside one labelled run
        assert run_id[s] == run_id[s + 127] and y[s] >= 0
    # 300 -> 3, -1 run -> 0, 128 -> 1, 127 -> 0, class 5 split 150 + 250 -> 1 + 2
    assert len(st) == 3 + 0 + 1 + 0 + 1 + 2


def test_windows_never_cross_gap_or_label_boundary() -> None:
    ta = times(60, 50.0)
    ta = ta[(ta < 20) | (ta > 21)]  # a 1 s acc gap
    tg = times(60, 50.0)
    tg = tg[(tg < 40) | (tg > 40.5)]  # a 0.5 s gyro-only gap

    def lab(t):
        return np.select([t < 10, t < 33.3], [1, 4], 5)

    r = rec(ta, tg, labels=lab)
    segs = resample_recording(r, 50.0, 0.2)
    assert len(segs) == 3
    X, y, start = window_segments(segs)
    assert X.shape[1:] == (WINDOW, 6) and X.dtype == np.float32 and len(X) > 0
    # acc_x is the time ramp, passed through unfiltered at 50 Hz: a window has no jump in it.
    np.testing.assert_allclose(np.diff(X[:, :, 0], axis=1), 0.02, atol=1e-4)
    end = start + (WINDOW - 1) / 50.0
    for gap in ((20, 21), (40, 40.5)):
        assert not np.any((start < gap[1]) & (end > gap[0]))
    np.testing.assert_array_equal(lab(start), y)
    np.testing.assert_array_equal(lab(end), y)  # one label across the window


def test_minus_one_labels_are_dropped_not_relabelled() -> None:
    ta = times(40, 50.0)
    r = rec(ta, labels=lambda t: np.where((t > 10) & (t < 25), -1, 2))
    segs = resample_recording(r)
    assert any((s[2] == -1).any() for s in segs)  # still in the signal...
    X, y, start = window_segments(segs)
    assert set(np.unique(y)) == {2}  # ...never in a window
    end = start + (WINDOW - 1) / 50.0
    assert not np.any((start < 25) & (end > 10))
    # 0..10 s and 25..40 s: 501 and 749 samples -> 6 and 10 windows
    assert len(y) == window_count(501) + window_count(749)


def test_acc_and_gyro_share_one_grid_over_their_overlap() -> None:
    ta = times(10, 50.0)
    tg = times(10, 200.0, t0=2.013)
    segs = resample_recording(rec(ta, tg))
    assert len(segs) == 1
    t, X, y = segs[0]
    assert t[0] == pytest.approx(2.013) and t[-1] <= ta[-1] + 1e-9
    np.testing.assert_allclose(np.diff(t), 0.02)
    assert X.shape == (len(t), 6) and y.shape == (len(t),)


def test_irregular_timestamps_are_sorted_and_deduplicated() -> None:
    ta = times(10, 87.0, jitter=0.3)
    ta = np.r_[ta, ta[100:110]]  # duplicates, out of order
    segs = resample_recording(rec(ta, acc=np.column_stack([ta, ta, ta])))
    t, X, _ = segs[0]
    np.testing.assert_allclose(X[5:-5, 0], t[5:-5], atol=1e-6)  # ramp survives


def _spectrum(x: np.ndarray, rate: float) -> tuple[np.ndarray, np.ndarray]:
    x = x - x.mean()
    amp = np.abs(np.fft.rfft(x * np.hanning(len(x)))) / (np.hanning(len(x)).sum() / 2)
    return np.fft.rfftfreq(len(x), 1 / rate), amp


@pytest.mark.parametrize("rate,jitter", [(87.0, 0.25), (200.0, 0.0), (100.0, 0.02)])
def test_resampling_keeps_frequency_and_removes_aliases(rate: float, jitter: float) -> None:
    """5 Hz survives at 5 Hz; a 40 Hz component (would alias to 10 Hz) is filtered out."""
    t = times(60, rate, jitter)
    sig = np.sin(2 * np.pi * 5 * t) + np.sin(2 * np.pi * 40 * t)
    xyz = np.column_stack([sig, sig, sig])
    segs = resample_recording(rec(t, t, acc=xyz, gyro=xyz))
    assert len(segs) == 1
    ts, X, _ = segs[0]
    np.testing.assert_allclose(np.diff(ts), 0.02)
    for c in (0, 3):
        f, a = _spectrum(X[:, c], 50.0)
        assert f[np.argmax(a)] == pytest.approx(5.0, abs=0.05)
        assert a[np.argmin(np.abs(f - 5))] == pytest.approx(1.0, abs=0.05)
        alias = a[np.abs(f - 10) < 0.2].max()
        assert alias < 0.05, f"40 Hz aliased to 10 Hz with amplitude {alias:.3f}"
    # Naive picking without a low-pass would keep the alias: the test can tell them apart.
    pick = np.interp(ts, t, sig)
    f, a = _spectrum(pick, 50.0)
    assert a[np.abs(f - 10) < 0.2].max() > 0.3


def test_50hz_streams_pass_through_unfiltered() -> None:
    t = times(20, 50.0)
    x = RNG.normal(size=(len(t), 3))
    ((ts, X, _),) = resample_recording(rec(t, acc=x, gyro=x))
    np.testing.assert_allclose(X[:, :3], x[: len(ts)], atol=1e-9)
    np.testing.assert_allclose(X[:, 3:], x[: len(ts)], atol=1e-9)


def test_nan_samples_become_gaps() -> None:
    t = times(30, 50.0)
    acc = np.column_stack([t, t, t])
    acc[(t > 10) & (t < 11)] = np.nan
    segs = resample_recording(rec(t, acc=acc))
    assert len(segs) == 2
    assert all(np.isfinite(s[1]).all() for s in segs)


# --------------------------------------------------------------------------- store


def make_store(dataset: str = "UCI", subjects=("1", "2", "3"), scale: float = 1.0) -> WindowStore:
    recs = []
    for i, s in enumerate(subjects):
        t = times(30, 50.0)
        acc = RNG.normal(3.0 + i, 2.0 * scale, size=(len(t), 3))
        acc[:, 2] += 9.8
        gyro = RNG.normal(0.1 * i, 0.5, size=(len(t), 3))
        recs.append(
            rec(t, acc=acc, gyro=gyro, dataset=dataset, subject=s, labels=lambda t: (t > 15) * 5)
        )
    st, table = pp.windows_from_recordings(recs)
    assert len(table) == len(subjects)
    return st


def test_store_select_concat_summary() -> None:
    a, b = make_store("UCI"), make_store("MotionSense", subjects=("1", "2"))
    both = WindowStore.concat([a, b])
    assert len(both) == len(a) + len(b)
    assert both.datasets() == ["UCI", "MotionSense"]
    assert set(both.subject) == {"UCI:1", "UCI:2", "UCI:3", "MotionSense:1", "MotionSense:2"}
    assert len(np.unique(both.recording)) == 5  # ids stay unique across datasets
    summ = both.summary()
    assert summ.loc["UCI", "subjects"] == 3 and summ.loc["MotionSense", "windows"] == len(b)
    assert summ.loc["UCI", "classes"] == 2
    assert summ.loc["UCI", CLASSES[0]] + summ.loc["UCI", CLASSES[5]] == len(a)
    sub = both.select(both.dataset == "MotionSense")
    np.testing.assert_array_equal(sub.X, b.X)
    assert len(both.select(np.arange(3))) == 3
    with pytest.raises(ValueError, match="mask"):
        both.select(np.ones(3, bool))


# --------------------------------------------------------------------------- normalisation


@pytest.mark.parametrize("mode", ["sensor", "channel"])
def test_normalisation_uses_only_chosen_subjects(mode: str) -> None:
    st = WindowStore.concat([make_store("UCI"), make_store("MotionSense", scale=3.0)])
    train = np.isin(st.subject, ["UCI:1", "UCI:2", "MotionSense:1", "MotionSense:3"])
    stats = fit_normalisation(st, train, mode=mode)
    Z = normalise(st, stats)
    assert Z.dtype == np.float32 and Z.shape == st.X.shape
    for name in ("UCI", "MotionSense"):
        z = Z[train & (st.dataset == name)].astype(np.float64)
        if mode == "sensor":
            for s in (slice(0, 3), slice(3, 6)):
                assert abs(z[..., s].mean()) < 1e-5 and abs(z[..., s].std() - 1) < 1e-5
            assert np.ptp(stats[name].acc_mean) == 0  # one value pooled over the axes
        else:
            np.testing.assert_allclose(z.mean(axis=(0, 1)), 0, atol=1e-5)
            np.testing.assert_allclose(z.std(axis=(0, 1)), 1, atol=1e-5)
    # Non-chosen subjects do not move the statistics.
    st.X[~train] *= 100.0
    again = fit_normalisation(st, np.flatnonzero(train), mode=mode)
    for name in stats:
        np.testing.assert_allclose(again[name].mean, stats[name].mean)
        np.testing.assert_allclose(again[name].std, stats[name].std)
    assert NormStats.from_dict(stats["UCI"].to_dict()).mean.tolist() == stats["UCI"].mean.tolist()


def test_normalisation_matches_numpy_reference() -> None:
    st = make_store()
    s = fit_normalisation(st)["UCI"]
    acc = st.X[..., :3].astype(np.float64)
    assert s.acc_mean[0] == pytest.approx(acc.mean()) and s.acc_std[1] == pytest.approx(acc.std())
    c = fit_normalisation(st, mode="channel")["UCI"]
    np.testing.assert_allclose(c.std, st.X.astype(np.float64).std(axis=(0, 1)))


def test_normalisation_bad_input() -> None:
    st = make_store()
    with pytest.raises(ValueError, match="mode"):
        fit_normalisation(st, mode="global")
    with pytest.raises(ValueError, match="no window"):
        fit_normalisation(st, np.zeros(len(st), bool))
    with pytest.raises(KeyError, match="UCI"):
        normalise(st, {"MotionSense": fit_normalisation(st)["UCI"]})


# --------------------------------------------------------------------------- cache


@pytest.fixture
def fake_data(tmp_path, monkeypatch):
    """An isolated HARNB_DATA with a fake loader whose raw fingerprint and code can change."""
    monkeypatch.setenv("HARNB_DATA", str(tmp_path))
    state = {"fp": "raw-v1", "loads": 0}
    loader_src = tmp_path / "fake_loader.py"
    loader_src.write_text("# v1\n")

    def load(name, root, options):
        state["loads"] += 1
        subjects = ("1", "2") if name == "UCI" else ("a",)
        return [
            rec(times(20, 50.0), dataset=name, subject=s, labels=lambda t: (t > 8) * 3)
            for s in subjects
        ]

    monkeypatch.setattr(pp, "_fingerprint", lambda name, root: f"{state['fp']}-{name}")
    monkeypatch.setattr(pp, "_load_recordings", load)
    monkeypatch.setattr(pp, "_loader_files", lambda name: [loader_src])
    state["src"] = loader_src
    return state


def _dirs(tmp: Path, name: str = "UCI") -> list[Path]:
    return sorted((tmp / "processed").glob(f"{name}-*"))


def test_cache_reused_then_rebuilt_on_any_change(fake_data, tmp_path) -> None:
    a = build_windows("UCI", progress=False)
    assert fake_data["loads"] == 1 and len(_dirs(tmp_path)) == 1
    t0 = time.perf_counter()
    b = build_windows("UCI", progress=False)
    assert fake_data["loads"] == 1 and time.perf_counter() - t0 < 1.0  # reused
    np.testing.assert_array_equal(a.X, b.X)
    assert list(a.subject) == list(b.subject) and list(a.device) == list(b.device)
    meta = json.loads((_dirs(tmp_path)[0] / "meta.json").read_text())
    assert meta["complete"] and meta["n_windows"] == len(a) and len(meta["recordings"]) == 2

    build_windows("UCI", PreprocessConfig(hop=32), progress=False)  # config change
    assert fake_data["loads"] == 2 and len(_dirs(tmp_path)) == 2
    # another dataset's loader options do not touch this dataset's key
    build_windows(
        "UCI", PreprocessConfig(loader_options={"PAMAP2": {"position": "chest"}}), progress=False
    )
    assert fake_data["loads"] == 2
    fake_data["fp"] = "raw-v2"  # raw data change
    build_windows("UCI", progress=False)
    assert fake_data["loads"] == 3
    fake_data["src"].write_text("# v2\n")  # code change
    build_windows("UCI", progress=False)
    assert fake_data["loads"] == 4
    build_windows("UCI", progress=False, force=True)
    assert fake_data["loads"] == 5 and len(_dirs(tmp_path)) == 4


def test_incomplete_or_temp_dirs_are_never_trusted(fake_data, tmp_path) -> None:
    good = build_windows("UCI", progress=False)
    (folder,) = _dirs(tmp_path)
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").unlink()  # a crash before meta.json: ignored, rebuilt
    assert build_windows("UCI", progress=False).X.shape == good.X.shape
    assert fake_data["loads"] == 2
    meta["complete"] = False
    (folder / "meta.json").write_text(json.dumps(meta))
    build_windows("UCI", progress=False)
    assert fake_data["loads"] == 3
    np.save(folder / "y.npy", np.zeros(3, np.int8))  # truncated content: rebuilt too
    build_windows("UCI", progress=False)
    assert fake_data["loads"] == 4
    # A temp dir from a crashed build, with a complete-looking meta.json, is not the cache.
    tmpdir = folder.parent / f"{store_mod.TMP_PREFIX}{folder.name}-x"
    tmpdir.mkdir()
    (tmpdir / "meta.json").write_text(json.dumps(meta | {"complete": True}))
    os.utime(tmpdir, (0, 0))
    build_windows("UCI", progress=False)
    assert fake_data["loads"] == 4
    build_windows("UCI", progress=False, force=True)
    assert not tmpdir.exists()  # stale temp dirs are swept after a build


def test_crash_during_write_leaves_no_trusted_cache(fake_data, tmp_path, monkeypatch) -> None:
    real_save = np.save
    calls = {"n": 0}

    def failing_save(path, arr, *a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real_save(path, arr, *a, **k)

    monkeypatch.setattr(store_mod.np, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        build_windows("UCI", progress=False)
    assert _dirs(tmp_path) == [] and list((tmp_path / "processed").iterdir()) == []
    monkeypatch.setattr(store_mod.np, "save", real_save)
    assert len(build_windows("UCI", progress=False)) > 0


def test_load_windows_concatenates(fake_data) -> None:
    st = load_windows(["UCI", "MotionSense"], progress=False)
    assert st.datasets() == ["UCI", "MotionSense"]
    assert set(st.subject) == {"UCI:1", "UCI:2", "MotionSense:a"}
    assert set(np.unique(st.y)) == {0, 3}


def test_bad_input_gives_clear_errors(fake_data, monkeypatch) -> None:
    with pytest.raises(ValueError, match="unknown dataset 'Foo'"):
        build_windows("Foo")
    with pytest.raises(ValueError, match="unknown dataset"):
        load_windows(["UCI", "uci"])
    with pytest.raises(ValueError, match="window"):
        PreprocessConfig(window=0)
    with pytest.raises(ValueError, match="hop"):
        PreprocessConfig(hop=1.5)
    with pytest.raises(ValueError, match="max_gap_s"):
        PreprocessConfig(max_gap_s=0.001)
    with pytest.raises(ValueError, match="unknown datasets"):
        PreprocessConfig(loader_options={"Pamap": {}})
    with pytest.raises(ValueError, match="no window of 2000 samples"):
        build_windows("UCI", PreprocessConfig(window=2000), progress=False)
    assert window_segments([], 128, 64)[0].shape == (0, 128, 6)


def test_config_key_is_stable_and_sensitive() -> None:
    assert PreprocessConfig().key() == PreprocessConfig().key()
    assert PreprocessConfig().key() != PreprocessConfig(max_gap_s=0.3).key()
    c = PreprocessConfig(loader_options={"PAMAP2": {"position": "chest"}})
    assert c.key("UCI") == PreprocessConfig().key("UCI") and c.key(
        "PAMAP2"
    ) != PreprocessConfig().key("PAMAP2")


# --------------------------------------------------------------------------- real data

MIRROR_SUBJECTS = {"UCI": 30, "MotionSense": 24, "MobiAct": 9}


@pytest.mark.mirror
def test_real_store_from_mirror(mirror, session_data, monkeypatch) -> None:
    """Build the real store of the mirror datasets; reload it in under a second."""
    datasets = pytest.importorskip("harnb.data.datasets")
    fetch = pytest.importorskip("harnb.data.fetch")
    if not hasattr(datasets, "load"):
        pytest.skip("dataset loaders not available yet")
    monkeypatch.setenv("HARNB_DATA", str(session_data))
    names = list(MIRROR_SUBJECTS)
    fetch.fetch(names, mirror=mirror, dest=session_data / "raw")
    for n in names:
        build_windows(n, progress=False)
    best = float("inf")
    for _ in range(3):  # best of three: the CI machine's other jobs should not fail this
        t0 = time.perf_counter()
        st = load_windows(names, progress=False)
        best = min(best, time.perf_counter() - t0)
    assert best < 1.0, f"loading {len(st)} windows took {best:.2f} s"
    summ = st.summary()
    for n, k in MIRROR_SUBJECTS.items():
        assert summ.loc[n, "subjects"] == k, summ
        assert summ.loc[n, "windows"] > 1000
    assert st.X.dtype == np.float32 and np.isfinite(st.X).all()
    assert (st.y >= 0).all() and (st.y < len(CLASSES)).all()
    # acc in m/s² with gravity: the mean |acc| sits near 9.8 for every dataset
    for n in names:
        g = np.linalg.norm(st.X[st.dataset == n][..., :3], axis=-1).mean()
        assert 8.0 < g < 11.5, (n, g)
    assert summ.loc["MotionSense", "classes"] == 6 and summ.loc["UCI", "classes"] == 6


def test_slow_start_up_phase_is_a_gap() -> None:
    """MobiFall streams open with ~1.5 s at 5 Hz (0.2 s steps): not interpolated, not windowed."""
    slow = np.arange(8) * 0.199
    ta = np.r_[slow, slow[-1] + 0.199 + times(20, 87.0, jitter=0.2)]
    tg = times(22, 200.0)
    segs = resample_recording(rec(ta, tg))
    assert len(segs) == 1 and segs[0][0][0] >= slow[-1] + 0.199 - 1e-9
    segs = resample_recording(rec(ta, tg), max_gap_rel=1e6)  # absolute threshold only
    assert segs[0][0][0] < 0.2


def test_passthrough_equals_general_path() -> None:
    """Shared 50 Hz timestamps skip interpolation; the result is what interpolation gives."""
    t = times(30, 50.0)
    t = t[(t < 12) | (t > 13)]
    x = RNG.normal(size=(len(t), 3))
    labels = lambda t: (t > 20) * 3  # noqa: E731
    fast = resample_recording(rec(t, t, acc=x, gyro=x, labels=labels))
    slow = resample_recording(rec(t, t + 1e-9, acc=x, gyro=x, labels=labels))
    assert len(fast) == len(slow) == 2
    for (tf, xf, yf), (ts, xs, ys) in zip(fast, slow, strict=True):
        assert len(tf) == len(ts)
        np.testing.assert_allclose(xf, xs, atol=1e-6)
        np.testing.assert_array_equal(yf, ys)


def test_window_start_is_relative_to_the_recording() -> None:
    """Epoch clocks (HHAR: ns since 1970) keep their sub-ms spacing in the float32 starts."""
    t = times(10, 200.0, t0=1.4e9)
    st, table = pp.windows_from_recordings([rec(t, t + 0.003)])
    assert table[0]["t0"] == pytest.approx(1.4e9)
    np.testing.assert_allclose(np.diff(st.start), HOP / 50.0, atol=1e-4)
    assert 0 <= st.start[0] < 0.1
