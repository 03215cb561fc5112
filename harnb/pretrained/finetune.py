"""Fine-tune a released model on your own labelled recordings: ``harnb finetune`` / ``predict``.

The path, one function per step, each usable from Python (chapter ``07_your_data``):

1. :func:`load_user_windows` — a CSV folder (``book/your_data_format.md``) or a dataset name,
   resampled and windowed by the same pipeline as the paper's datasets;
2. :func:`split_subjects` — test subjects held out (never trained on, never validated on);
3. :func:`normalise_user` — z-scored by the user's *own* statistics from the non-test
   subjects, as the released model's card documents;
4. :func:`draw_labelled` — K labelled windows per class (or a ratio), from training subjects
   only, seeded; the other training-subject windows validate (early stopping);
5. :func:`finetune_user` — :func:`harnb.training.train.finetune` (P_U by default, P_F, Rd) with a
   profile's fine-tuning budget; the head has as many outputs as the user has classes;
6. :func:`evaluate_user` — macro-F1 on the test subjects with a 95 % bootstrap interval over
   them, and the confusion matrix;
7. :func:`save_finetuned` / :func:`load_finetuned` / :func:`predict_folder`.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from harnb.data.datasets.base import DatasetError

if TYPE_CHECKING:  # pragma: no cover
    import keras

    from harnb.data.store import WindowStore

#: Strategies offered here (P_0 needs the union head; fine-tuning is the point).
STRATEGIES: tuple[str, ...] = ("P_U", "P_F", "Rd")
#: Fraction of the subjects held out for testing when ``--test-subjects`` is not given.
TEST_FRACTION = 0.3
#: Where early stopping reads its labels (:func:`draw_labelled`); ``budget`` by default.
VALIDATION: tuple[str, ...] = ("budget", "rest")
#: The share of each class's labelled windows that early stopping reads under ``budget``.
BUDGET_VAL_FRACTION = 0.25
CARD = "card.json"
MODEL_FILE = "model.keras"
N_BOOT = 2000


def _natural(s: str) -> tuple[int, str]:
    """Sort key that puts subject "8" before "10"."""
    return (len(s), s)


@dataclass
class UserData:
    """A user's windows (SI units) with their class names and where each window comes from."""

    name: str
    store: WindowStore
    classes: tuple[str, ...]  # names of the store's label indices
    recordings: list[dict[str, Any]]  # one dict per recording id (subject, session, ...)
    derived_from: str = ""
    folder: str = ""
    allow: tuple[str, ...] = ()  # plausibility checks turned off for the folder
    notes: list[str] = field(default_factory=list)  # files re-timed (bursts)

    @property
    def subjects(self) -> list[str]:
        """Subject ids (without the ``dataset:`` prefix), sorted."""
        return sorted({s.split(":", 1)[-1] for s in self.store.subject}, key=_natural)

    def subject_ids(self) -> np.ndarray:
        """Each window's subject id (without the prefix)."""
        return np.array([s.split(":", 1)[-1] for s in self.store.subject])


def _folder_recordings(folder: Path, ignore_labels: bool = False, subjects=None, allow=()):
    from harnb.data.datasets import csvfolder

    labels = not ignore_labels  # prediction: new recordings need no label column nor mapping
    meta = csvfolder.read_meta(folder, labels=labels)
    if subjects is not None:
        unknown = sorted({str(s) for s in subjects} - set(meta.subjects))
        if unknown:
            raise ValueError(f"subjects {unknown} not in {meta.name} (has {list(meta.subjects)})")
    # without labels every sample is class 0: one run per recording, windows cross activities
    recs = csvfolder.read_folder(folder, labels=labels, subjects=subjects, allow=allow)
    return meta, recs


def folder_allow(folder: str | os.PathLike[str]) -> tuple[str, ...]:
    """The plausibility checks ``harnb data add --allow`` turned off for this folder (added
    under any name), so that fine-tuning and prediction read it as adding did."""
    from harnb.data.datasets import added

    here = Path(folder).expanduser().resolve()
    found: set[str] = set()
    for ds in added.registered().values():
        if ds.folder is not None and Path(ds.folder).resolve() == here:
            found.update(ds.allow)
    return tuple(sorted(found))


