"""The user tools: released pre-trained models, fine-tuning on your data, export to a phone.

``harnb.pretrained.load("hart")`` (here: offline, hash-checked), ``release`` (``harnb pretrain
--release``), ``finetune`` (``harnb finetune`` / ``predict`` on a CSV folder), ``export``
(TFLite / ONNX). May import ``harnb.study`` and below; not ``harnb.book`` or ``harnb.cli``.

Each released model is pre-trained on the union of every dataset available (seed 0,
subject-wise 70/10/20 % train/validation/test per dataset, early-stopped on the validation
subjects) by ``harnb pretrain --release`` (:mod:`harnb.pretrained.release`). Its files lie in
this package folder:

* ``<model>.weights.npz`` — the weights, in ``model.get_weights()`` order, float16 where the
  release measured no change of the held-out predictions (else float32);
* ``<model>.card.json`` — the model card: training data, preprocessing contract (what a user
  must do to raw windows), classes, training budget, held-out scores;
* ``index.json`` — the SHA-256 of every file, which :func:`load` checks before trusting them.

A model that is not committed here can be produced with ``harnb pretrain --release --model
NAME`` (it lands here and in the index); ``book/usage.md`` says what each one costs.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import keras

#: Folder of the released files (package data).
RELEASE_DIR = Path(__file__).resolve().parent
INDEX = "index.json"
#: Format of the weights file and card (bumped when their layout changes).
RELEASE_FORMAT = 1

__all__ = [
    "PretrainedError",
    "RELEASE_DIR",
    "available",
    "card",
    "check_released",
    "fit_stats",
    "load",
    "normalise",
    "orient",
    "prepare",
    "read_index",
]


class PretrainedError(RuntimeError):
    """A released model is missing, or its file does not match the committed hash."""


def _dir(folder: str | os.PathLike[str] | None) -> Path:
    return Path(folder) if folder is not None else RELEASE_DIR


def sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file (read in chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_index(folder: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The release index: ``{model: {"weights": file, "card": file, "sha256": {...}}}``."""
    p = _dir(folder) / INDEX
    if not p.exists():
        return {}
    return json.loads(p.read_text())


def available(folder: str | os.PathLike[str] | None = None) -> list[str]:
    """Names of the released models present (in the index and on disk)."""
    d = _dir(folder)
    return sorted(k for k, v in read_index(folder).items() if (d / v["weights"]).exists())


def _entry(model: str, folder: str | os.PathLike[str] | None) -> dict[str, Any]:
    from harnb.config import ARCHITECTURES  # not harnb.models: checking a name needs no Keras

    if model not in ARCHITECTURES:
        raise ValueError(f"unknown model {model!r}; valid choices: {', '.join(ARCHITECTURES)}")
    d = _dir(folder)
    entry = read_index(folder).get(model)
    if entry is None or not (d / entry["weights"]).exists():
        have = available(folder)
        raise PretrainedError(
            f"no released {model!r} model in {d} (released here: {', '.join(have) or 'none'}). "
            f"Produce it with `harnb pretrain --release --model {model}` (see book/usage.md, "
            "'Pre-trained models'), which writes it into this folder and its index."
        )
    return entry


def check_released(model: str, folder: str | os.PathLike[str] | None = None) -> str:
    """``model`` if it is released here, else ValueError (not an architecture) or
    :class:`PretrainedError` (not released, with how to produce it). Reads the index only, so
    a command refuses a bad name in milliseconds, before any data or Keras work."""
    _entry(model, folder)
    return model


def _verified(path: Path, expected: str) -> Path:
    got = sha256(path)
    if got != expected:
        raise PretrainedError(
            f"{path} does not match the hash in {path.parent / INDEX} (expected sha256 "
            f"{expected[:16]}…, file has {got[:16]}…): the file is damaged or was changed. "
            "Restore it (`git checkout -- harnb/pretrained`) or re-create it with "
            "`harnb pretrain --release`."
        )
    return path


