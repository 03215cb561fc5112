"""Preprocessing: raw recordings -> one 50 Hz grid -> 128-sample windows -> a cached store.

What this does differently from the released code (reference §2–§3), and why:

* Each *continuous recording* is resampled once, by timestamp, onto a 50 Hz grid shared by the
  accelerometer and the gyroscope (the released code decimated window by window, with filter
  edge effects in every window, and paired HHAR/RealWorld gyro rows by position, not time).
* Higher rates are anti-aliased: linear interpolation onto a uniform grid at ``q·50 Hz``
  (``q = ceil(rate/50)``), then a zero-phase polyphase FIR low-pass and every ``q``-th sample
  (``scipy.signal.resample_poly``). Streams already at 50 Hz are interpolated, not filtered.
* A recording is split where either sensor has a gap longer than ``max_gap_s`` (or than
  ``max_gap_rel`` times its median sampling step, which catches MobiFall's 5 Hz start-up
  phase, 0.2 s steps, without splitting on ordinary jitter): nothing is
  interpolated across a gap, and no window spans one.
* Samples labelled ``-1`` (outside the 10-class union) are dropped, never relabelled (bug B-P1).
* Windows never cross a recording, gap or label boundary, so every window has one true label
  (no mode labels), and the last full window is taken (bug B-C1): ``floor((N-W)/hop) + 1``.
* Normalisation is *not* baked in: the store keeps SI units, and :func:`fit_normalisation`
  computes per-dataset statistics from whichever subjects a split calls "training" (B-C2).

Everything is vectorised over samples and windows; the only Python loops are over recordings,
continuous segments and datasets.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal

from harnb.data import store as _store_mod
from harnb.config import DATASETS, HOP, RATE_HZ, WINDOW, processed_dir
from harnb.data.datasets.base import Recording
from harnb.data.store import WindowStore, read_store_dir, remove_stale_temp, write_store_dir

__all__ = [
    "PreprocessConfig",
    "WindowStore",
    "NormStats",
    "Segment",
    "build_windows",
    "load_windows",
    "resample_recording",
    "window_segments",
    "window_count",
    "window_starts",
    "fit_normalisation",
    "normalise",
    "cache_key",
    "cache_dir",
    "code_version",
]

log = logging.getLogger(__name__)

#: One continuous, gap-free piece of a recording on the 50 Hz grid: times (n,), values (n, 6)
#: (acc xyz in m/s², gyro xyz in rad/s), union labels (n,) int8 with -1 = drop.
Segment = tuple[np.ndarray, np.ndarray, np.ndarray]

#: A stream is "already at the target rate" when its median rate is within this factor of it.
_RATE_TOLERANCE = 0.05


@dataclass(frozen=True)
class PreprocessConfig:
    """Every setting that changes the windows; all of it goes into the cache key.

    ``loader_options`` maps a dataset name to keyword arguments for its loader, e.g.
    ``{"PAMAP2": {"position": "chest"}}``; only a dataset's own options enter its cache key.
    ``label_rule`` says how acc-sample labels reach the grid: ``"previous"`` (the label of the
    latest acc sample at or before the grid time) or ``"nearest"``. A sensor step longer than
    ``max_gap_s`` seconds, or than ``max_gap_rel`` times the stream's median step, is a gap.
    """

    rate: float = RATE_HZ
    window: int = WINDOW
    hop: int = HOP
    max_gap_s: float = 0.2
    max_gap_rel: float = 5.0
    label_rule: str = "previous"
    loader_options: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)):
            raise ValueError(f"rate must be a positive number of Hz, got {self.rate!r}")
        if int(self.window) != self.window or self.window < 1:
            raise ValueError(f"window must be a positive integer, got {self.window!r}")
        if int(self.hop) != self.hop or self.hop < 1:
            raise ValueError(f"hop must be a positive integer, got {self.hop!r}")
        if not self.max_gap_s > 0:
            raise ValueError(f"max_gap_s must be > 0, got {self.max_gap_s!r}")
        if self.max_gap_s < 1.0 / self.rate:
            raise ValueError(
                f"max_gap_s={self.max_gap_s} is shorter than one output sample (1/{self.rate} s)"
            )
        if not self.max_gap_rel > 1:
            raise ValueError(f"max_gap_rel must be > 1 (median steps), got {self.max_gap_rel!r}")
        if self.label_rule not in ("previous", "nearest"):
            raise ValueError(f"label_rule must be 'previous' or 'nearest', got {self.label_rule!r}")
        from harnb.data.datasets import names

        unknown = set(self.loader_options) - set(names())
        if unknown:
            raise ValueError(f"loader_options for unknown datasets {sorted(unknown)}")

    def options_for(self, name: str) -> dict[str, Any]:
        """The loader keyword arguments for one dataset."""
        return dict(self.loader_options.get(name, {}))

    def as_dict(self, name: str | None = None) -> dict[str, Any]:
        """JSON-able settings; with ``name``, only that dataset's loader options."""
        d = asdict(self)
        d["rate"], d["window"], d["hop"] = float(self.rate), int(self.window), int(self.hop)
        d["max_gap_s"], d["max_gap_rel"] = float(self.max_gap_s), float(self.max_gap_rel)
        if name is not None:
            d["loader_options"] = self.options_for(name)
        return d

    def key(self, name: str | None = None) -> str:
        """sha256 of the settings (for one dataset when ``name`` is given)."""
        blob = json.dumps(self.as_dict(name), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


# --------------------------------------------------------------------------- resampling


def _clean(t: np.ndarray, x: np.ndarray) -> np.ndarray | slice:
    """The usable samples, in time order: finite, strictly increasing timestamps.

    Returns ``slice(None)`` when every sample is usable (the common case: no copy needed).
    """
    t = np.asarray(t, dtype=np.float64)
    # Fast check first (one pass, no per-row reduction): a finite sum means every value is
    # finite; an overflowing or non-finite sum takes the exact per-row path below.
    if np.isfinite(t.sum()) and np.isfinite(x.sum()) and (len(t) < 2 or (t[1:] > t[:-1]).all()):
        return slice(None)
    finite = np.isfinite(t) & np.isfinite(x).all(axis=1)
    if finite.all() and (len(t) < 2 or np.all(np.diff(t) > 0)):
        return slice(None)
    ok = np.flatnonzero(finite)
    if len(ok) > 1 and np.any(np.diff(t[ok]) < 0):
        ok = ok[np.argsort(t[ok], kind="stable")]
    if len(ok) > 1:
        ok = ok[np.r_[True, np.diff(t[ok]) > 0]]  # duplicates: keep the first
    return ok


def _pieces(t: np.ndarray, max_gap_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times of the runs of ``t`` with no step longer than ``max_gap_s``."""
    brk = np.flatnonzero(np.diff(t) > max_gap_s)
    return t[np.r_[0, brk + 1]], t[np.r_[brk, len(t) - 1]]


def _intersect(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]):
    """Pairwise overlaps of two sorted lists of disjoint intervals, as (lo, hi) arrays."""
    (as_, ae), (bs, be) = a, b
    first = np.searchsorted(be, as_, side="left")  # first b piece ending at/after a's start
    last = np.searchsorted(bs, ae, side="right")  # b pieces starting at/before a's end
    cnt = np.maximum(last - first, 0)
    ai = np.repeat(np.arange(len(as_)), cnt)
    bj = np.repeat(first, cnt) + (np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt))
    lo, hi = np.maximum(as_[ai], bs[bj]), np.minimum(ae[ai], be[bj])
    keep = hi > lo
    return lo[keep], hi[keep]


def _gap_and_rate(t: np.ndarray, max_gap_s: float, max_gap_rel: float) -> tuple[float, float]:
    """The stream's gap threshold (s) and its median sampling rate inside gap-free pieces."""
    d = np.diff(t)
    med = float(np.median(d))
    gap = min(max_gap_s, max_gap_rel * med)
    inside = d <= gap
    if not inside.all():  # the rare stream with gaps: median of the gap-free steps only
        d = d[inside]
        med = float(np.median(d)) if len(d) else float("nan")
    return gap, 1.0 / med


def _factor(stream_rate: float, rate: float) -> int:
    """Oversampling factor q: the fine grid q·rate is at least the stream's own rate."""
    if not math.isfinite(stream_rate):
        return 1
    return max(1, math.ceil(stream_rate / rate - _RATE_TOLERANCE))


@functools.lru_cache(maxsize=16)
def _lowpass(q: int) -> np.ndarray:
    """resample_poly's own default FIR for down-sampling by q, designed once per q."""
    return signal.firwin(2 * 10 * q + 1, 1.0 / q, window=("kaiser", 5.0))


def _onto_grid(t: np.ndarray, x: np.ndarray, lo: float, n: int, rate: float, q: int) -> np.ndarray:
    """Values of one continuous stream piece at ``lo + k/rate``, k < n (anti-aliased if q > 1)."""
    fine_rate = rate * q
    nf = (n - 1) * q + 1
    grid = lo + np.arange(nf) / fine_rate
    i0 = max(int(np.searchsorted(t, lo, side="right")) - 1, 0)
    i1 = min(int(np.searchsorted(t, grid[-1], side="left")) + 1, len(t))
    ts, xs = t[i0:i1], x[i0:i1]
    xf = np.column_stack([np.interp(grid, ts, xs[:, c]) for c in range(x.shape[1])])
    if q == 1:
        return xf
    # Zero-phase polyphase FIR low-pass (cut-off at the output Nyquist) + keep every q-th
    # sample; 'line' padding extrapolates the edges instead of assuming zeros beyond them.
    return signal.resample_poly(xf, 1, q, axis=0, window=_lowpass(q), padtype="line")[:n]


def _passthrough(ta: np.ndarray, tg: np.ndarray, rate: float, gap: float) -> np.ndarray | None:
    """Where to split when acc and gyro share timestamps sampled exactly at ``rate``, else None.

    Such recordings (UCI, MotionSense) are already on a 50 Hz grid: they are passed through
    unfiltered and uninterpolated, split only at gaps.
    """
    if len(ta) != len(tg) or not np.array_equal(ta, tg):
        return None
    step = np.diff(ta) * rate
    regular = np.abs(step - 1.0) < 1e-6
    if not np.all(regular | (step > gap * rate)):
        return None
    return np.flatnonzero(~regular) + 1


def resample_recording(
    rec: Recording,
    rate: float = RATE_HZ,
    max_gap_s: float = 0.2,
    label_rule: str = "previous",
    max_gap_rel: float = 5.0,
) -> list[Segment]:
    """Put a recording's acc and gyro on one uniform grid at ``rate``, split at gaps.

    The grid covers only the time where *both* sensors have samples with no gap longer than
    ``max_gap_s`` (or ``max_gap_rel`` median steps); each such stretch becomes one segment
    ``(t, X(n, 6), y(n,))``. Labels come from the acc samples by time. Segments shorter than two
    samples are left out.
    """
    if rate <= 0 or max_gap_s <= 0 or max_gap_rel <= 1:
        raise ValueError(
            f"need rate > 0, max_gap_s > 0, max_gap_rel > 1: {rate}, {max_gap_s}, {max_gap_rel}"
        )
    where = f"{rec.dataset}/{rec.subject}/{rec.session}"
    ia = _clean(rec.acc.t, rec.acc.xyz)
    ig = _clean(rec.gyro.t, rec.gyro.xyz)
    ta, xa, la = np.asarray(rec.acc.t, np.float64)[ia], rec.acc.xyz[ia], rec.labels[ia]
    tg, xg = np.asarray(rec.gyro.t, np.float64)[ig], rec.gyro.xyz[ig]
    if len(ta) < 2 or len(tg) < 2:
        log.debug("%s: fewer than two usable acc or gyro samples, skipped", where)
        return []
    cuts = _passthrough(ta, tg, rate, min(max_gap_s, max_gap_rel / rate))
    if cuts is not None:
        x = np.hstack([xa, xg]).astype(np.float64, copy=False)
        bounds = zip(np.r_[0, cuts], np.r_[cuts, len(ta)], strict=True)
        return [(ta[a:b], x[a:b], la[a:b].astype(np.int8)) for a, b in bounds if b - a >= 2]
    gap_a, rate_a = _gap_and_rate(ta, max_gap_s, max_gap_rel)
    gap_g, rate_g = _gap_and_rate(tg, max_gap_s, max_gap_rel)
    qa, qg = _factor(rate_a, rate), _factor(rate_g, rate)

    los, his = _intersect(_pieces(ta, gap_a), _pieces(tg, gap_g))
    segments: list[Segment] = []
    for lo, hi in zip(los, his, strict=True):  # loop over gap-free stretches, not samples
        n = int(math.floor((hi - lo) * rate + 1e-6)) + 1  # tolerate float rounding
        if n < 2:
            continue
        t = lo + np.arange(n) / rate
        acc = _onto_grid(ta, xa, lo, n, rate, qa)
        gyro = _onto_grid(tg, xg, lo, n, rate, qg)
        if label_rule == "previous":
            idx = np.searchsorted(ta, t + 1e-9, side="right") - 1
        elif label_rule == "nearest":
            j = np.clip(np.searchsorted(ta, t), 1, len(ta) - 1)
            idx = np.where(t - ta[j - 1] <= ta[j] - t, j - 1, j)
        else:
            raise ValueError(f"label_rule must be 'previous' or 'nearest', got {label_rule!r}")
        y = la[np.clip(idx, 0, len(ta) - 1)].astype(np.int8)
        segments.append((t, np.hstack([acc, gyro]), y))
    return segments


# --------------------------------------------------------------------------- windowing


def window_count(n: int | np.ndarray, window: int = WINDOW, hop: int = HOP) -> np.ndarray | int:
    """Windows in a run of n samples: ``floor((n - window)/hop) + 1`` if n >= window, else 0.

    The released code's count was ``ceil((n - window)/hop)``: it never took the last full window.
    """
    n_arr = np.asarray(n, dtype=np.int64)
    out = np.where(n_arr >= window, (n_arr - window) // hop + 1, 0)
    return int(out) if np.ndim(n) == 0 else out


def window_starts(
    labels: np.ndarray, breaks: np.ndarray | None = None, window: int = WINDOW, hop: int = HOP
) -> np.ndarray:
    """Start indices of the windows over one sample sequence.

    A window lies inside one *run*: consecutive samples with the same label >= 0 and no break
    between them (``breaks`` marks samples that start a new segment). Runs labelled -1 and
    runs shorter than ``window`` give no window. Vectorised: no loop over samples or windows.
    """
    labels = np.asarray(labels)
    n = len(labels)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    change = labels[1:] != labels[:-1]
    if breaks is not None:
        change |= np.asarray(breaks, dtype=bool)[1:]
    rs = np.r_[0, np.flatnonzero(change) + 1]
    re = np.r_[rs[1:], n]
    cnt = np.where(labels[rs] >= 0, window_count(re - rs, window, hop), 0)
    total = int(cnt.sum())
    k = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    return np.repeat(rs, cnt) + hop * k


def window_segments(
    segments: list[Segment], window: int = WINDOW, hop: int = HOP
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut segments into windows: ``X (m, window, 6)`` float32, ``y (m,)`` int8, ``start (m,)``.

    ``start`` is each window's first grid time in seconds. Windows never cross a segment or a
    label change and never contain a -1 sample.
    """
    if window < 1 or hop < 1:
        raise ValueError(f"window and hop must be >= 1, got {window}, {hop}")
    if not segments:
        return np.zeros((0, window, 6), np.float32), np.zeros(0, np.int8), np.zeros(0)
    breaks = None
    if len(segments) == 1:  # the common case: no concatenation copy, no break
        t = np.asarray(segments[0][0])
        x = np.asarray(segments[0][1], dtype=np.float32)
        y = np.asarray(segments[0][2], dtype=np.int8)
    else:
        t = np.concatenate([s[0] for s in segments])
        x = np.concatenate([s[1] for s in segments], dtype=np.float32)
        y = np.concatenate([s[2] for s in segments], dtype=np.int8)
        breaks = np.zeros(len(t), dtype=bool)
        breaks[np.cumsum([len(s[0]) for s in segments])[:-1]] = True
    st = window_starts(y, breaks, window, hop)
    # index arithmetic: one gather, (m, window, 6); np.take is the same gather as
    # x[idx], several times faster for these short rows
    xw = np.take(x, st[:, None] + np.arange(window), axis=0)
    return xw, y[st], t[st]


# --------------------------------------------------------------------------- cache


def _check_name(name: str) -> None:
    from harnb.data.datasets import names

    if name not in names():
        raise ValueError(
            f"unknown dataset {name!r}; known datasets: {', '.join(names())} (add your own "
            "with `harnb data add FOLDER`)"
        )


def _loader_files(name: str) -> list[Path]:
    """Source files of the dataset's loader: its module, plus the package and the contract."""
    from harnb.data.datasets import added, base

    pkg = Path(base.__file__).parent
    files = {pkg / "__init__.py", pkg / "base.py", *pkg.glob("_*.py")}  # + shared parsers
    ds = added.get(name) if name not in DATASETS else None
    if ds is not None:  # an added folder (the CSV reader) or a loader registered in code
        files.update(added.source_files(ds))
        return sorted(f for f in files if f.exists())
    own = [pkg / f"{c}.py" for c in (name.lower(), name) if (pkg / f"{c}.py").exists()]
    # Unknown layout: be conservative, any loader change invalidates the cache.
    files.update(own[:1] or pkg.glob("*.py"))
    return sorted(f for f in files if f.exists())


def code_version(name: str) -> str:
    """sha256 of the source that shapes a dataset's windows: this module, the store format and
    the dataset's loader. Editing any of them rebuilds that dataset's cache."""
    h = hashlib.sha256()
    for f in [Path(__file__), Path(_store_mod.__file__), *_loader_files(name)]:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _fingerprint(name: str, root: Path | None) -> str:
    """The loaders' cheap content key of a dataset's raw files."""
    from harnb.data import datasets

    return str(datasets.fingerprint(name, root))


def _load_recordings(name: str, root: Path | None, options: dict[str, Any]) -> list[Recording]:
    """The dataset's recordings, from its loader."""
    from harnb.data import datasets

    return list(datasets.load(name, root, **options))


def cache_key(name: str, cfg: PreprocessConfig, fingerprint: str) -> str:
    """The content key of one dataset's store: config + raw-data fingerprint + code version."""
    parts = {
        "dataset": name,
        "config": cfg.key(name),
        "raw": fingerprint,
        "code": code_version(name),
        "format": _store_mod.FORMAT_VERSION,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def cache_dir(name: str, key: str) -> Path:
    """Where a dataset's store with this key lives."""
    return processed_dir() / f"{name}-{key[:12]}"


def _progress(it, total: int, desc: str, enabled: bool):
    if not enabled:
        return it
    from tqdm.auto import tqdm

    return tqdm(it, total=total, desc=desc, unit="rec", leave=False)


def windows_from_recordings(
    recs: list[Recording], cfg: PreprocessConfig | None = None, progress: bool = False
) -> tuple[WindowStore, list[dict[str, Any]]]:
    """Resample and window a list of recordings of one dataset (no cache involved).

    Returns the store and the recording table (one dict per recording id) that the cache saves.
    """
    cfg = cfg or PreprocessConfig()
    xs, ys, starts, rids = [], [], [], []
    table: list[dict[str, Any]] = []
    name = recs[0].dataset if recs else "?"
    for rec in _progress(recs, len(recs), f"windows {name}", progress):
        segs = resample_recording(rec, cfg.rate, cfg.max_gap_s, cfg.label_rule, cfg.max_gap_rel)
        xw, yw, sw = window_segments(segs, cfg.window, cfg.hop)
        subject = str(rec.subject)
        if not subject.startswith(f"{rec.dataset}:"):
            subject = f"{rec.dataset}:{subject}"
        rid = len(table)
        # Window starts are stored relative to the recording's first sample: absolute clocks
        # (HHAR: epoch ns) would lose all precision in float32.
        t0 = float(min(rec.acc.t[0], rec.gyro.t[0])) if len(rec.acc.t) and len(rec.gyro.t) else 0.0
        table.append(
            {
                "subject": subject,
                "session": str(rec.session),
                "device": str(rec.device),
                "position": str(rec.position),
                "nominal_rate": float(rec.nominal_rate),
                "t0": t0,
                "segments": len(segs),
                "samples": int(sum(len(s[0]) for s in segs)),
                "windows": len(yw),
            }
        )
        xs.append(xw)
        ys.append(yw)
        starts.append((sw - t0).astype(np.float32))
        rids.append(np.full(len(yw), rid, dtype=np.int32))
    n = int(sum(len(y) for y in ys))
    rid = np.concatenate(rids) if rids else np.zeros(0, np.int32)

    def column(field_: str) -> np.ndarray:
        t = np.array([r[field_] for r in table] or [""])
        return t[rid] if n else np.array([], dtype=t.dtype)

    st = WindowStore(
        X=np.concatenate(xs) if xs else np.zeros((0, cfg.window, 6), np.float32),
        y=np.concatenate(ys) if ys else np.zeros(0, np.int8),
        dataset=np.full(n, name),
        subject=column("subject"),
        device=column("device"),
        position=column("position"),
        recording=rid,
        start=np.concatenate(starts) if starts else np.zeros(0, np.float32),
    )
    return st, table


def build_windows(
    name: str,
    cfg: PreprocessConfig | None = None,
    root: Path | None = None,
    force: bool = False,
    progress: bool = True,
) -> WindowStore:
    """One dataset's windows, from its content-keyed cache or rebuilt from the raw files.

    The cache folder ``processed_dir()/<name>-<key12>/`` is trusted only when its meta.json
    says it is complete and carries the full key (config, raw fingerprint, code version).
    """
    _check_name(name)
    cfg = cfg or PreprocessConfig()
    t0 = time.perf_counter()
    fp = _fingerprint(name, root)
    key = cache_key(name, cfg, fp)
    folder = cache_dir(name, key)
    if not force:
        st = read_store_dir(folder, key)
        if st is not None:
            log.info("%s: reused cached windows %s (%d windows)", name, folder, len(st))
            return st
    recs = _load_recordings(name, root, cfg.options_for(name))
    if not recs:
        raise ValueError(f"{name}: the loader returned no recordings")
    st, table = windows_from_recordings(recs, cfg, progress)
    if len(st) == 0:
        longest = max(r["samples"] for r in table)
        raise ValueError(
            f"{name}: no window of {cfg.window} samples fits in any recording (longest "
            f"gap-free labelled stretch has {longest} samples at {cfg.rate} Hz)"
        )
    meta = {
        "dataset": name,
        "key": key,
        "config": cfg.as_dict(name),
        "raw_fingerprint": fp,
        "code_version": code_version(name),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "build_seconds": round(time.perf_counter() - t0, 3),
        "recordings": table,
    }
    write_store_dir(folder, st, meta)
    remove_stale_temp(processed_dir())
    log.info(
        "%s: rebuilt windows %s (%d windows, %d recordings, %.1f s)",
        name,
        folder,
        len(st),
        len(table),
        time.perf_counter() - t0,
    )
    return st


def load_windows(
    names: list[str] | None = None, cfg: PreprocessConfig | None = None, progress: bool = True
) -> WindowStore:
    """The concatenated stores of several datasets (default: every dataset available here)."""
    if names is None:
        from harnb.data import datasets

        names = list(datasets.available())
    if isinstance(names, str):
        names = [names]
    if not names:
        raise ValueError("no dataset to load: none is available (see harnb.data.fetch)")
    for n in names:
        _check_name(n)
    if len(names) > 1:  # no own-class labels, no recordings twice (an export and its source)
        from harnb.data.datasets import added

        added.check_together(names)
    return WindowStore.concat([build_windows(n, cfg, progress=progress) for n in names])


# --------------------------------------------------------------------------- normalisation


@dataclass
class NormStats:
    """Per-dataset z-score statistics: one value per axis (3,) for acc and for gyro.

    In ``"sensor"`` mode (the paper's released code) the three values of a sensor are equal:
    one mean/std pooled over its axes. In ``"channel"`` mode each axis has its own.
    """

    acc_mean: np.ndarray
    acc_std: np.ndarray
    gyro_mean: np.ndarray
    gyro_std: np.ndarray
    mode: str = "sensor"
    n_windows: int = 0

    @property
    def mean(self) -> np.ndarray:
        """The six channel means, in CHANNELS order."""
        return np.concatenate([self.acc_mean, self.gyro_mean]).astype(np.float64)

    @property
    def std(self) -> np.ndarray:
        """The six channel stds, in CHANNELS order."""
        return np.concatenate([self.acc_std, self.gyro_std]).astype(np.float64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (to save next to a checkpoint)."""
        return {
            "acc_mean": self.acc_mean.tolist(),
            "acc_std": self.acc_std.tolist(),
            "gyro_mean": self.gyro_mean.tolist(),
            "gyro_std": self.gyro_std.tolist(),
            "mode": self.mode,
            "n_windows": int(self.n_windows),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NormStats:
        """Inverse of :meth:`to_dict`."""
        arr = {
            k: np.asarray(d[k], dtype=np.float64)
            for k in ("acc_mean", "acc_std", "gyro_mean", "gyro_std")
        }
        return cls(**arr, mode=d.get("mode", "sensor"), n_windows=int(d.get("n_windows", 0)))


def _moments(
    X: np.ndarray, idx: np.ndarray, chunk: int = 4096
) -> tuple[int, np.ndarray, np.ndarray]:
    """Count, per-channel mean and sum of squared deviations over X[idx], chunked, float64.

    Chunks are merged with Chan's parallel formula, so memory stays bounded and the result does
    not suffer from the cancellation of a naive sum of squares.
    """
    n = 0
    mean = np.zeros(X.shape[-1])
    m2 = np.zeros(X.shape[-1])
    for i in range(0, len(idx), chunk):  # loop over chunks of windows, each step vectorised
        block = X[idx[i : i + chunk]].reshape(-1, X.shape[-1]).astype(np.float64)
        nb = len(block)
        mb = block.mean(axis=0)
        m2b = ((block - mb) ** 2).sum(axis=0)
        d = mb - mean
        tot = n + nb
        mean = mean + d * nb / tot
        m2 = m2 + m2b + d**2 * n * nb / tot
        n = tot
    return n, mean, m2


#: Normalisation modes of :func:`fit_normalisation`.
NORM_MODES: tuple[str, ...] = ("sensor", "channel", "vector")


def fit_normalisation(
    store: WindowStore, mask: np.ndarray | None = None, mode: str = "sensor"
) -> dict[str, NormStats]:
    """Per-dataset z-score statistics from the selected windows only (ddof = 0).

    Pass the training subjects' mask so that no validation or test sample enters the
    statistics. Statistics are over window samples (what the model sees), so samples in the
    50 % overlap count twice, as in the released code. ``mode``: ``"sensor"`` (one mean and
    std per sensor, pooled over its axes), ``"channel"`` (per axis) or ``"vector"`` (no offset,
    one scale per sensor: the root mean square over its axes), the one under which rotating a
    window and normalising it commute, which orientation augmentation needs.
    """
    if mode not in NORM_MODES:
        raise ValueError(f"mode must be one of {NORM_MODES}, got {mode!r}")
    sel = np.ones(len(store), bool) if mask is None else np.asarray(mask)
    if sel.dtype != bool:
        m = np.zeros(len(store), bool)
        m[sel] = True
        sel = m
    if sel.shape != (len(store),):
        raise ValueError(f"mask has shape {sel.shape}, store has {len(store)} windows")
    out: dict[str, NormStats] = {}
    for name in store.datasets():
        idx = np.flatnonzero(sel & (store.dataset == name))
        if len(idx) == 0:
            continue
        n, mean, m2 = _moments(store.X, idx)
        if mode == "channel":
            mu, var = mean, m2 / n
        elif mode == "vector":  # E[x²] pooled over the axes of each sensor, no offset
            mu, var = np.zeros(6), np.empty(6)
            for s in (slice(0, 3), slice(3, 6)):
                var[s] = (m2[s].sum() / n + (mean[s] ** 2).sum()) / 3
        else:  # pool the three axes of each sensor: combine the per-axis moments
            mu, var = np.empty(6), np.empty(6)
            for s in (slice(0, 3), slice(3, 6)):
                pm = mean[s].mean()
                pv = (m2[s].sum() + n * ((mean[s] - pm) ** 2).sum()) / (3 * n)
                mu[s], var[s] = pm, pv
        sd = np.sqrt(var)
        sd = np.where(sd > 0, sd, 1.0)  # a constant channel is left centred, not divided by 0
        out[name] = NormStats(mu[:3], sd[:3], mu[3:], sd[3:], mode=mode, n_windows=len(idx))
    if not out:
        raise ValueError("fit_normalisation: the mask selects no window")
    return out


def normalise(store: WindowStore, stats: dict[str, NormStats]) -> np.ndarray:
    """z-scored float32 copy of ``store.X``; each window uses its own dataset's statistics."""
    out = np.empty(store.X.shape, dtype=np.float32)
    for name in store.datasets():
        if name not in stats:
            raise KeyError(
                f"no normalisation statistics for dataset {name!r} (have {sorted(stats)})"
            )
        m = store.dataset == name
        s = stats[name]
        mu = s.mean.astype(np.float32)
        sd = s.std.astype(np.float32)
        out[m] = (store.X[m] - mu) / sd
    return out