def load_user_windows(
    data: str | os.PathLike[str],
    ignore_labels: bool = False,
    progress: bool = False,
    subjects: list[str] | None = None,
    allow: list[str] | tuple[str, ...] | None = None,
) -> UserData:
    """Windows of a CSV dataset folder or of a dataset known by name (paper or added).

    A folder is read and windowed directly (its files are validated as ``harnb data add``
    does, with the checks it allowed for this folder and ``allow``; nothing is registered); a
    name goes through the cached windows store. ``ignore_labels`` (prediction) reads a folder
    without labels (a label column and the metadata's mapping are optional, ignored if there)
    and windows every stretch; ``subjects`` reads only those subjects of a folder.
    """
    from harnb.data import datasets, preprocess

    p = Path(data).expanduser()
    if p.exists():
        from harnb.data.datasets import csvfolder

        folder = csvfolder.meta_path(p).parent
        ok = tuple(sorted({*folder_allow(folder), *(allow or ())}))
        meta, recs = _folder_recordings(folder, ignore_labels, subjects, ok)
        store, table = preprocess.windows_from_recordings(recs, progress=progress)
        if len(store) == 0:
            from harnb.data.datasets.added import why_no_window

            raise DatasetError(f"{folder}: {why_no_window(recs, table)}")
        classes = ("?",) if ignore_labels else tuple(meta.classes)
        notes = [r.meta["note"] for r in recs if r.meta.get("note")]
        return UserData(meta.name, store, classes, table, meta.derived_from, str(folder), ok, notes)
    if os.sep in str(data) or "/" in str(data):
        raise DatasetError(f"{p}: no such folder (a CSV dataset folder or a dataset name)")
    name = datasets.check_name(str(data))
    if ignore_labels or subjects is not None:
        raise ValueError(
            f"{name}: prediction needs a CSV folder (harnb data export-csv writes one)"
        )
    store = preprocess.build_windows(name, progress=progress)
    from harnb.data.datasets import added

    ds = added.get(name) if name not in datasets.REGISTRY else None
    from harnb.config import CLASSES

    classes = tuple(ds.classes) if ds is not None else CLASSES
    folder = str(ds.folder) if ds is not None and ds.folder is not None else ""
    table = _recording_table(store)
    allow = ds.allow if ds is not None else ()
    return UserData(name, store, classes, table, ds.derived_from if ds else "", folder, allow)


def _recording_table(store: WindowStore) -> list[dict[str, Any]]:
    """A minimal recording table (subject per id) for a cached store."""
    n = int(store.recording.max()) + 1 if len(store) else 0
    subj = np.empty(n, dtype=object)
    subj[store.recording] = store.subject
    return [{"subject": s, "session": str(i)} for i, s in enumerate(subj)]


@dataclass
class Split:
    """Store indices of the three parts; subjects of training and test never overlap."""

    train_subjects: list[str]
    test_subjects: list[str]
    labelled: np.ndarray  # the labelled windows trained on
    val: np.ndarray  # the windows early stopping reads (see ``validation``)
    test: np.ndarray  # every window of the test subjects
    per_class: dict[str, int] = field(default_factory=dict)  # labelled windows per class
    #: every labelled window drawn (the user's labels): ``labelled`` ∪ ``val`` under
    #: ``validation="budget"``, ``labelled`` alone under ``"rest"``
    drawn: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))
    #: ``budget``: early stopping reads a stratified quarter of the drawn labels (no other
    #: label is read); ``rest``: the training subjects' other windows, all labelled
    validation: str = "budget"


def split_subjects(
    data: UserData, test_subjects: list[str] | None = None, seed: int = 0
) -> tuple[list[str], list[str]]:
    """(training subjects, test subjects): ``test_subjects`` or a seeded ~30 % of them."""
    subjects = data.subjects
    if len(subjects) < 2:
        raise ValueError(
            f"{data.name} has {len(subjects)} subject: a subject-wise evaluation needs at least "
            "two (one to train on, one to test on)"
        )
    if test_subjects:
        test = [str(s) for s in test_subjects]
        unknown = sorted(set(test) - set(subjects))
        if unknown:
            raise ValueError(f"--test-subjects {unknown} not in {data.name} (has {subjects})")
        if set(test) == set(subjects):
            raise ValueError("--test-subjects lists every subject: none is left to train on")
    else:
        n = min(len(subjects) - 1, max(1, round(TEST_FRACTION * len(subjects))))
        rng = np.random.default_rng(seed)
        test = sorted(rng.choice(subjects, n, replace=False).tolist())
    train = [s for s in subjects if s not in set(test)]
    return train, sorted(test, key=_natural)


