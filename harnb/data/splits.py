"""Leave-One-Dataset-Out partitions: which windows pre-train, validate, fine-tune and test.

Three protocols of the target are offered (reference §4.6, design "The paper, its released
code, and our protocol"). Under all three the **sources** are split by subject into 90 % train
/ 10 % validation (seeded, class-stratified), so one pre-trained model per (target, seed) serves
every protocol and a protocol gap measures the target's split alone.

``"paper"`` (default) — what the paper's text describes, made leak-free:
    * the target is split **by subject** into 20 % test, 10 % validation and a 70 % pool;
    * the 1/5/10/70 % fine-tuning subsets are drawn from the pool (r/70 of its windows),
      class-stratified, **nested** (1 ⊂ 5 ⊂ 10 ⊂ 70) and holding at least one window of every
      class present in the pool.
    Subjects are assigned to parts by a seeded greedy stratification over per-subject class
    counts followed by a local search (moves and swaps), so each part's class distribution is
    as close as possible to the dataset's and — where the data allow — every target class is in
    test and validation.

``"released-code"`` — the target split of the authors' ``LODO.py`` (reference §4.1–4.3): per
    subject, ``StratifiedKFold(10, shuffle=False)`` on its windows in stored time order gives
    folds F0..F9; pool = F0–F6, validation = F8, test = F8 + F9, F7 unused. Subsets are drawn
    per subject (r/70 with ``train_test_split(random_state=seed)``, or the first window of each
    class when r/70 · n < 10), independently per ratio, hence **not nested**. Its target
    validation set is half of its test set (bug B-L1) and every test subject is also in the
    pool (B-L3). (The released code also validated pre-training inside its training windows,
    B-L5; our shared pre-training does not.)

``"released-matched"`` — the released folds with everything else made equal to ``paper``:
    fine-tuning subsets of exactly the paper protocol's per-class counts for the same seed
    (nested, drawn from the F0–F6 pool), and validation on F7, outside the test set. What is
    left of its gap to ``paper`` is that the test subjects were seen in fine-tuning (and the
    test population: the last windows of every subject instead of 20 % of the subjects).

Normalisation statistics (:meth:`LODOSplit.norm_mask`) come from every window except the
target's test windows, for both protocols; ``as_released=True`` gives all windows, as the
released code did (B-C2).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

PROTOCOLS: tuple[str, ...] = ("paper", "released-matched", "released-code")
#: Protocols whose test subjects are also fine-tuned on (within-subject splits).
WITHIN_SUBJECT: tuple[str, ...] = ("released-matched", "released-code")
#: Fine-tuning ratios of the paper, in % of the whole target (0 = no fine-tuning).
RATIOS: tuple[int, ...] = (0, 1, 5, 10, 70)
SUBSET_RATIOS: tuple[int, ...] = (1, 5, 10, 70)
#: Fractions of the paper protocol's parts.
SOURCE_FRACTIONS: dict[str, float] = {"train": 0.9, "val": 0.1}
TARGET_FRACTIONS: dict[str, float] = {"test": 0.2, "val": 0.1, "pool": 0.7}


class StoreLike(Protocol):
    """What splitting needs from a :class:`harnb.data.preprocess.WindowStore`."""

    y: np.ndarray
    dataset: np.ndarray
    subject: np.ndarray


def _check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {PROTOCOLS}")


def check_ratio(ratio: int) -> int:
    """Return ``ratio`` as an int, or raise ValueError if it is not one of :data:`RATIOS`."""
    try:
        r = int(ratio)
    except (TypeError, ValueError):
        raise ValueError(f"ratio must be one of {RATIOS}, got {ratio!r}") from None
    if r != ratio or r not in RATIOS:
        raise ValueError(f"ratio must be one of {RATIOS} (percent of the target), got {ratio!r}")
    return r


def datasets_in(store: StoreLike) -> list[str]:
    """Datasets present in the store, in first-appearance order."""
    _, first = np.unique(store.dataset, return_index=True)
    return [str(store.dataset[i]) for i in sorted(first)]


def classes_of(store: StoreLike, dataset: str) -> np.ndarray:
    """Sorted union labels present in ``dataset`` (the classes its macro-F1 averages over)."""
    m = np.asarray(store.dataset) == dataset
    if not m.any():
        raise ValueError(f"dataset {dataset!r} has no windows in the store ({datasets_in(store)})")
    return np.unique(np.asarray(store.y)[m]).astype(np.int64)


# --------------------------------------------------------------------------------------------
# Subject-level stratification
# --------------------------------------------------------------------------------------------


def _cost(
    counts: np.ndarray,
    sizes: np.ndarray,
    desired: np.ndarray,
    desired_sizes: np.ndarray,
    class_tot: np.ndarray,
    required: np.ndarray,
    n_subj: np.ndarray,
) -> float:
    """Squared deviation of every part from its share, per class (classes weigh equally).

    Large penalties for an empty part and for a class of the dataset missing from a part that
    must hold every class (test, validation).
    """
    dev = ((counts - desired) / np.maximum(class_tot, 1)) ** 2
    size_dev = ((sizes - desired_sizes) / max(desired_sizes.sum(), 1)) ** 2
    missing = ((counts[required] == 0) & (class_tot > 0)).sum()
    empty = (n_subj == 0).sum()
    return float(dev.sum() + 2.0 * size_dev.sum() + 10.0 * missing + 1000.0 * empty)


#: Up to this many possible assignments (parts ** subjects) every one is scored, and the seed
#: picks among the good ones (:func:`_assign_exhaustive`): MobiFall's 9 subjects into 3 parts.
EXHAUSTIVE_MAX = 20_000
#: How far from the best split a split may be and still be drawn (cost ≤ best · (1 + slack) +
#: tolerance): different seeds then hold out different subjects, as with more subjects.
EXHAUSTIVE_SLACK = 0.5


def tol_of(k: int, class_tot: np.ndarray, tolerance: float) -> float:
    """The cost below which a split is "good enough" (every class share within ~tolerance)."""
    return k * max(int((class_tot > 0).sum()), 1) * tolerance**2


def _assign_exhaustive(
    counts: np.ndarray,
    desired: np.ndarray,
    desired_sizes: np.ndarray,
    class_tot: np.ndarray,
    required: np.ndarray,
    seed: int,
    tol: float,
) -> np.ndarray:
    """Score every assignment of few subjects (vectorised) and draw one of the good ones.

    Without it, a dataset of 9 subjects gets the same split under every seed (the local search
    converges to one optimum), so its intervals would not cover the split's variance.
    """
    n, k = counts.shape[0], desired.shape[0]
    grid = np.indices((k,) * n).reshape(n, -1).T  # (k**n, n) part of each subject
    onehot = grid[:, :, None] == np.arange(k)[None, None, :]  # (m, n, k)
    pc = np.einsum("mnk,nc->mkc", onehot.astype(np.float64), counts)
    sizes = pc.sum(2)
    dev = (((pc - desired[None]) / np.maximum(class_tot, 1)) ** 2).sum((1, 2))
    size_dev = (((sizes - desired_sizes[None]) / max(desired_sizes.sum(), 1)) ** 2).sum(1)
    missing = ((pc[:, required] == 0) & (class_tot > 0)[None, None]).sum((1, 2))
    empty = (onehot.sum(1) == 0).sum(1)
    cost = dev + 2.0 * size_dev + 10.0 * missing + 1000.0 * empty
    good = np.flatnonzero(cost <= cost.min() * (1 + EXHAUSTIVE_SLACK) + tol)
    return grid[np.random.default_rng(seed).choice(good)].astype(np.int64)


def assign_subjects(
    counts: np.ndarray,
    fractions: Sequence[float],
    seed: int = 0,
    require_all_classes: Sequence[int] = (),
    max_passes: int = 50,
    tolerance: float = 0.02,
) -> np.ndarray:
    """Assign subjects to parts so each part's class counts are close to its fraction.

    ``counts`` is (n_subjects, n_classes) windows per subject and class. Returns the part index
    of each subject. Greedy over subjects in seeded order, then a local search over single moves
    and pairwise swaps until every class share is within about ``tolerance`` of its target (or
    no move helps). Every part receives at least one subject, and
    parts listed in ``require_all_classes`` hold every class where the subjects allow it.
    """
    counts = np.asarray(counts, dtype=np.float64)
    n, _ = counts.shape
    fr = np.asarray(fractions, dtype=np.float64)
    fr = fr / fr.sum()
    k = len(fr)
    if n < k:
        raise ValueError(f"{n} subjects cannot fill {k} parts (need at least {k})")
    class_tot = counts.sum(0)
    desired = fr[:, None] * class_tot[None, :]
    desired_sizes = fr * counts.sum()
    required = np.zeros(k, dtype=bool)
    required[list(require_all_classes)] = True

    if k**n <= EXHAUSTIVE_MAX:  # few subjects: the search would reach one seed-free optimum
        return _assign_exhaustive(
            counts,
            desired,
            desired_sizes,
            class_tot,
            required,
            seed,
            tol_of(k, class_tot, tolerance),
        )

    rng = np.random.default_rng(seed)
    order = rng.permutation(n)  # seeded order: different seeds give different (good) splits

    part = np.full(n, -1, dtype=np.int64)
    pc = np.zeros((k, counts.shape[1]))
    n_subj = np.zeros(k, dtype=np.int64)
    # "good enough": every class share within ~2 points of its target in every part; the local
    # search stops there instead of converging to one seed-independent optimum.
    tol = tol_of(k, class_tot, tolerance)

    def cost_of(pc_: np.ndarray, ns: np.ndarray, final: bool) -> float:
        empty = ns if final else np.ones_like(ns)  # empty parts only penalised at the end
        return _cost(pc_, pc_.sum(1), desired, desired_sizes, class_tot, required, empty)

    for pos, s in enumerate(order):
        remaining = n - pos
        empty_parts = np.flatnonzero(n_subj == 0)
        cands = empty_parts if remaining <= len(empty_parts) else np.arange(k)
        best, best_c = -1, np.inf
        for p in cands:
            pc[p] += counts[s]
            c = cost_of(pc, n_subj, False)
            pc[p] -= counts[s]
            if c < best_c - 1e-12:
                best, best_c = int(p), c
        part[s] = best
        pc[best] += counts[s]
        n_subj[best] += 1

    cur = cost_of(pc, n_subj, True)
    for _ in range(max_passes):
        if cur <= tol:
            break
        improved = False
        for s in order:  # single moves
            a = part[s]
            if n_subj[a] <= 1:
                continue
            for b in range(k):
                if b == a:
                    continue
                pc[a] -= counts[s]
                pc[b] += counts[s]
                n_subj[a] -= 1
                n_subj[b] += 1
                c = cost_of(pc, n_subj, True)
                if c < cur - 1e-12:
                    part[s], cur, a, improved = b, c, b, True
                else:
                    pc[a] += counts[s]
                    pc[b] -= counts[s]
                    n_subj[a] += 1
                    n_subj[b] -= 1
        for i, s in enumerate(order):  # pairwise swaps
            for t in order[i + 1 :]:
                a, b = part[s], part[t]
                if a == b:
                    continue
                d = counts[t] - counts[s]
                pc[a] += d
                pc[b] -= d
                c = cost_of(pc, n_subj, True)
                if c < cur - 1e-12:
                    part[s], part[t], cur, improved = b, a, c, True
                else:
                    pc[a] -= d
                    pc[b] += d
        if not improved:
            break
    return part


def _subject_counts(y: np.ndarray, subj: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unique subjects (first-appearance order), per-window subject index, (S, 10) counts."""
    from harnb.config import N_CLASSES

    uniq, first, inv = np.unique(subj, return_index=True, return_inverse=True)
    order = np.argsort(first)
    remap = np.empty_like(order)
    remap[order] = np.arange(len(order))
    inv = remap[inv]
    counts = np.zeros((len(uniq), max(N_CLASSES, int(y.max()) + 1)), dtype=np.int64)
    np.add.at(counts, (inv, y.astype(np.int64)), 1)
    return uniq[order], inv, counts


