"""The data of one LODO fold: windows a profile uses, the normalised split, the pre-trained
model shared by every protocol of a (target, model, seed), and the frozen features of P_F.

Pre-trained models are cached as ``.weights.h5`` under ``runs_dir()/pretrained``, keyed by
target, model, seed, the profile's training settings and the data (written to a temporary
name, then renamed), without the optimizer's state: a cached model is only ever loaded into a
fresh, uncompiled build, so Adam's moments would triple the file for nothing. The key has no protocol: pre-training sees only the sources, which every
protocol splits the same way, so the target's split cannot change it. The history of each
pre-training lands beside its weights (JSON + CSV) for chapter 4's curves.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from harnb.data.splits import LODOSplit, lodo_split
from harnb.training.profiles import Profile

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from harnb.data.orientation import Orientation
    from harnb.data.store import WindowStore


def subsample_store(store: WindowStore, max_per_dataset: int | None, seed: int = 0) -> WindowStore:
    """At most ``max_per_dataset`` windows of each dataset (seeded, stored order kept)."""
    if not max_per_dataset:
        return store
    rng = np.random.default_rng(seed)
    keep = []
    for d in store.datasets():
        idx = np.flatnonzero(store.dataset == d)
        if len(idx) > max_per_dataset:
            idx = np.sort(rng.choice(idx, max_per_dataset, replace=False))
        keep.append(idx)
    return store.select(np.sort(np.concatenate(keep)))


def data_key(store: WindowStore) -> str:
    """A short content fingerprint of a store (labels, subjects and a sample of the signals)."""
    h = hashlib.sha1()
    h.update(np.asarray(store.y).tobytes())
    for a in (store.dataset, store.subject):
        h.update("\x00".join(map(str, a)).encode())
    step = max(1, len(store) // 997)
    h.update(np.ascontiguousarray(store.X[::step]).tobytes())
    h.update(str(store.X.shape).encode())
    return h.hexdigest()[:12]


def load_store(profile: Profile, names: Sequence[str] | None = None) -> WindowStore:
    """The windows a profile uses: every available dataset but the extra ones (or ``names``),
    subsampled.

    With ``HARNB_STORES_ONLY`` set, the cached stores alone, without raw data
    (:func:`harnb.data.storepack.load_cached`: a GPU machine with packed stores).
    """
    from harnb.data import preprocess, storepack

    names = list(names) if names else (list(profile.datasets) if profile.datasets else None)
    if names is None:  # every available dataset but the extra ones (HuGaDB), which join a run
        # only when named: adding one to the mirror never changes a committed run's data
        from harnb.config import EXTRA_DATASETS
        from harnb.data import datasets

        names = [n for n in datasets.available() if n not in EXTRA_DATASETS] or None
    if storepack.stores_only():
        store = storepack.load_cached(names)
    else:
        store = preprocess.load_windows(names)
    return subsample_store(store, profile.max_windows_per_dataset, profile.split_seed)


@dataclass
class FoldData:
    """One LODO fold, normalised: the split plus the z-scored windows of the whole store."""

    split: LODOSplit
    X: np.ndarray
    y: np.ndarray
    subject: np.ndarray = field(default_factory=lambda: np.empty(0))
    #: The windows in SI units (m/s², rad/s) after the orientation's fixed part, before
    #: normalisation: what the classical baseline's statistics are computed on.
    X_si: np.ndarray | None = None

    def part(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(X, y) of some store indices."""
        return self.X[idx], self.y[idx].astype(np.int64)