def draw_labelled(
    data: UserData,
    train_subjects: list[str],
    test_subjects: list[str],
    labels_per_class: int | None = None,
    ratio: float | None = None,
    max_val_windows: int | None = None,
    seed: int = 0,
    validation: str = "budget",
) -> Split:
    """K labelled windows per class (or ``ratio`` % of each class) from training subjects only.

    ``validation="budget"`` (default): early stopping reads a stratified quarter of those
    labelled windows (a class with one window trains only), so no label beyond the K per class
    is read; ``"rest"``: the rest of the training subjects' windows validate (up to
    ``max_val_windows``, class-stratified), labels a user with K per class does not have. The
    test subjects' windows are never drawn from. A class with fewer training windows than
    asked gives all it has.
    """
    from harnb.data.splits import budget_validation, stratified_sample

    if validation not in VALIDATION:
        raise ValueError(f"validation must be one of {', '.join(VALIDATION)}, got {validation!r}")

    if (labels_per_class is None) == (ratio is None):
        raise ValueError("give either labels per class (K) or a ratio (%), not both")
    if labels_per_class is not None and labels_per_class < 1:
        raise ValueError(f"labels per class must be >= 1, got {labels_per_class}")
    if ratio is not None and not 0 < ratio <= 100:
        raise ValueError(f"ratio must be a percentage in (0, 100], got {ratio}")
    sid = data.subject_ids()
    tr_idx = np.flatnonzero(np.isin(sid, train_subjects))
    te_idx = np.flatnonzero(np.isin(sid, test_subjects))
    y = data.store.y
    rng = np.random.default_rng(seed)
    picked, per_class = [], {}
    for c in np.unique(y[tr_idx]):
        w = tr_idx[y[tr_idx] == c]
        k = labels_per_class if ratio is None else max(1, math.ceil(len(w) * ratio / 100))
        k = min(int(k), len(w))
        picked.append(rng.choice(w, k, replace=False))
        per_class[data.classes[int(c)]] = k
    if not picked:
        raise ValueError(f"{data.name}: the training subjects have no labelled window")
    drawn = np.sort(np.concatenate(picked))
    if validation == "budget":
        labelled, val = budget_validation(drawn, y[drawn], BUDGET_VAL_FRACTION, seed)
        return Split(train_subjects, test_subjects, labelled, val, te_idx, per_class, drawn,
                     validation)  # fmt: skip
    rest = np.setdiff1d(tr_idx, drawn)
    if max_val_windows and len(rest) > max_val_windows:
        rest = stratified_sample(rest, y[rest], max_val_windows, seed)
    return Split(train_subjects, test_subjects, drawn, rest, te_idx, per_class, drawn, validation)


def normalise_user(
    data: UserData, train_subjects: list[str], card: dict[str, Any] | None = None
) -> tuple[np.ndarray, dict]:
    """Every window as the base model of ``card`` takes it (:func:`harnb.pretrained.prepare`:
    its orientation's fixed part, per recording, then its normalisation mode), z-scored by the
    statistics of the training subjects' windows (no test window enters them); returns
    (X, stats). Without a card: the paper's recipe (``sensor`` mode, no orientation)."""
    from harnb import pretrained

    card = card or {}
    mask = np.isin(data.subject_ids(), train_subjects)
    Xo = pretrained.orient(data.store.X, card, groups=np.asarray(data.store.recording))
    stats = pretrained.fit_stats(Xo[mask], pretrained.norm_kind(card))
    return pretrained.normalise(Xo, stats), stats


def check_finetuned_dir(path: str | os.PathLike[str]) -> Path:
    """The folder of a model :func:`save_finetuned` wrote (its ``model.keras`` or the folder),
    else DatasetError naming what is missing. Looks at files only (no Keras)."""
    d = Path(path).expanduser()
    if d.name == MODEL_FILE and d.is_file():
        d = d.parent
    for f in (d / MODEL_FILE, d / CARD):
        if not f.is_file():
            raise DatasetError(
                f"{d}: no {f.name}; a fine-tuned model folder holds {MODEL_FILE} and {CARD} "
                "(written by harnb finetune --out)"
            )
    return d


def check_base_model(model: str | os.PathLike[str]) -> str:
    """Refuse a model ``base_model`` cannot load, before any windowing or Keras import: a
    released name must be in ``harnb/pretrained/index.json`` (an architecture that is not
    released there names the command that produces it), anything else must be a fine-tuned
    model folder. Returns ``"released"`` or ``"folder"``."""
    from harnb import pretrained
    from harnb.config import ARCHITECTURES

    if str(model) in ARCHITECTURES:
        pretrained.check_released(str(model))
        return "released"
    p = Path(model).expanduser()
    if p.exists():
        check_finetuned_dir(p)
        return "folder"
    have = ", ".join(pretrained.available()) or "none"
    raise ValueError(
        f"--model {model!r}: neither a released model (released: {have}) nor a fine-tuned "
        "model folder / .keras file"
    )


