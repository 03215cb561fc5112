"""Device-orientation handling for SI windows (acc m/s² with gravity, gyro rad/s), before scaling.

Datasets record in different device frames (gravity along +y, -y or +x when standing), so a
model trained on one frame meets rotated data in another. This module offers the study's arms:
augment with random rotations (full 3-D, about gravity, or signed axis permutations), or align
every window (or recording) so that gravity lies on a chosen axis. Acc and gyro are always turned
by the same matrix, so the two sensors stay physically consistent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import permutations, product
from typing import Any

import numpy as np
from scipy.signal import butter, filtfilt

AXES: dict[str, tuple[float, float, float]] = {
    "x": (1.0, 0.0, 0.0),
    "y": (0.0, 1.0, 0.0),
    "z": (0.0, 0.0, 1.0),
    "-x": (-1.0, 0.0, 0.0),
    "-y": (0.0, -1.0, 0.0),
    "-z": (0.0, 0.0, -1.0),
}
MODES = ("none", "rotate3d", "heading", "align", "align+heading", "permute")
PER = ("window", "recording")
_RANDOM_MODES = frozenset({"rotate3d", "heading", "align+heading", "permute"})


def _axis_vector(axis: str | Any) -> np.ndarray:
    """A unit 3-vector from a name in AXES or any non-zero 3-vector."""
    if isinstance(axis, str):
        if axis not in AXES:
            raise ValueError(f"unknown axis {axis!r}; valid: {sorted(AXES)} or a 3-vector")
        return np.array(AXES[axis])
    v = np.asarray(axis, dtype=np.float64)
    if v.shape != (3,) or not np.all(np.isfinite(v)) or np.linalg.norm(v) == 0:
        raise ValueError(f"axis must be one of {sorted(AXES)} or a non-zero 3-vector, got {axis!r}")
    return v / np.linalg.norm(v)


def _check_windows(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 3 or X.shape[2] != 6:
        raise ValueError(f"X must have shape (n, T, 6) [acc xyz, gyro xyz], got {X.shape}")
    return X


def _skew(v: np.ndarray) -> np.ndarray:
    """Cross-product matrices [v]x for v of shape (n, 3)."""
    K = np.zeros(v.shape[:-1] + (3, 3))
    K[..., 0, 1], K[..., 0, 2], K[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    return K - np.swapaxes(K, -1, -2)


def random_rotations(n: int, rng: np.random.Generator | int | None) -> np.ndarray:
    """(n, 3, 3) rotations uniform on SO(3): normalised Gaussian quaternions are uniform on S³."""
    rng = np.random.default_rng(rng)
    q = rng.standard_normal((n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, v = q[:, 0, None, None], q[:, 1:]
    # R = (w² - |v|²) I + 2 v vᵀ + 2 w [v]x
    return (2 * w**2 - 1) * np.eye(3) + 2 * v[:, :, None] * v[:, None, :] + 2 * w * _skew(v)


def rotate(X: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Turn acc and gyro of each window by R (one (3, 3) or per-window (n, 3, 3)): v' = R v.

    Acc is a polar vector; gyro is axial, so it maps as det(R)·R·ω. For rotations det = +1 and
    both map alike; for reflections (det -1, e.g. improper axis flips) gyro gets the extra sign,
    which keeps ω the angular velocity of the reflected motion. Returns a new array in X's dtype.
    """
    X = _check_windows(X)
    R = np.asarray(R, dtype=np.float64)
    if R.shape == (3, 3):
        R = np.broadcast_to(R, (X.shape[0], 3, 3))
    if R.shape != (X.shape[0], 3, 3):
        raise ValueError(f"R must have shape (3, 3) or ({X.shape[0]}, 3, 3), got {R.shape}")
    eye = np.broadcast_to(np.eye(3), R.shape)
    if not np.allclose(R @ np.swapaxes(R, 1, 2), eye, atol=1e-5):
        raise ValueError("R must be orthogonal (R Rᵀ = I)")
    dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.dtype(np.float32)
    Rf = R.astype(dtype)
    out = np.empty(X.shape, dtype=dtype)
    det = np.sign(np.linalg.det(R)).astype(dtype)[:, None, None]
    # rows are samples, so v' = R v is v_rowᵀ @ Rᵀ; batched matmul is ~7x faster than einsum here
    np.matmul(X[..., :3], np.swapaxes(Rf, 1, 2), out=out[..., :3])
    np.matmul(X[..., 3:], np.swapaxes(Rf * det, 1, 2), out=out[..., 3:])
    return out


