"""Produce a released pre-trained model: ``harnb pretrain --release`` (reproducible, seed 0).

Every available dataset is split by subject into 70 % train, 10 % validation and 20 % test
(class-stratified, :func:`harnb.data.splits.split_subjects`, seed 0). Each dataset is z-scored by
its own statistics from its train + validation windows (as the LODO folds do: no test window
enters them). The model is pre-trained on the union of the train parts with the profile's
pre-training budget (:func:`harnb.training.train.pretrain`: early stopping and precise BatchNorm on the
union of the validation parts), then scored per dataset on its test subjects. The weights are
stored as float16 when that changes no held-out prediction (measured on the test windows and
recorded in the card), else as float32.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from harnb.pretrained import INDEX, RELEASE_DIR, RELEASE_FORMAT, read_index, sha256
from harnb.training.profiles import Profile, get_profile
from harnb.training.train import Budget

#: Subject-wise parts of every dataset (order matters to the stratified assignment).
RELEASE_FRACTIONS: dict[str, float] = {"test": 0.2, "val": 0.1, "train": 0.7}
RELEASE_SEED = 0
#: float16 storage is kept only if it flips at most this fraction of held-out predictions
#: and moves no dataset's test macro-F1 by more than ``FP16_MAX_F1_CHANGE``.
FP16_MAX_FLIPS = 0.001
FP16_MAX_F1_CHANGE = 0.002

#: What every release takes, before its normalisation (the start of the card's text).
INPUT_TEXT = (
    "Input: float32 array (n, 128, 6): windows of 128 samples at 50 Hz (2.56 s; training "
    "windows overlap by 50 %), channels acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z in the "
    "device's axes, accelerometer in m/s² including gravity, gyroscope in rad/s. Resample "
    "whole recordings to 50 Hz before cutting windows."
)
OUTPUT_TEXT = "Output: softmax probabilities over the 10 classes, in the order of 'classes'."
PREPROCESSING_TEXT = (
    INPUT_TEXT + " Then z-score each sensor with one mean "
    "and one standard deviation pooled over its three axes (harnb.pretrained.normalise). Each "
    "training dataset was normalised by its own statistics (per_dataset below, from its train "
    "and validation subjects), so normalise your recordings by their own statistics, computed "
    "over all of them; 'union' (all training windows pooled) is a fallback for a few windows. "
    + OUTPUT_TEXT
)


def preprocessing_text(arm: str = "none") -> str:
    """The card's input contract for a release trained with orientation arm ``arm``."""
    from harnb.training.profiles import STUDY_ARMS

    mode, norm = STUDY_ARMS[arm]
    if arm == "none":
        return PREPROCESSING_TEXT
    steps = []
    if mode.startswith("align"):
        steps.append(
            "rotate each window so that its gravity estimate (low-passed acceleration) lies on "
            "+z (preprocessing.orientation; harnb.pretrained.orient)"
        )
    steps.append(
        "scale each sensor by the root mean square of its three axes, with no offset "
        "('vector' normalisation; harnb.pretrained.fit_stats(X, 'vector'))"
    )
    trained = (
        f"Pre-training saw every training window in {ARMS_TEXT[mode]}. "
        if mode in ARMS_TEXT
        else ""
    )
    return (
        INPUT_TEXT
        + " Then "
        + ", then ".join(steps)
        + ": harnb.pretrained.prepare(X, card) does both. Each training dataset was scaled by "
        "its own statistics (per_dataset below, from its train and validation subjects), so "
        "scale your recordings by their own. " + trained + OUTPUT_TEXT
    )


#: How each random arm transformed the training windows, for the card's text.
ARMS_TEXT = {
    "rotate3d": "4 randomly rotated copies (uniform 3-D rotations, acc and gyro together)",
    "heading": "4 copies randomly rotated about the device's gravity direction",
    "align+heading": "4 copies randomly rotated about the aligned vertical",
    "permute": "4 copies with randomly permuted and sign-flipped axes",
}


#: The card's words for each normalisation (``normalisation.kind``).
NORM_TEXT = {
    "sensor": "sensor: z = (x - mean) / std, one mean and std per sensor, pooled over its "
    "three axes",
    "vector": "vector: z = x / rms, one root mean square per sensor over its three axes, no "
    "offset (rotations commute with it)",
}