def check_request(
    labels_per_class: int | None, ratio: float | None, strategy: str, profile: str
) -> None:
    """Refuse bad fine-tuning arguments before the data are read (ValueError)."""
    from harnb.training.profiles import get_profile

    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if labels_per_class is not None and ratio is None and labels_per_class < 1:
        raise ValueError(f"labels per class must be >= 1, got {labels_per_class}")
    if ratio is not None and not 0 < ratio <= 100:
        raise ValueError(f"ratio must be a percentage in (0, 100], got {ratio}")
    get_profile(profile)


def base_model(model: str | os.PathLike[str]) -> tuple[keras.Model, dict]:
    """The model to start from: a released one by name (with its card) or a ``.keras`` file."""
    from harnb import models, pretrained

    if str(model) in models.MODELS:
        m = pretrained.load(str(model))
        return m, dict(m.card)
    p = Path(model)
    if p.is_dir():
        p = p / MODEL_FILE
    if p.suffix == ".keras" and p.is_file():
        m, card = load_finetuned(p.parent if p.name == MODEL_FILE else p)
        return m, card
    raise ValueError(
        f"--model {model!r}: neither a released model ({', '.join(models.MODELS)}) nor a "
        "fine-tuned model folder / .keras file"
    )


def finetune_user(
    pre: keras.Model,
    X: np.ndarray,
    y: np.ndarray,
    split: Split,
    n_classes: int,
    strategy: str = "P_U",
    profile: str = "cpu",
    seed: int = 0,
    verbose: int = 0,
) -> tuple[keras.Model, Any]:
    """Fine-tune ``pre`` on the labelled windows, early-stopped on the validation windows.

    P_F trains only the fresh head on the frozen extractor's features (the fast path the grid
    uses) and returns the whole classifier.
    """
    from harnb import models
    from harnb.training import train
    from harnb.training.profiles import get_profile

    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    prof = get_profile(profile)
    ytr, yva = y[split.labelled].astype(np.int64), y[split.val].astype(np.int64)
    if strategy == "P_F":
        feat = models.frozen_features(pre)
        F = train.predict_outputs(feat, X[np.r_[split.labelled, split.val]], prof.eval_batch)
        Ftr, Fva = F[: len(ytr)], F[len(ytr) :]
        head, res = train.finetune(
            "P_F", pre, Ftr, ytr, Fva, yva, prof, seed=seed, verbose=verbose, n_classes=n_classes
        )
        return models.compose_frozen(pre, head), res
    return train.finetune(
        strategy,
        pre,
        X[split.labelled],
        ytr,
        X[split.val],
        yva,
        prof,
        seed=seed,
        verbose=verbose,
        n_classes=n_classes,
    )


def macro_f1_interval(
    y: np.ndarray, pred: np.ndarray, subjects: np.ndarray, n_classes: int, n_boot: int = N_BOOT,
    seed: int = 0,
) -> tuple[float, float, float]:  # fmt: skip
    """Macro-F1 over the classes present, with a 95 % percentile bootstrap over test subjects.

    A replicate draws the test subjects with replacement and sums their confusion counts.
    """
    from harnb.study.intervals import macro_f1_from_confusion

    present = np.unique(y)
    subs = np.unique(subjects)
    cms = np.zeros((len(subs), n_classes, n_classes))
    for i, s in enumerate(subs):
        m = subjects == s
        np.add.at(cms[i], (y[m], pred[m]), 1)
    point = macro_f1_from_confusion(cms.sum(0)[present], present)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(subs), size=(n_boot, len(subs)))
    boot = macro_f1_from_confusion(cms[draws].sum(1)[:, present], present)
    lo, hi = np.percentile(boot, [2.5, 97.5])
    return float(point), float(lo), float(hi)


def evaluate_user(
    model: keras.Model, X: np.ndarray, data: UserData, split: Split, classes: list[str],
    index: np.ndarray,
) -> dict[str, Any]:  # fmt: skip
    """Scores on the test subjects: macro-F1 with its interval, accuracy, confusion table.

    ``index`` maps the store's label indices to the model's outputs (-1: not a model class).
    """
    from harnb.training import train

    te = split.test
    y = index[data.store.y[te]]
    pred = train.predict_labels(model, X[te])
    subj = data.subject_ids()[te]
    f1, lo, hi = macro_f1_interval(y, pred, subj, len(classes))
    cm = np.zeros((len(classes), len(classes)), np.int64)
    np.add.at(cm, (y, pred), 1)
    table = pd.DataFrame(cm, index=pd.Index(classes, name="true"), columns=classes)
    present = sorted({classes[i] for i in np.unique(y)})
    return {
        "macro_f1": f1,
        "macro_f1_ci95": [lo, hi],
        "accuracy": float(np.mean(y == pred)),
        "test_windows": int(len(te)),
        "test_subjects": list(split.test_subjects),
        "classes_scored": present,
        "confusion": table,
    }