def split_subjects(
    store: StoreLike,
    dataset: str,
    fractions: dict[str, float],
    seed: int = 0,
    require_all_classes: Sequence[str] = (),
) -> dict[str, np.ndarray]:
    """Split one dataset's windows by subject into named parts; returns sorted store indices."""
    idx = np.flatnonzero(np.asarray(store.dataset) == dataset)
    if len(idx) == 0:
        raise ValueError(f"dataset {dataset!r} has no windows in the store ({datasets_in(store)})")
    names = list(fractions)
    subj, inv, counts = _subject_counts(np.asarray(store.y)[idx], np.asarray(store.subject)[idx])
    if len(subj) < len(names):
        raise ValueError(
            f"{dataset} has {len(subj)} subject(s); a subject-wise split into {names} needs at "
            f"least {len(names)}"
        )
    req = [names.index(r) for r in require_all_classes]
    part = assign_subjects(counts, [fractions[k] for k in names], seed, req)
    return {name: idx[part[inv] == p] for p, name in enumerate(names)}


# --------------------------------------------------------------------------------------------
# Fine-tuning subsets
# --------------------------------------------------------------------------------------------


def nested_subsets(
    y: np.ndarray, ratios: Sequence[int] = SUBSET_RATIOS, seed: int = 0
) -> dict[int, np.ndarray]:
    """Positions into ``y`` (a pool) of nested, class-stratified subsets of r/70 of the pool.

    Per class, windows are shuffled once (seeded) and each subset takes a prefix, so subsets are
    nested. A class gets round(n_c · r/70) windows, at least one, never fewer than for a smaller
    ratio; 70 gives the whole pool.
    """
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    perms = {int(c): rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)}
    out: dict[int, np.ndarray] = {}
    prev = dict.fromkeys(perms, 0)
    for r in sorted(check_ratio(r) for r in ratios):
        if r == 0:
            out[0] = np.empty(0, dtype=np.int64)
            continue
        parts = []
        for c, p in perms.items():
            k = len(p) if r >= 70 else int(np.floor(len(p) * r / 70 + 0.5))
            k = min(len(p), max(k, 1, prev[c]))
            prev[c] = k
            parts.append(p[:k])
        out[r] = np.sort(np.concatenate(parts)).astype(np.int64)
    return out