def gravity(X: np.ndarray, cutoff_hz: float | None = None, rate_hz: float = 50.0) -> np.ndarray:
    """(n, 3) gravity per window; by default the plain time mean of acc (the DC part).

    Why not a low-pass by default: at 0.3 Hz the filter settles over seconds, longer than a
    2.56 s window, so filtfilt's output is shaped by its edge padding and its mean becomes an
    uneven, asymmetric weighting of the samples (≈0.5x at the first, 1.15x mid-window, 0.35x at
    the last), not a better estimate. ``cutoff_hz`` (e.g. 0.3) still gives the mean of a zero-phase
    Butterworth low-pass (order 2, filtfilt along time, even padding): being linear, it is applied
    as fixed sample weights computed once per T, without an (n, T, 3) float64 copy.
    """
    X = _check_windows(X)
    T = X.shape[1]
    if cutoff_hz is None or T <= 9:
        w = np.full(T, 1.0 / T)
    else:
        b, a = butter(2, cutoff_hz / (rate_hz / 2.0))
        w = filtfilt(b, a, np.eye(T), axis=0, padtype="even").mean(axis=0)
    dtype = X.dtype if np.issubdtype(X.dtype, np.floating) else np.dtype(np.float64)
    return np.einsum("ntc,t->nc", X[..., :3], w.astype(dtype)).astype(np.float64)


def align_rotations(g: np.ndarray, axis: str | Any = (0.0, 0.0, 1.0)) -> np.ndarray:
    """(n, 3, 3) minimal rotations taking the direction of each g_i onto ``axis`` (Rodrigues).

    Anti-parallel g (and near it, where Rodrigues is ill-conditioned) is first turned by pi about
    an axis orthogonal to g, then aligned; zero-norm g gives the identity.
    """
    b = _axis_vector(axis)
    g = np.atleast_2d(np.asarray(g, dtype=np.float64))
    if g.ndim != 2 or g.shape[1] != 3:
        raise ValueError(f"g must have shape (n, 3), got {g.shape}")
    norm = np.linalg.norm(g, axis=1, keepdims=True)
    zero = norm[:, 0] == 0
    a = np.where(zero[:, None], b, g / np.where(zero[:, None], 1.0, norm))
    flip = (a @ b) < -1.0 + 1e-6
    # pi turn about u ⟂ a: u from a × (basis vector least aligned with a)
    e = np.eye(3)[np.argmin(np.abs(a), axis=1)]
    u = np.cross(a, e)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    P = np.where(flip[:, None, None], 2 * u[:, :, None] * u[:, None, :] - np.eye(3), np.eye(3))
    a = np.einsum("nij,nj->ni", P, a)
    v, c = np.cross(a, b), a @ b
    K = _skew(v)
    R = np.eye(3) + K + (K @ K) / (1.0 + c)[:, None, None]
    return R @ P