def baseline_reference(
    data: UserData, split: Split, index: np.ndarray, n_classes: int, seed: int = 0
) -> dict[str, Any]:
    """The classical baseline on exactly the user's labelled windows: per-window statistics of
    the SI windows with a random forest (:mod:`harnb.training.baseline`), scored on the same
    test subjects with the same metric and interval. A fine-tuned model below it did not
    earn its complexity."""
    from harnb.training import baseline

    drawn = split.drawn if len(split.drawn) else split.labelled
    X = data.store.X
    ytr = index[data.store.y[drawn].astype(np.int64)]
    te = split.test
    pred = baseline.fit_predict(X[drawn], ytr, X[te], kind="rf", seed=seed)
    y = index[data.store.y[te].astype(np.int64)]
    f1, lo, hi = macro_f1_interval(y, pred, data.subject_ids()[te], n_classes, seed=seed)
    return {"kind": "FE-RF", "labelled_windows": int(len(drawn)), "macro_f1": f1,
            "macro_f1_ci95": [lo, hi]}  # fmt: skip


@dataclass
class FinetuneResult:
    """What :func:`run` returns (and ``harnb finetune`` prints)."""

    model: keras.Model
    card: dict[str, Any]
    scores: dict[str, Any]
    split: Split
    history: Any = None
    out: Path | None = None

    def summary(self) -> str:
        """The report ``harnb finetune`` prints: the score, its interval, the confusion."""
        s = self.scores
        lo, hi = s["macro_f1_ci95"]
        sp = self.split
        n_drawn = len(sp.drawn) if len(sp.drawn) else len(sp.labelled)
        if sp.validation == "budget":
            stop = (
                f"stopping point chosen on {len(sp.val)} of these labelled windows (a stratified "
                "quarter per class, the rest trained on): no other label was read"
            )
        else:
            stop = (
                f"stopping point chosen on {len(sp.val)} other labelled windows of the training "
                "subjects (--validation rest): labels beyond the ones given"
            )
        lines = [
            f"test subjects {', '.join(s['test_subjects'])} ({s['test_windows']} windows, never "
            f"trained or validated on); {n_drawn} labelled windows of "
            f"{len(sp.train_subjects)} subjects ({self._per_class()})",
            stop,
            f"macro-F1 {100 * s['macro_f1']:.1f} (95 % CI {100 * lo:.1f}–{100 * hi:.1f}, "
            f"bootstrap over {len(s['test_subjects'])} test subjects), accuracy "
            f"{100 * s['accuracy']:.1f} %",
        ]
        b = s.get("baseline")
        if b:
            blo, bhi = b["macro_f1_ci95"]
            lines.append(
                f"reference: features + random forest on the same {b['labelled_windows']} "
                f"windows: {100 * b['macro_f1']:.1f} [{100 * blo:.1f}, {100 * bhi:.1f}]"
            )
            if b["macro_f1"] >= s["macro_f1"]:
                lines.append(
                    "note: the fine-tuned model does not beat the simple baseline on these "
                    "labels; more labels, another strategy, or the baseline itself may serve "
                    "you better"
                )
        lines += [
            "confusion matrix (rows true, columns predicted):",
            confusion_text(s["confusion"]),
        ]
        if len(s["test_subjects"]) == 1:
            lines.append(
                "note: one test subject: the interval cannot show how the score varies between "
                "people; hold out more subjects (--test-subjects) for that"
            )
        if self.card.get("warning"):
            lines.append(f"note: {self.card['warning']}")
        if self.out is not None:
            lines.append(f"saved {self.out / MODEL_FILE} and {self.out / CARD}")
        return "\n".join(lines)

    def _per_class(self) -> str:
        ks = set(self.split.per_class.values())
        if len(ks) == 1:
            return f"{ks.pop()} per class"
        return ", ".join(f"{c} {k}" for c, k in self.split.per_class.items())


def confusion_text(table: pd.DataFrame) -> str:
    """A confusion table as aligned text, without rows of classes absent from the test."""
    t = table[table.sum(axis=1) > 0]
    return t.to_string()