def card(model: str, folder: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The model card of a released model (hash-checked), as a dict."""
    e = _entry(model, folder)
    p = _verified(_dir(folder) / e["card"], e["sha256"]["card"])
    return json.loads(p.read_text())


def load(
    model: str, folder: str | os.PathLike[str] | None = None, write_card: str | None = None
) -> keras.Model:
    """The released pre-trained ``model`` (one of :data:`harnb.models.MODELS`), offline.

    Both files are checked against the index's SHA-256 first; a mismatch raises
    :class:`PretrainedError`. The card is attached as ``model.card`` (a dict); with
    ``write_card`` it is also written to that path (JSON). The model expects windows
    prepared as ``card["preprocessing"]`` says (:func:`prepare`).
    """
    from harnb import models

    e = _entry(model, folder)
    d = _dir(folder)
    info = card(model, folder)
    wpath = _verified(d / e["weights"], e["sha256"]["weights"])
    with np.load(wpath, allow_pickle=False) as z:
        n = int(z["n_weights"])
        weights = [z[f"w{i:04d}"].astype(np.float32) for i in range(n)]
    m = models.build(model, n_classes=len(info["classes"]), input_shape=(128, 6), seed=0)
    shapes = [tuple(w.shape) for w in m.get_weights()]
    if [tuple(w.shape) for w in weights] != shapes:
        raise PretrainedError(
            f"{wpath} holds {len(weights)} arrays that do not fit the {model!r} architecture "
            f"of this harnb ({len(shapes)} arrays): re-create it with `harnb pretrain --release`"
        )
    m.set_weights(weights)
    m.card = info
    if write_card is not None:
        Path(write_card).write_text(json.dumps(info, indent=1))
    return m


#: Normalisation modes a card can name (``preprocessing.normalisation.kind``; absent: sensor).
NORM_KINDS = ("sensor", "vector")


def fit_stats(X: np.ndarray, mode: str = "sensor") -> dict[str, list[float]]:
    """Per-sensor z-score statistics of raw windows ``X`` (n, 128, 6), as in training.

    ``"sensor"`` (the paper's): one mean and one standard deviation per sensor, pooled over its
    three axes. ``"vector"`` (the orientation arms'): no offset and one scale per sensor, the
    root mean square over its axes, so that rotating a window and normalising it commute. Both
    as :func:`harnb.data.preprocess.fit_normalisation`, over every sample.
    """
    if mode not in NORM_KINDS:
        raise ValueError(f"normalisation mode must be one of {NORM_KINDS}, got {mode!r}")
    X = np.asarray(X, np.float64)
    if X.ndim != 3 or X.shape[-1] != 6:
        raise ValueError(f"windows must have shape (n, time, 6), got {X.shape}")
    out: dict[str, list[float]] = {}
    for sensor, s in (("acc", slice(0, 3)), ("gyro", slice(3, 6))):
        block = X[..., s]
        if mode == "vector":
            mu, sd = 0.0, float(np.sqrt(np.mean(block**2)))
        else:
            mu, sd = float(block.mean()), float(block.std())
        out[f"{sensor}_mean"] = [mu] * 3
        out[f"{sensor}_std"] = [sd if sd > 0 else 1.0] * 3
    return out


def norm_kind(card: dict[str, Any]) -> str:
    """The normalisation mode a model's card asks for (cards before the field: ``sensor``)."""
    kind = card.get("preprocessing", {}).get("normalisation", {}).get("kind", "sensor")
    if kind not in NORM_KINDS:
        raise PretrainedError(f"the card asks for normalisation {kind!r}, unknown to this harnb")
    return kind


def orient(X: np.ndarray, card: dict[str, Any], groups: np.ndarray | None = None) -> np.ndarray:
    """Raw windows with the fixed part of the card's orientation handling applied (gravity
    alignment for an ``align`` recipe; nothing for the others, whose rotations only augmented
    the training windows). ``groups``: a recording id per window, for alignment per recording.
    """
    from harnb.data.orientation import Orientation

    key = card.get("preprocessing", {}).get("orientation") or {"mode": "none"}
    arm = Orientation(**{k: v for k, v in key.items() if k != "arm"})
    return arm.deterministic(np.asarray(X, np.float32), groups=groups)


def prepare(
    X: np.ndarray,
    card: dict[str, Any],
    stats: dict[str, Any] | None = None,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Raw windows (acc m/s² with gravity, gyro rad/s) as the model of ``card`` takes them:
    :func:`orient`, then z-scored in the card's mode by ``stats`` (default: the oriented
    windows' own, :func:`fit_stats`). What :func:`normalise` does for a model of the paper's
    recipe, and the one call that stays right for any recipe."""
    Xo = orient(X, card, groups)
    return normalise(Xo, fit_stats(Xo, norm_kind(card)) if stats is None else stats)


def normalise(X: np.ndarray, stats: dict[str, Any] | None = None) -> np.ndarray:
    """z-score raw windows (acc m/s² with gravity, gyro rad/s) for a released model.

    ``stats`` default to :func:`fit_stats` of ``X`` itself: during pre-training each dataset
    was normalised by its own statistics, so a user's recordings should be normalised by
    theirs (computed over all of them, not window by window). Pass
    ``card["preprocessing"]["normalisation"]["union"]`` for a few windows whose own statistics
    would be unreliable. A model whose card names an orientation recipe or another
    normalisation needs :func:`prepare` instead.
    """
    X = np.asarray(X, np.float32)
    st = fit_stats(X) if stats is None else stats
    mu = np.concatenate([st["acc_mean"], st["gyro_mean"]]).astype(np.float32)
    sd = np.concatenate([st["acc_std"], st["gyro_std"]]).astype(np.float32)
    return (X - mu) / sd