def rotations_about(axis_vectors: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(n, 3, 3) rotations by ``angles`` (rad) about per-window axes (Rodrigues); zero axis → I."""
    k = np.atleast_2d(np.asarray(axis_vectors, dtype=np.float64))
    angles = np.atleast_1d(np.asarray(angles, dtype=np.float64))
    if k.ndim != 2 or k.shape[1] != 3 or angles.ndim != 1:
        raise ValueError(f"need axes (n, 3) or (3,) and angles (n,), got {k.shape}, {angles.shape}")
    n = max(len(k), len(angles))
    k, angles = np.broadcast_to(k, (n, 3)), np.broadcast_to(angles, (n,))
    norm = np.linalg.norm(k, axis=1, keepdims=True)
    k = np.where(norm > 0, k / np.where(norm > 0, norm, 1.0), 0.0)
    K = _skew(k)
    s, c = np.sin(angles)[:, None, None], np.cos(angles)[:, None, None]
    return np.eye(3) + s * K + (1.0 - c) * (K @ K)


def gravity_align(
    X: np.ndarray,
    axis: str | Any = "z",
    per: str = "window",
    groups: np.ndarray | None = None,
    cutoff_hz: float | None = None,
    rate_hz: float = 50.0,
) -> np.ndarray:
    """Rotate windows so that gravity lies on ``axis``, removing the device-frame difference.

    ``per="window"`` aligns each window's own gravity (also tilts away posture information);
    ``per="recording"`` applies one rotation per recording id in ``groups``, from the mean
    gravity of all its windows, i.e. it corrects the mounting and keeps posture changes.
    """
    X = _check_windows(X)
    g = gravity(X, cutoff_hz, rate_hz)
    if per == "window":
        return rotate(X, align_rotations(g, axis))
    if per != "recording":
        raise ValueError(f"unknown per {per!r}; valid: {list(PER)}")
    if groups is None or np.shape(groups) != (X.shape[0],):
        raise ValueError(f"per='recording' needs groups of shape ({X.shape[0]},)")
    _, inv = np.unique(np.asarray(groups), return_inverse=True)
    inv = inv.ravel()
    counts = np.bincount(inv)
    g_mean = np.stack([np.bincount(inv, weights=g[:, i]) for i in range(3)], axis=1)
    return rotate(X, align_rotations(g_mean / counts[:, None], axis)[inv])


def random_heading(
    X: np.ndarray, rng: np.random.Generator | int | None, axis: str | Any | None = None
) -> np.ndarray:
    """Turn each window by a uniform angle about its own gravity (or a fixed ``axis``).

    A turn about gravity leaves the gravity vector (posture) unchanged and only randomises the
    heading, i.e. how the horizontal motion is laid out in the device frame.
    """
    X = _check_windows(X)
    rng = np.random.default_rng(rng)
    k = gravity(X) if axis is None else _axis_vector(axis)
    return rotate(X, rotations_about(k, rng.uniform(0.0, 2 * np.pi, X.shape[0])))


def signed_permutations(proper_only: bool = True) -> np.ndarray:
    """The 24 proper (det +1) signed permutation matrices, or all 48 with reflections."""
    mats = [
        np.eye(3)[list(p)] * np.array(s)[:, None]
        for p in permutations(range(3))
        for s in product((1.0, -1.0), repeat=3)
    ]
    out = np.stack(mats)
    return out[np.linalg.det(out) > 0] if proper_only else out


def random_axis_flips(
    n: int, rng: np.random.Generator | int | None, proper_only: bool = True
) -> np.ndarray:
    """(n, 3, 3) signed permutations drawn uniformly: device mounted in another axis order."""
    rng = np.random.default_rng(rng)
    mats = signed_permutations(proper_only)
    return mats[rng.integers(len(mats), size=n)]


@dataclass(frozen=True)
class Orientation:
    """One arm of the orientation study: what happens to windows in every split and in training."""

    mode: str = "none"
    axis: str = "z"
    per: str = "window"
    copies: int = 1
    proper_only: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown orientation mode {self.mode!r}; valid: {list(MODES)}")
        if self.axis not in AXES:
            raise ValueError(f"unknown axis {self.axis!r}; valid: {sorted(AXES)}")
        if self.per not in PER:
            raise ValueError(f"unknown per {self.per!r}; valid: {list(PER)}")
        if isinstance(self.copies, bool) or not isinstance(self.copies, int) or self.copies < 1:
            raise ValueError(f"copies must be an int >= 1, got {self.copies!r}")
        if not isinstance(self.proper_only, bool):
            raise ValueError(f"proper_only must be a bool, got {self.proper_only!r}")

    def key(self) -> dict[str, Any]:
        """JSON-able fields that change the outcome, for configuration hashes.

        ``mode="none"`` gives exactly ``{"mode": "none"}`` so existing hashes stay the same when
        the feature is unused; fields a mode ignores are left out so equal arms hash equally.
        """
        if self.mode == "none":
            return {"mode": "none"}
        used = {"mode"}
        if self.mode.startswith("align"):
            used |= {"axis", "per"}
        if self.is_augmentation:
            used.add("copies")
        if self.mode == "permute":
            used.add("proper_only")
        return {k: v for k, v in asdict(self).items() if k in used}

    @property
    def is_augmentation(self) -> bool:
        """True when training windows are randomly transformed (and possibly multiplied)."""
        return self.mode in _RANDOM_MODES

    def deterministic(self, X: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
        """The part applied to every split alike: alignment for "align*", else X itself."""
        if self.mode.startswith("align"):
            return gravity_align(X, self.axis, self.per, groups)
        return X

    def augment(
        self,
        X: np.ndarray,
        y: np.ndarray,
        rng: np.random.Generator | int | None,
        groups: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Training-time transform: deterministic part, then ``copies`` random versions.

        Copies are stacked copy-major ([copy 0 of all windows, copy 1 of all windows, ...]), so
        y (and groups, if the caller needs them) repeat as ``np.concatenate([y] * copies)``. The
        originals are not kept: copies=1 replaces each window by one transformed version.
        """
        return self.randomise(self.deterministic(X, groups), y, rng)

    def randomise(
        self, X: np.ndarray, y: np.ndarray, rng: np.random.Generator | int | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The random part alone, for windows the deterministic part already transformed
        (the grid aligns every split once, then randomises the sources' training windows)."""
        if not self.is_augmentation:
            return X, y
        rng = np.random.default_rng(rng)
        outs = [self._random(X, rng) for _ in range(self.copies)]
        return np.concatenate(outs, axis=0), np.concatenate([np.asarray(y)] * self.copies, axis=0)

    def _random(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n = X.shape[0]
        if self.mode == "rotate3d":
            return rotate(X, random_rotations(n, rng))
        if self.mode == "heading":
            return random_heading(X, rng)
        if self.mode == "align+heading":  # about the aligned vertical: a heading in that frame
            return random_heading(X, rng, axis=self.axis)
        return rotate(X, random_axis_flips(n, rng, self.proper_only))


#: Augmented copies of each source training window in the study's random arms. Pre-training
#: is budgeted in optimiser steps, so copies add variety, not steps.
STUDY_COPIES = 4

#: The study's arms by mode name (what ``Profile.orientation`` names).
ARMS: dict[str, Orientation] = {
    m: Orientation(m, copies=STUDY_COPIES if m in _RANDOM_MODES else 1) for m in MODES
}


def static_mask(X: np.ndarray, thresh: float = 0.3) -> np.ndarray:
    """(n,) bool: windows whose acc magnitude has std below ``thresh`` m/s² (device at rest)."""
    mag = np.linalg.norm(_check_windows(X)[..., :3].astype(np.float64), axis=2)
    return mag.std(axis=1) < thresh


def frames_table(
    X: np.ndarray, dataset_labels: np.ndarray, thresh: float = 0.3
) -> dict[str, dict[str, float]]:
    """Per dataset: window counts and mean acc of static windows, i.e. its device gravity frame.

    Plain dicts keep the module pandas-free; ``pd.DataFrame.from_dict(t, orient="index")`` makes
    the table. Datasets without static windows get NaN acc.
    """
    X = _check_windows(X)
    labels = np.asarray(dataset_labels)
    if labels.shape != (X.shape[0],):
        raise ValueError(f"dataset_labels must have shape ({X.shape[0]},), got {labels.shape}")
    static = static_mask(X, thresh)
    acc = X[..., :3].astype(np.float64).mean(axis=1)
    table: dict[str, dict[str, float]] = {}
    for name in np.unique(labels):
        sel = (labels == name) & static
        g = acc[sel].mean(axis=0) if sel.any() else np.full(3, np.nan)
        table[str(name)] = {
            "n_windows": int((labels == name).sum()),
            "n_static": int(sel.sum()),
            "acc_x": float(g[0]),
            "acc_y": float(g[1]),
            "acc_z": float(g[2]),
            "norm": float(np.linalg.norm(g)),
        }
    return table