def _leak_warning(data: UserData, base_card: dict[str, Any], test_subjects: list[str]) -> str:
    """Why the score may be optimistic: test subjects the base model was pre-trained on."""
    seen = set(base_card.get("training_data", {}).get("datasets", {}))
    src = next((s for s in (data.name, data.derived_from) if s and s in seen), "")
    if not src:
        return ""
    from harnb.pretrained.release import release_subjects

    try:
        held = release_subjects(src, base_card)["test"]
    except (ValueError, DatasetError) as e:
        held, why = [], f" (its split could not be recomputed: {e})"
    else:
        why = f"; its held-out {src} subjects are {' '.join(held)} (pass --test-subjects)"
    if held and set(test_subjects) <= set(held):
        return ""
    return (
        f"{data.name} holds recordings of {src}, which the base model was pre-trained on, and "
        f"test subject(s) {' '.join(sorted(set(test_subjects) - set(held)))} were among its "
        f"pre-training subjects, so the score is optimistic{why}"
    )


def run(
    data: str | os.PathLike[str] | UserData,
    model: str = "hart",
    labels_per_class: int | None = 5,
    ratio: float | None = None,
    strategy: str = "P_U",
    profile: str = "cpu",
    test_subjects: list[str] | None = None,
    seed: int = 0,
    out: str | os.PathLike[str] | None = None,
    verbose: int = 0,
    progress: bool = False,
    allow: list[str] | tuple[str, ...] | None = None,
    validation: str = "budget",
    reference: bool = True,
) -> FinetuneResult:
    """The whole path: windows, split, normalisation, K-shot fine-tuning, subject-wise scores,
    and (with ``out``) the saved model and its card. ``progress`` reports each step on stderr;
    ``allow`` turns plausibility checks off for a folder (recorded in the card, and applied
    by :func:`predict_folder` to new recordings). ``validation`` says where early stopping
    reads labels (:func:`draw_labelled`: by default only among the given ones); ``reference``
    also scores the classical baseline on the same labelled windows."""
    import sys

    from harnb import pretrained
    from harnb.training.profiles import get_profile

    def say(msg: str) -> None:
        if progress:
            print(f"harnb finetune: {msg}", file=sys.stderr, flush=True)

    if ratio is not None:
        labels_per_class = None
    check_base_model(model)  # a bad name fails now, not after the windowing
    check_request(labels_per_class, ratio, strategy, profile)
    say(f"windowing {data if not isinstance(data, UserData) else data.name}")
    if isinstance(data, UserData):
        ud = data
    else:
        ud = load_user_windows(data, progress=progress, allow=allow)
    if len(ud.store) == 0:
        raise DatasetError(f"{ud.name}: no labelled window")
    train_s, test_s = split_subjects(ud, test_subjects, seed)
    prof = get_profile(profile)
    split = draw_labelled(
        ud, train_s, test_s, labels_per_class, ratio, prof.max_val_windows, seed=seed,
        validation=validation,
    )  # fmt: skip
    present = np.unique(ud.store.y)
    classes = [ud.classes[int(c)] for c in present]
    index = np.full(max(len(ud.classes), int(present.max()) + 1), -1, np.int64)
    index[present] = np.arange(len(present))
    y = index[ud.store.y.astype(np.int64)]
    pre, base_card = base_model(model)
    X, stats = normalise_user(ud, train_s, base_card)
    say(
        f"fine-tuning {model} ({strategy}, profile {prof.name}) on {len(split.labelled)} "
        f"labelled windows of subjects {' '.join(train_s)}, validating on {len(split.val)}"
    )
    ft, res = finetune_user(pre, X, y, split, len(classes), strategy, profile, seed, verbose)
    say(f"scoring on the {len(split.test)} windows of test subjects {' '.join(test_s)}")
    scores = evaluate_user(ft, X, ud, split, classes, index)
    if reference:
        say("scoring the classical baseline on the same labelled windows")
        scores["baseline"] = baseline_reference(ud, split, index, len(classes), seed)
    card = {
        "format": 1,
        "kind": "harnb fine-tuned model",
        "base_model": {
            k: base_card.get(k)
            for k in ("model", "created", "produced_by", "harnb_commit", "training_version")
        },
        "base_training_data": base_card.get("training_data"),
        "classes": classes,
        "finetuning": {
            "data": ud.name,
            "folder": ud.folder,
            "derived_from": ud.derived_from,
            "strategy": strategy,
            "labels_per_class": labels_per_class,
            "ratio_percent": ratio,
            "labelled_per_class": split.per_class,
            "train_subjects": split.train_subjects,
            "test_subjects": split.test_subjects,
            "validation_windows": int(len(split.val)),
            "validation": split.validation,
            "labelled_windows": int(len(split.drawn)),
            "seed": seed,
            "profile": prof.name,
            "steps": res.steps if res else 0,
            "best_step": res.best_step if res else 0,
            "stopped": res.stopped if res else "",
        },
        "preprocessing": {
            **{k: v for k, v in base_card.get("preprocessing", {}).items() if k != "normalisation"},
            "text": _input_text(classes, base_card),
            "normalisation": {
                "kind": pretrained.norm_kind(base_card),
                "mode": pretrained.norm_kind(base_card),
                "stats": stats,
                "fitted_on": "every window of the training subjects (not the test subjects)",
            },
            "checks_allowed": list(ud.allow),
            "notes": list(ud.notes),
        },
        "scores": {k: v for k, v in scores.items() if k != "confusion"}
        | {"confusion": scores["confusion"].to_dict(orient="split")},
        "warning": _leak_warning(ud, base_card, split.test_subjects),
    }
    result = FinetuneResult(ft, card, scores, split, res)
    if out is not None:
        result.out = save_finetuned(ft, card, out)
    return result