def stratified_sample(idx: np.ndarray, y: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """About ``k`` of ``idx`` (labels ``y``), class proportions kept, ≥ 1 per class, sorted."""
    idx, y = np.asarray(idx), np.asarray(y)
    if k >= len(idx):
        return np.sort(idx)
    rng = np.random.default_rng(seed)
    out = []
    for c in np.unique(y):
        w = np.flatnonzero(y == c)
        n = min(len(w), max(1, int(round(len(w) * k / len(idx)))))
        out.append(idx[rng.choice(w, n, replace=False)])
    return np.sort(np.concatenate(out))


def budget_validation(
    idx: np.ndarray, y: np.ndarray, fraction: float = 0.25, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Split a labelled subset into (train, validation) for early stopping inside the budget.

    Per class: ``round(fraction · n)`` windows, at least 1, go to validation when the class
    has 2 or more (a class with one window trains and is never validated); seeded, sorted.
    Every label the run reads is then one of the ratio's.
    """
    idx, y = np.asarray(idx), np.asarray(y)
    rng = np.random.default_rng([int(seed), 11])
    val = []
    for c in np.unique(y):
        w = idx[y == c]
        if len(w) < 2:
            continue
        k = min(len(w) - 1, max(1, int(round(fraction * len(w)))))
        val.append(rng.choice(w, k, replace=False))
    v = np.sort(np.concatenate(val)) if val else np.empty(0, dtype=idx.dtype)
    return np.sort(np.setdiff1d(idx, v)), v


def matched_subsets(
    y: np.ndarray, pool: np.ndarray, counts: dict[int, np.ndarray], seed: int = 0
) -> dict[int, np.ndarray]:
    """Nested subsets of ``pool`` (store indices) with ``counts[r][c]`` windows of class c.

    Per class the pool's windows are shuffled once (seeded) and each ratio takes a prefix, so
    the subsets are nested like the paper protocol's; a class the pool holds fewer windows of
    than asked gets all it has.
    """
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    yp = y[pool]
    perms = {int(c): pool[rng.permutation(np.flatnonzero(yp == c))] for c in np.unique(yp)}
    out: dict[int, np.ndarray] = {}
    for r in sorted(counts):
        parts = [p[: int(counts[r][c])] for c, p in perms.items() if c < len(counts[r])]
        out[r] = np.sort(np.concatenate(parts)).astype(np.int64)
    return out


def _released_subset(y_pool: np.ndarray, ratio: int, seed: int) -> np.ndarray:
    """One subject's released-code subset (positions into its pool, reference §4.3)."""
    from sklearn.model_selection import train_test_split

    n = len(y_pool)
    if ratio >= 70:
        return np.arange(n)
    keep = ratio / 70
    if keep * n < 10:
        _, first = np.unique(y_pool, return_index=True)
        return np.sort(first)
    pos = np.arange(n)
    try:
        tr, _ = train_test_split(
            pos, stratify=y_pool, test_size=(70 - ratio) / 70, random_state=seed
        )
    except ValueError:
        # A class with one window: the released code crashes here (B-L2); we draw unstratified.
        tr, _ = train_test_split(pos, test_size=(70 - ratio) / 70, random_state=seed)
    return np.sort(tr)


def _released_folds(y: np.ndarray, n_splits: int = 10) -> np.ndarray:
    """Fold number 0..9 of each window of one subject, as ``StratifiedKFold(10, shuffle=False)``.

    This is sklearn's own allocation (round-robin over the sorted labels, then contiguous blocks
    per class in stored order; classes numbered by first appearance), written out so that a
    subject whose every class has fewer than 10 windows still gets folds instead of an error.
    A test checks it equals sklearn wherever sklearn accepts the input.
    """
    y = np.asarray(y)
    _, y_idx, y_inv = np.unique(y, return_index=True, return_inverse=True)
    _, class_perm = np.unique(y_idx, return_inverse=True)
    y_enc = class_perm[y_inv]
    n_classes = len(y_idx)
    y_order = np.sort(y_enc)
    alloc = np.asarray(
        [np.bincount(y_order[i::n_splits], minlength=n_classes) for i in range(n_splits)]
    )
    fold = np.empty(len(y), dtype=np.int64)
    for k in range(n_classes):
        fold[y_enc == k] = np.arange(n_splits).repeat(alloc[:, k])
    return fold


def released_code_parts(store: StoreLike, dataset: str) -> dict[str, Any]:
    """Per-subject fold roles of the released ``LODO.py`` for one dataset.

    Returns store indices of ``pool`` (F0–F6, in the released concatenation order: per subject,
    fold by fold), ``F7``, ``F8``, ``F9`` and ``pool_by_subject`` (list of index arrays).
    Windows are taken per subject in stored time order (recording, then start, if present).
    """
    ds = np.asarray(store.dataset)
    idx = np.flatnonzero(ds == dataset)
    if len(idx) == 0:
        raise ValueError(f"dataset {dataset!r} has no windows in the store ({datasets_in(store)})")
    y = np.asarray(store.y)
    subj = np.asarray(store.subject)
    rec = getattr(store, "recording", None)
    start = getattr(store, "start", None)
    pools: list[np.ndarray] = []
    f7, f8, f9 = [], [], []
    _, first = np.unique(subj[idx], return_index=True)
    for s in subj[idx][np.sort(first)]:
        si = idx[subj[idx] == s]
        if rec is not None and start is not None:
            si = si[np.lexsort((np.asarray(start)[si], np.asarray(rec)[si]))]
        fold = _released_folds(y[si])
        pools.append(np.concatenate([si[fold == f] for f in range(7)]))
        f7.append(si[fold == 7])
        f8.append(si[fold == 8])
        f9.append(si[fold == 9])
    cat = np.concatenate
    return {
        "pool": cat(pools),
        "F7": np.sort(cat(f7)),
        "F8": np.sort(cat(f8)),
        "F9": np.sort(cat(f9)),
        "pool_by_subject": pools,
    }


# --------------------------------------------------------------------------------------------
# The LODO split
# --------------------------------------------------------------------------------------------


@dataclass
class LODOSplit:
    """Store indices of every part of one LODO fold (one left-out ``target``).

    ``target_subsets[r]`` holds the fine-tuning windows for ratio r ∈ {1, 5, 10, 70}; ratio 0
    means no fine-tuning. ``target_classes`` are the classes present in the target (macro-F1 is
    averaged over them).
    """

    protocol: str
    target: str
    seed: int
    subset_seed: int
    sources: tuple[str, ...]
    source_train: np.ndarray
    source_val: np.ndarray
    target_pool: np.ndarray
    target_val: np.ndarray
    target_test: np.ndarray
    target_subsets: dict[int, np.ndarray]
    target_classes: np.ndarray
    n_windows: int
    notes: list[str] = field(default_factory=list)

    def subset(self, ratio: int) -> np.ndarray:
        """Fine-tuning indices for ``ratio`` (empty for 0)."""
        r = check_ratio(ratio)
        return np.empty(0, dtype=np.int64) if r == 0 else self.target_subsets[r]

    def norm_mask(self, as_released: bool = False) -> np.ndarray:
        """Windows whose statistics normalise each dataset: all but the target's test windows.

        ``as_released=True`` returns every window, as the released code did (B-C2, it leaks the
        test windows into the statistics).
        """
        m = np.ones(self.n_windows, dtype=bool)
        if not as_released:
            m[self.target_test] = False
        return m

    def sizes(self) -> dict[str, int]:
        """Window counts of every part (Table II's layout for the subsets)."""
        d = {
            "source_train": len(self.source_train),
            "source_val": len(self.source_val),
            "target_pool": len(self.target_pool),
            "target_val": len(self.target_val),
            "target_test": len(self.target_test),
        }
        d.update({f"subset_{r}": len(v) for r, v in sorted(self.target_subsets.items())})
        return d


def lodo_split(
    store: StoreLike,
    target: str,
    protocol: str = "paper",
    seed: int = 0,
    subset_seed: int | None = None,
    sources: Sequence[str] | None = None,
) -> LODOSplit:
    """Partition ``store`` for the LODO fold whose left-out dataset is ``target``.

    ``seed`` drives the subject assignment (paper protocol); ``subset_seed`` (default ``seed``)
    drives the draw of the fine-tuning subsets, so several fine-tuning seeds can share one
    subject split and one pre-trained model. ``sources`` defaults to every other dataset in the
    store.
    """
    _check_protocol(protocol)
    ds = np.asarray(store.dataset)
    present = datasets_in(store)
    if target not in present:
        raise ValueError(f"target {target!r} has no windows in the store (present: {present})")
    srcs = tuple(d for d in present if d != target) if sources is None else tuple(sources)
    for s in srcs:
        if s not in present or s == target:
            raise ValueError(f"bad source {s!r} (target {target!r}, present {present})")
    if not srcs:
        raise ValueError("LODO needs at least one source dataset besides the target")
    sseed = seed if subset_seed is None else subset_seed
    y = np.asarray(store.y)
    cat = np.concatenate
    notes: list[str] = []

    # The sources are split by subject under every protocol: pre-training sees only them, so
    # one pre-trained model per (target, seed) serves all protocols and a protocol gap measures
    # the target's split alone (the released code validated pre-training inside its training
    # windows, B-L5).
    tr, va = [], []
    for s in srcs:
        p = split_subjects(store, s, SOURCE_FRACTIONS, seed, require_all_classes=("val",))
        tr.append(p["train"])
        va.append(p["val"])
    source_train, source_val = np.sort(cat(tr)), np.sort(cat(va))

    if protocol == "paper" or protocol == "released-matched":
        n_subj = len(np.unique(np.asarray(store.subject)[ds == target]))
        if n_subj < 3:
            raise ValueError(
                f"target {target} has {n_subj} subject(s); the paper protocol needs at least 3 "
                "(test, validation, fine-tuning pool)"
            )
        t = split_subjects(store, target, TARGET_FRACTIONS, seed, ("test", "val"))
        pool, tval, ttest = t["pool"], t["val"], t["test"]
        subs = {r: pool[p] for r, p in nested_subsets(y[pool], SUBSET_RATIOS, sseed).items()}
    if protocol == "released-matched":
        # the released code's within-subject folds, with fine-tuning subsets of the paper
        # protocol's sizes and class make-up, and validation on the fold it left unused (F7):
        # what is left of the gap is whether the test subjects were seen in fine-tuning
        counts = {r: np.bincount(y[v], minlength=int(y.max()) + 1) for r, v in subs.items()}
        t = released_code_parts(store, target)
        pool = np.sort(t["pool"])
        tval, ttest = t["F7"], np.sort(cat([t["F8"], t["F9"]]))
        subs = matched_subsets(y, pool, counts, sseed)
        notes.append("released-matched: every test subject is also in the fine-tuning pool")
    elif protocol == "released-code":
        t = released_code_parts(store, target)
        pool = np.sort(t["pool"])
        tval, ttest = t["F8"], np.sort(cat([t["F8"], t["F9"]]))
        subs = {70: pool}
        for r in (1, 5, 10):
            subs[r] = np.sort(
                cat([pp[_released_subset(y[pp], r, sseed)] for pp in t["pool_by_subject"]])
            )
        notes.append("released-code: target validation (F8) is half of the test set (B-L1)")
        notes.append("released-code: every test subject is also in the fine-tuning pool (B-L3)")

    tclasses = classes_of(store, target)
    for name, part in (("test", ttest), ("validation", tval)):
        missing = sorted(set(tclasses) - set(np.unique(y[part]).tolist()))
        if missing:
            notes.append(f"target {name} lacks classes {missing} (too few subjects hold them)")
    return LODOSplit(
        protocol=protocol,
        target=target,
        seed=seed,
        subset_seed=sseed,
        sources=srcs,
        source_train=source_train.astype(np.int64),
        source_val=source_val.astype(np.int64),
        target_pool=np.sort(pool).astype(np.int64),
        target_val=np.sort(tval).astype(np.int64),
        target_test=ttest.astype(np.int64),
        target_subsets={r: v.astype(np.int64) for r, v in sorted(subs.items())},
        target_classes=tclasses,
        n_windows=len(y),
        notes=notes,
    )


def cross_dataset_split(
    store: StoreLike, dataset: str, train_frac: float = 0.7, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Subject-wise, class-stratified (train, test) indices of one dataset for Fig. 1.

    Train on ``train_frac`` of dataset i's subjects, test on the rest of dataset j's.
    """
    if not 0 < train_frac < 1:
        raise ValueError(f"train_frac must be in (0, 1), got {train_frac}")
    p = split_subjects(
        store, dataset, {"train": train_frac, "test": 1 - train_frac}, seed, ("test",)
    )
    return p["train"], p["test"]