def release_profile(profile: str | Profile = "cpu", max_steps: int | None = None) -> Profile:
    """The profile whose pre-training settings train the release, optionally capped in steps.

    ``max_steps`` replaces the budget's step cap (and lowers ``min_steps`` to it if needed),
    for a quick release or a test; the other training fields stay the profile's.
    """
    p = get_profile(profile)
    if max_steps is None:
        return p
    b = p.pretrain_budget
    every = min(b.eval_every or max_steps, max_steps)
    budget = Budget(
        min_steps=min(b.min_steps, max_steps),
        max_steps=int(max_steps),
        eval_every=every,
        patience=b.patience,
    )
    return p.with_(pretrain_budget=budget)


def release_split(store: Any, seed: int = RELEASE_SEED) -> dict[str, dict[str, np.ndarray]]:
    """``{dataset: {"train"|"val"|"test": store indices}}``, subject-wise per dataset."""
    from harnb.data.splits import split_subjects

    return {
        d: split_subjects(store, d, RELEASE_FRACTIONS, seed, require_all_classes=("test", "val"))
        for d in store.datasets()
    }


def release_subjects(dataset: str, card: dict[str, Any]) -> dict[str, list[str]]:
    """Subject ids of ``dataset`` in each part of a release's split (``{"test": [...], ...}``).

    The split is recomputed from the dataset's windows (it depends on nothing else) and
    checked against the window counts of the card, so a changed dataset or split raises
    instead of naming the wrong subjects. Fine-tuning a release on one of its pre-training
    datasets is leak-free only when its test subjects are among the release's ``test``.
    """
    from harnb.data import preprocess

    info = card.get("training_data", {}).get("datasets", {}).get(dataset)
    if info is None:
        raise ValueError(f"{dataset} is not in the release's training data")
    if card.get("training_data", {}).get("windows_per_dataset_cap") is not None:
        raise ValueError("the release subsampled its windows: its split cannot be recomputed")
    store = preprocess.build_windows(dataset, progress=False)
    parts = release_split(store)[dataset]
    got = {k: len(v) for k, v in parts.items()}
    if got != info["windows"]:
        raise ValueError(
            f"{dataset}'s windows here ({got}) differ from the release's ({info['windows']}): "
            "its split cannot be recomputed"
        )

    def ids(v: np.ndarray) -> list[str]:
        s = {str(x).split(":", 1)[-1] for x in np.asarray(store.subject)[v]}
        return sorted(s, key=lambda x: (len(x), x))

    return {k: ids(v) for k, v in parts.items()}


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _scores(model: Any, X: np.ndarray, y: np.ndarray, parts: dict, part: str, classes) -> dict:
    """Per-dataset accuracy and macro-F1 on one part, and the predictions."""
    from harnb.training import evaluate, train

    out: dict[str, Any] = {}
    preds: dict[str, np.ndarray] = {}
    for d, p in parts.items():
        idx = p[part]
        pr = train.predict_labels(model, X[idx])
        preds[d] = pr
        out[d] = {
            "windows": len(idx),
            "accuracy": round(evaluate.accuracy(y[idx], pr), 4),
            "macro_f1": round(evaluate.macro_f1(y[idx], pr, classes[d]), 4),
        }
    return {"scores": out, "preds": preds}


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp{os.getpid()}-{path.name}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def make_release(
    model_name: str = "hart",
    profile: str | Profile = "cpu",
    max_steps: int | None = None,
    datasets: list[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    progress: bool = True,
    arm: str = "none",
) -> dict[str, Any]:
    """Train and write one released model (weights, card, index entry); returns the card.

    ``arm`` is an orientation arm of the study (:data:`harnb.training.profiles.STUDY_ARMS`):
    its fixed part (alignment) transforms every window and goes into the card for users, its
    normalisation is the card's, and its random part augments the training windows only.
    """
    from harnb import models
    from harnb.config import CHANNELS, CLASSES, HOP, N_CLASSES, RATE_HZ, WINDOW
    from harnb.data import preprocess, splits
    from harnb.training import folds, train
    from harnb.training.profiles import TRAINING_VERSION, with_arm

    models.check_name(model_name)
    prof = with_arm(release_profile(profile, max_steps), arm)
    orientation = prof.orientation_arm
    outdir = Path(out) if out is not None else RELEASE_DIR
    outdir.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    store = folds.load_store(prof, datasets)
    parts = release_split(store)
    mask = np.zeros(len(store), bool)
    for p in parts.values():
        mask[p["train"]] = mask[p["val"]] = True
    store = folds.oriented_store(store, orientation)  # the fixed part, on every split alike
    stats = preprocess.fit_normalisation(store, mask, mode=prof.norm)
    train_mask = np.zeros(len(store), bool)
    for p in parts.values():
        train_mask[p["train"]] = True
    union = dataclasses.replace(store, dataset=np.full(len(store), "union", dtype=object))
    union_stats = preprocess.fit_normalisation(union, train_mask, mode=prof.norm)["union"]
    X = preprocess.normalise(store, stats)
    y = np.asarray(store.y).astype(np.int64)
    cat = np.concatenate
    tr = np.sort(cat([p["train"] for p in parts.values()]))
    va = np.sort(cat([p["val"] for p in parts.values()]))

    def on_eval(step: int, total: int, acc: float, best: int) -> None:
        if progress:
            el = time.perf_counter() - t_start
            print(
                f"harnb pretrain --release {model_name}: step {step}/{total}, val acc {acc:.4f}"
                f" (best step {best}), {el:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    Xtr, ytr = X[tr], y[tr]
    if orientation.is_augmentation:  # as the LODO pre-trainings (harnb.training.folds)
        Xtr, ytr = orientation.randomise(Xtr, ytr, np.random.default_rng([RELEASE_SEED, 7]))
    model, res = train.pretrain(
        model_name, Xtr, ytr, X[va], y[va], prof, seed=RELEASE_SEED, on_eval=on_eval
    )
    classes = {d: splits.classes_of(store, d) for d in parts}
    val = _scores(model, X, y, parts, "val", classes)
    test32 = _scores(model, X, y, parts, "test", classes)

    # float16 storage, measured on the held-out windows
    w32 = model.get_weights()
    model.set_weights([w.astype(np.float16).astype(np.float32) for w in w32])
    test16 = _scores(model, X, y, parts, "test", classes)
    model.set_weights(w32)
    n_test = sum(len(p["test"]) for p in parts.values())
    flips = sum(int(np.sum(test16["preds"][d] != test32["preds"][d])) for d in parts)
    f1_change = max(
        abs(test16["scores"][d]["macro_f1"] - test32["scores"][d]["macro_f1"]) for d in parts
    )
    use16 = flips <= FP16_MAX_FLIPS * n_test and f1_change <= FP16_MAX_F1_CHANGE
    dtype = np.float16 if use16 else np.float32

    wfile = outdir / f"{model_name}.weights.npz"
    arrays = {f"w{i:04d}": w.astype(dtype) for i, w in enumerate(w32)}
    tmp = wfile.with_name(f".tmp{os.getpid()}-{wfile.name}")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, n_weights=np.int64(len(w32)), **arrays)
    os.replace(tmp, wfile)

    def n_subjects(idx: np.ndarray) -> int:
        return len(np.unique(np.asarray(store.subject)[idx]))

    seconds = time.perf_counter() - t_start
    card = {
        "format": RELEASE_FORMAT,
        "model": model_name,
        "created": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "produced_by": (
            f"harnb pretrain --release --model {model_name} --profile {prof.name}"
            + (f" --max-steps {max_steps}" if max_steps is not None else "")
            + f" --orientation {arm}"  # the recipe, named even when it is the paper's
            + (f" --datasets {' '.join(datasets)}" if datasets else "")  # default: all there
        ),
        "harnb_commit": _git_commit(),
        "training_version": TRAINING_VERSION,
        "parameters": models.count_params(model),
        "weights_dtype": np.dtype(dtype).name,
        "classes": list(CLASSES),
        "training_data": {
            "datasets": {
                d: {
                    "subjects": {k: n_subjects(p[k]) for k in ("train", "val", "test")},
                    "windows": {k: len(p[k]) for k in ("train", "val", "test")},
                    "classes": [CLASSES[c] for c in classes[d]],
                }
                for d, p in parts.items()
            },
            "split": "subject-wise per dataset, class-stratified: "
            + ", ".join(f"{k} {v:.0%}" for k, v in RELEASE_FRACTIONS.items())
            + f" of the subjects (seed {RELEASE_SEED})",
            "windows_per_dataset_cap": prof.max_windows_per_dataset,
            "data_key": folds.data_key(store),
        },
        "preprocessing": {
            "rate_hz": RATE_HZ,
            "window": WINDOW,
            "hop": HOP,
            "channels": list(CHANNELS),
            "units": {"acc": "m/s^2, with gravity", "gyro": "rad/s"},
            "input_shape": [WINDOW, len(CHANNELS)],
            "text": preprocessing_text(arm),
            "orientation": {"arm": arm, **orientation.key()},
            "normalisation": {
                "kind": prof.norm,
                "mode": NORM_TEXT[prof.norm],
                "per_dataset": {
                    d: {k: v for k, v in s.to_dict().items() if k != "mode"}
                    for d, s in stats.items()
                },
                "union": {k: v for k, v in union_stats.to_dict().items() if k != "mode"},
            },
        },
        "training": {
            "profile": prof.name,
            "budget": dataclasses.asdict(prof.pretrain_budget),
            "batch_size": prof.pretrain_batch,
            "lr": prof.lr,
            "label_smoothing": prof.label_smoothing,
            "precise_bn_windows": prof.precise_bn_windows,
            "seed": RELEASE_SEED,
            "steps": res.steps,
            "best_step": res.best_step,
            "stopped": res.stopped,
            "best_is_last": res.best_is_last,
            "best_val_accuracy": round(res.best_val_accuracy, 4),
            "train_seconds": round(res.seconds, 1),
            "total_seconds": round(seconds, 1),
            "keras_backend": __import__("keras").backend.backend(),
            "history": {k: [round(v, 5) for v in vs] for k, vs in res.history.items()},
        },
        "held_out": {
            "metric": "macro-F1 over the dataset's classes (harnb.training.evaluate.macro_f1), 0..1",
            "val": val["scores"],
            "test": test32["scores"],
            "test_float16_weights": test16["scores"],
            "float16": {
                "changed_predictions": flips,
                "test_windows": n_test,
                "max_macro_f1_change": round(f1_change, 4),
                "stored_as_float16": bool(use16),
            },
        },
        "n_classes": N_CLASSES,
    }
    cfile = outdir / f"{model_name}.card.json"
    _atomic_write(cfile, (json.dumps(card, indent=1) + "\n").encode())
    index = read_index(outdir)
    index[model_name] = {
        "weights": wfile.name,
        "card": cfile.name,
        "bytes": wfile.stat().st_size,
        "sha256": {"weights": sha256(wfile), "card": sha256(cfile)},
    }
    _atomic_write(outdir / INDEX, (json.dumps(index, indent=1, sort_keys=True) + "\n").encode())
    return card


def card_summary(card: dict[str, Any]) -> str:
    """A few lines for the terminal: steps, time, held-out scores, storage."""
    t = card["training"]
    lines = [
        f"{card['model']}: {t['steps']} steps (best {t['best_step']}, {t['stopped']}), "
        f"{t['train_seconds']:.0f} s training, weights {card['weights_dtype']}",
    ]
    for d, s in card["held_out"]["test"].items():
        v = card["held_out"]["val"][d]
        lines.append(
            f"  {d}: test macro-F1 {s['macro_f1']:.4f} (acc {s['accuracy']:.4f}, "
            f"{s['windows']} windows), val macro-F1 {v['macro_f1']:.4f}"
        )
    f16 = card["held_out"]["float16"]
    lines.append(
        f"  float16 weights: {f16['changed_predictions']}/{f16['test_windows']} test predictions "
        f"changed, max macro-F1 change {f16['max_macro_f1_change']:.4f}"
    )
    return "\n".join(lines)