def _input_text(classes: list[str], base_card: dict[str, Any] | None = None) -> str:
    """What a fine-tuned model takes and gives, for its card (and an exported file's)."""
    from harnb import pretrained

    card = base_card or {}
    kind = pretrained.norm_kind(card)
    mode = (card.get("preprocessing", {}).get("orientation") or {}).get("mode", "none")
    head = (
        "Input: float32 array (n, 128, 6): windows of 128 samples at 50 Hz (2.56 s), channels "
        "acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z in the device's axes, accelerometer in "
        "m/s² including gravity, gyroscope in rad/s, resampled as whole recordings. Then "
    )
    align = (
        "rotate each window so that its gravity estimate lies on +z "
        "(preprocessing.orientation; harnb.pretrained.orient), then "
        if mode.startswith("align")
        else ""
    )
    if kind == "vector":
        how = (
            "divide each sensor by the scale in normalisation.stats (one root mean square per "
            "sensor, no offset; from the fine-tuning's training subjects)"
        )
    else:
        how = (
            "z-score each sensor with the mean and standard deviation in normalisation.stats "
            "(one pair per sensor, the same on its three axes; from the fine-tuning's training "
            "subjects)"
        )
    return (
        head
        + align
        + how
        + f". Output: softmax probabilities over the {len(classes)} classes, in the order of "
        "'classes'."
    )


def save_finetuned(model: keras.Model, card: dict[str, Any], out: str | os.PathLike[str]) -> Path:
    """Write ``out/model.keras`` and ``out/card.json`` (each atomically); returns ``out``."""
    d = Path(out).expanduser()
    d.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".model.", suffix=".keras", dir=d)
    os.close(fd)
    try:
        model.save(tmp)
        os.replace(tmp, d / MODEL_FILE)
        tmpc = d / f".{CARD}.{os.getpid()}.tmp"
        tmpc.write_text(json.dumps(card, indent=1, default=str) + "\n")
        os.replace(tmpc, d / CARD)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return d


def load_finetuned(path: str | os.PathLike[str]) -> tuple[keras.Model, dict[str, Any]]:
    """A model saved by :func:`save_finetuned` (its folder) with its card."""
    d = check_finetuned_dir(path)  # before Keras is imported: a wrong path fails at once
    import keras

    import harnb.models  # noqa: F401  (registers the custom layers)

    mfile, cfile = d / MODEL_FILE, d / CARD
    card = json.loads(cfile.read_text())
    return keras.saving.load_model(mfile, compile=False), card


def pretrained_normalise(
    X: np.ndarray, card: dict[str, Any], groups: np.ndarray | None = None
) -> np.ndarray:
    """Windows as a fine-tuned model takes them: its base model's orientation handling
    (``groups``: recording ids, for alignment per recording) and its training subjects'
    statistics."""
    from harnb import pretrained

    return pretrained.prepare(
        X, card, card["preprocessing"]["normalisation"]["stats"], groups=groups
    )