def prepare_fold(
    store: WindowStore,
    target: str,
    protocol: str,
    split_seed: int = 0,
    subset_seed: int | None = None,
    norm_as_released: bool = False,
    orientation: str = "none",
    norm: str = "sensor",
    sources: Sequence[str] | None = None,
) -> FoldData:
    """Split ``store`` for ``target`` and normalise each dataset from its non-test windows.

    ``orientation`` (a mode of :data:`harnb.data.orientation.ARMS`): its fixed part (gravity
    alignment, per window or recording) transforms every window in SI units first, the same
    for every split; ``norm`` is the normalisation mode
    (:func:`harnb.data.preprocess.fit_normalisation`); ``sources`` the datasets pre-training
    combines (None: every other one).
    """
    from harnb.data import preprocess
    from harnb.data.orientation import ARMS

    sp = lodo_split(
        store, target, protocol, seed=split_seed, subset_seed=subset_seed, sources=sources
    )
    store = oriented_store(store, ARMS[orientation])
    mask = sp.norm_mask(as_released=norm_as_released)
    stats = preprocess.fit_normalisation(store, mask, mode=norm)
    return FoldData(
        sp,
        preprocess.normalise(store, stats),
        np.asarray(store.y),
        np.asarray(store.subject),
        X_si=store.X,
    )


def oriented_store(store: WindowStore, arm: Orientation) -> WindowStore:
    """``store`` with the fixed part of orientation ``arm`` applied to every window (gravity
    alignment per window or recording for the ``align`` modes; the store itself otherwise)."""
    if not arm.mode.startswith("align"):
        return store
    return replace(store, X=arm.deterministic(store.X, groups=np.asarray(store.recording)))


def with_subset_seed(fold: FoldData, store: WindowStore, subset_seed: int) -> FoldData:
    """The same fold with its fine-tuning subsets redrawn for another seed (no re-normalising)."""
    sp = fold.split
    if sp.subset_seed == subset_seed:
        return fold
    new = lodo_split(
        store, sp.target, sp.protocol, seed=sp.seed, subset_seed=subset_seed, sources=sp.sources
    )
    return FoldData(new, fold.X, fold.y, fold.subject, X_si=fold.X_si)


# --------------------------------------------------------------------------------------------
# Pre-trained model cache (shared by every protocol)
# --------------------------------------------------------------------------------------------


def pretrained_path(target: str, model: str, seed: int, profile: Profile, dkey: str) -> Path:
    """Where the pre-trained weights of one (target, model, seed) live (no ``.weights.h5``).

    With named sources (``profile.sources``, the source-count curve) the target is not part of
    the key: the sources' split and normalisation do not depend on it (each source is split by
    its own subjects and normalised on all its windows), so the targets that share a source
    subset share its pre-training (per seed, the curve's 28 groups pre-train 14 times)."""
    from harnb.config import runs_dir

    k = json.dumps({**profile.training_key(), "data": dkey, "seed": seed}, sort_keys=True)
    h = hashlib.sha1(k.encode()).hexdigest()[:10]
    where = target if profile.sources is None else "src-" + "+".join(sorted(profile.sources))
    return runs_dir() / "pretrained" / profile.name / where / f"{model}_s{seed}_{h}"


def history_path(target: str, model: str, seed: int, profile: Profile, dkey: str) -> Path:
    """The JSON history of that pre-training."""
    base = pretrained_path(target, model, seed, profile, dkey)
    return base.with_name(base.name + ".history.json")