def predict_folder(
    model_dir: str | os.PathLike[str],
    data: str | os.PathLike[str],
    batch: int = 512,
    subjects: list[str] | None = None,
) -> pd.DataFrame:
    """Label every window of a CSV folder's recordings with a fine-tuned model.

    The folder needs no labels (no label column, no ``labels`` mapping; ignored if there);
    ``subjects`` keeps only those. Windows are normalised by the statistics in the model's
    card (the training subjects'); returns ``recording, start_s, class`` (one row per window,
    start in seconds after the recording's first sample).
    """
    check_finetuned_dir(model_dir)  # before Keras and the data: a wrong folder fails at once
    if not Path(data).expanduser().is_dir():
        raise DatasetError(f"{data}: no such folder (prediction reads a CSV dataset folder)")
    from harnb.training import train

    model, card = load_finetuned(model_dir)
    allowed = card.get("preprocessing", {}).get("checks_allowed", [])  # as its training data
    ud = load_user_windows(data, ignore_labels=True, subjects=subjects, allow=allowed)
    X = pretrained_normalise(ud.store.X, card, groups=np.asarray(ud.store.recording))
    pred = train.predict_labels(model, X, batch)
    classes = np.array(card["classes"], dtype=object)
    rec = [f"{r['subject'].split(':', 1)[-1]}/{r['session']}" for r in ud.recordings]
    return pd.DataFrame(
        {
            "recording": np.array(rec, dtype=object)[ud.store.recording],
            "start_s": np.round(ud.store.start.astype(np.float64), 2),
            "class": classes[pred],
        }
    )


def write_predictions(df: pd.DataFrame, out: str | os.PathLike[str]) -> Path:
    """The predictions as CSV, written atomically."""
    p = Path(out).expanduser()
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
    df.to_csv(tmp, index=False)
    os.replace(tmp, p)
    return p


# --------------------------------------------------------------------------- chapter 7 helpers


def example_folder(
    folder: str | os.PathLike[str] = "", subjects: list[str] | tuple[str, ...] = ("1", "2", "8")
) -> Path:
    """``folder`` if given; else MotionSense ``subjects`` exported in the CSV format under the
    data folder (``harnb data export-csv``; written once, reused while it is there)."""
    if folder:
        from harnb.data.datasets import csvfolder

        return csvfolder.meta_path(folder).parent
    from harnb import config
    from harnb.data import datasets
    from harnb.data.datasets import csvfolder

    ids = [str(s) for s in subjects]
    out = config.data_dir() / "user" / f"MotionSense_csv-{'-'.join(ids)}"
    if (out / csvfolder.META).is_file():
        return out
    info = datasets.REGISTRY["MotionSense"]
    return csvfolder.export_csv(
        datasets.load("MotionSense"),
        out,
        "MotionSense_csv",
        full_name=f"{info.full_name}, exported by harnb",
        citation=info.citation,
        terms=info.terms,
        subjects=ids,
        derived_from="MotionSense",
    )


def describe(data: UserData) -> pd.DataFrame:
    """Windows per subject and class (what there is to fine-tune and test on)."""
    t = pd.crosstab(
        pd.Series(data.subject_ids(), name="subject"),
        pd.Series(np.asarray(data.classes, dtype=object)[data.store.y.astype(int)], name="class"),
    )
    return t.loc[sorted(t.index, key=_natural)]


def scores_table(result: FinetuneResult) -> pd.DataFrame:
    """The subject-wise score with its interval and what it was computed on; a second row, the
    classical baseline on the same labelled windows, where it was scored."""
    s, f, sp = result.scores, result.card["finetuning"], result.split
    lo, hi = s["macro_f1_ci95"]
    common = {
        "labelled windows": len(sp.drawn) if len(sp.drawn) else len(sp.labelled),
        "training subjects": " ".join(f["train_subjects"]),
        "test subjects": " ".join(f["test_subjects"]),
        "test windows": s["test_windows"],
    }
    rows = [
        {
            "model": f"{result.card['base_model'].get('model')} {f['strategy']}",
            **common,
            "early stopping on": f"{len(sp.val)} windows ({sp.validation})",
            "macro-F1 × 100": f"{100 * s['macro_f1']:.1f} [{100 * lo:.1f}, {100 * hi:.1f}]",
            "steps (best)": f"{f['steps']} ({f['best_step']})",
        }
    ]
    b = s.get("baseline")
    if b:
        blo, bhi = b["macro_f1_ci95"]
        rows.append(
            {
                "model": "features + random forest",
                **common,
                "early stopping on": "",
                "macro-F1 × 100": f"{100 * b['macro_f1']:.1f} [{100 * blo:.1f}, {100 * bhi:.1f}]",
                "steps (best)": "",
            }
        )
    return pd.DataFrame(rows)


def prediction_summary(pred: pd.DataFrame) -> pd.DataFrame:
    """Predicted windows per recording and class (rows: recordings)."""
    return pd.crosstab(pred["recording"], pred["class"])