def get_pretrained(
    fold: FoldData,
    model_name: str,
    profile: Profile,
    seed: int,
    dkey: str,
    verbose: int = 0,
    on_eval: Any = None,
) -> keras.Model:
    """Load the cached pre-trained model, or pre-train it on the fold's sources and cache it.

    ``fold`` may be of any protocol: its sources, and so the pre-training, are the same.
    ``on_eval`` receives the pre-training's progress (:func:`harnb.training.train.fit`).
    """
    from harnb import models
    from harnb.config import N_CLASSES
    from harnb.training import train

    sp = fold.split
    base = pretrained_path(sp.target, model_name, seed, profile, dkey)
    wpath = base.with_suffix(".weights.h5")
    if wpath.exists():
        try:
            m = models.build(model_name, n_classes=N_CLASSES, input_shape=fold.X.shape[1:])
            m.load_weights(wpath)
            return m
        except Exception as e:  # a damaged cache is rebuilt, never trusted
            print(f"harnb: ignoring unreadable cache {wpath}: {e}", file=sys.stderr)
    Xtr, ytr = fold.part(sp.source_train)
    Xva, yva = fold.part(sp.source_val)
    arm = profile.orientation_arm
    if arm.is_augmentation:  # normalised windows: under norm "vector" rotations commute with it
        Xtr, ytr = arm.randomise(Xtr, ytr, np.random.default_rng([seed, 7]))
    m, res = train.pretrain(
        model_name, Xtr, ytr, Xva, yva, profile, seed=seed, verbose=verbose, on_eval=on_eval
    )
    sizes = {k: v for k, v in sp.sizes().items() if k.startswith("source")}
    res.meta.update(target=sp.target, data=dkey, sizes=sizes, sources=list(sp.sources))
    train.save_history(res, base.with_name(base.name + ".history"))
    save_model_weights(m, wpath)  # last: weights without a history are never left behind
    return m


def save_model_weights(model: keras.Model, path: Path) -> None:
    """``model.save_weights(path)`` without the optimizer's state, atomically.

    Keras 3 writes a compiled model's optimizer variables into ``.weights.h5`` too (Adam: twice
    the weights); loading into a model without an optimizer never reads them.
    """
    import h5py

    path.parent.mkdir(parents=True, exist_ok=True)
    full = path.with_name(f".tmp{os.getpid()}-full-{path.name}")
    slim = path.with_name(f".tmp{os.getpid()}-{path.name}")
    try:
        model.save_weights(full)
        with h5py.File(full, "r") as src, h5py.File(slim, "w") as dst:
            for k, v in src.attrs.items():
                dst.attrs[k] = v
            for k in src:
                if k != "optimizer":
                    src.copy(src[k], dst, k)
        os.replace(slim, path)
    finally:
        for t in (full, slim):
            t.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# Frozen features for P_F
# --------------------------------------------------------------------------------------------


@dataclass
class FeatureCache:
    """The frozen extractor's features of one fold's target windows, computed once.

    P_F trains only a head on them (:func:`harnb.models.feature_head`); ``rows(idx)`` maps
    store indices of target windows to their features.
    """

    index: np.ndarray  # store indices, sorted
    features: np.ndarray

    @classmethod
    def compute(
        cls,
        pretrained: keras.Model,
        fold: FoldData,
        batch_size: int = 512,
        target_bn: int = 0,
        seed: int = 0,
    ):
        """Features of every window of the fold's target (inference mode).

        ``target_bn`` > 0 (the ``P_F-tBN`` strategy) first re-estimates the BatchNorm population
        statistics of a copy of the extractor on up to that many of the target's unlabelled
        non-test windows, the windows its normalisation already read (AdaBN); labels unused.
        """
        from harnb import models
        from harnb.training import train

        sp = fold.split
        idx = np.unique(np.concatenate([sp.target_pool, sp.target_val, sp.target_test]))
        if target_bn:
            pretrained = models.copy_model(pretrained)
            unlabelled = np.unique(np.concatenate([sp.target_pool, sp.target_val]))
            if not train.precise_bn(pretrained, fold.X[unlabelled], target_bn, seed=seed):
                raise ValueError(f"{pretrained.name} has no BatchNorm layer: P_F-tBN is P_F")
        ext = models.frozen_features(pretrained)
        feats = train.predict_outputs(ext, fold.X[idx], batch_size)
        return cls(idx, feats)

    def rows(self, idx: np.ndarray) -> np.ndarray:
        """Features of the store indices ``idx`` (all of them target windows)."""
        pos = np.searchsorted(self.index, idx)
        if len(idx) and (pos.max() >= len(self.index) or np.any(self.index[pos] != idx)):
            raise ValueError("feature cache asked for windows outside the fold's target")
        return self.features[pos]
