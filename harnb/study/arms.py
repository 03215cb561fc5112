"""The orientation study's results: one results file per arm, compared pairwise with "none".

Each arm (:data:`harnb.training.profiles.STUDY_ARMS`) runs into its own file,
``<dir>/<profile>_<model>_<arm>.csv`` (one configuration each). To pair arms, their confusion
rows are bootstrapped together with the strategy renamed ``<arm>|<strategy>``: the subject
split does not depend on the arm, so every arm of one (target, model, seed) gets the same
subject and seed draws (:class:`harnb.study.intervals.Bootstrap`), and an arm − none
difference is computed replicate by replicate.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from harnb.study import intervals
from harnb.study.results import confusion_matrix_of, find_files, read_with_confusion

#: Classes whose label is the device's posture (gravity's direction is the label).
POSTURE: tuple[str, ...] = ("Sitting", "Standing", "Lying")
_NAME = re.compile(r"^(?P<profile>[a-z]+)_(?P<model>[a-z]+)_(?P<arm>.+)$")


def arm_of(path: str | Path) -> tuple[str, str, str]:
    """(profile, model, arm) of a results file named ``<profile>_<model>_<arm>.csv``."""
    m = _NAME.match(Path(path).stem)
    if not m:
        raise ValueError(f"{Path(path).name}: not named <profile>_<model>_<arm>.csv")
    return m["profile"], m["model"], m["arm"]


class ArmStudy:
    """Every arm's results and confusion counts, bootstrapped together (paired)."""

    def __init__(self, pattern: str = "data/results/orientation/cpu_*.csv", n_boot: int = 2000):
        self.files = [p for p in find_files(pattern) if not p.name.endswith(".confusion.csv")]
        res, conf = [], []
        for f in self.files:
            _, _, arm = arm_of(f)
            r, c = read_with_confusion(f)
            if r.empty or c.empty:
                continue
            res.append(r.assign(arm=arm))
            conf.append(c.assign(arm=arm, strategy=arm + "|" + c["strategy"]))
        self.results = pd.concat(res, ignore_index=True) if res else pd.DataFrame()
        self.confusion = pd.concat(conf, ignore_index=True) if conf else pd.DataFrame()
        self.boot = intervals.Bootstrap(self.confusion, n_boot=n_boot)
        self._chosen: dict[tuple, tuple[str, pd.DataFrame]] = {}

    @property
    def empty(self) -> bool:
        return self.confusion.empty

    @property
    def arms(self) -> list[str]:
        from harnb.training.profiles import STUDY_ARMS

        have = set(self.confusion["arm"]) if not self.empty else set()
        return [a for a in STUDY_ARMS if a in have] + sorted(have - set(STUDY_ARMS))

    def _cells(self, model: str, protocol: str = "paper") -> list[tuple]:
        return [c for c in self.boot.cells() if c[0] == protocol and c[2] == model]

    def _groups(self, model: str) -> dict[str, set[tuple[str, int]]]:
        """Per arm, the (target, seed) groups with a finished macro-F1 cell of ``model``."""
        if self.results.empty:
            return {}
        d = self.results[(self.results["model"] == model) & (self.results["metric"] == "macro_f1")]
        d = d[d["status"] == "ok"]
        return {a: set(zip(g["target"], g["seed"], strict=True)) for a, g in d.groupby("arm")}

    def common_groups(self, model: str) -> list[tuple[str, int]]:
        """(target, seed) groups that every arm has finished (their macro-F1 rows)."""
        per_arm = list(self._groups(model).values())
        return sorted(set.intersection(*per_arm)) if per_arm else []

    def scores(self, model: str, protocol: str = "paper") -> pd.DataFrame:
        """Tidy (arm, strategy, target incl. AVG, ratio, mean, lo, hi, seeds) macro-F1."""
        t = intervals.cell_intervals(self.boot, model, protocol)
        if t.empty:
            return t
        parts = t["strategy"].str.split("|", n=1, expand=True)
        return t.assign(arm=parts[0], strategy=parts[1])

    def versus_none(self, model: str, protocol: str = "paper", base: str = "none") -> pd.DataFrame:
        """arm − ``base`` per strategy, target (and AVG) and ratio, paired within seeds."""
        pairs = []
        for c in self._cells(model, protocol):
            p, t, m, key, r = c
            arm, st = key.split("|", 1)
            b = (p, t, m, f"{base}|{st}", r)
            if arm != base and self.boot.seeds(b):
                pairs.append((c, b, {"target": t, "ratio": r, "arm": arm, "strategy": st}))
        return intervals.paired_differences(self.boot, pairs)

    def versus_baseline(self, model: str, protocol: str = "paper", baseline: str = "FE-RF"):
        """Each deep strategy − the classical baseline on the same labelled windows, per arm."""
        pairs = []
        for c in self._cells(model, protocol):
            p, t, m, key, r = c
            arm, st = key.split("|", 1)
            b = (p, t, m, f"{arm}|{baseline}", r)
            if st in ("Rd", "P_F", "P_F-tBN", "P_U") and self.boot.seeds(b):
                pairs.append((c, b, {"target": t, "ratio": r, "arm": arm, "strategy": st}))
        return intervals.paired_differences(self.boot, pairs)

    def per_class(self, model: str, protocol: str = "paper") -> pd.DataFrame:
        """F1 (× 1) per arm, strategy, ratio and class, from the confusion counts summed over
        targets, seeds and test subjects; ``group`` is posture or locomotion."""
        from harnb.config import CLASSES

        d = self.confusion[(self.confusion["model"] == model)]
        d = d[d["protocol"] == protocol]
        rows = []
        for (key, r), g in d.groupby(["strategy", "ratio"]):
            arm, st = key.split("|", 1)
            total = np.zeros((len(CLASSES), len(CLASSES)))  # row: true class of the union
            for row in g.itertuples():
                cls, m = confusion_matrix_of(row)
                total[cls] += m
            present = np.flatnonzero(total.sum(1))
            for i, f1 in zip(present, intervals.per_class_f1(total[present], present), strict=True):
                name = CLASSES[i]
                rows.append({"arm": arm, "strategy": st, "ratio": int(r), "class": name,
                             "group": "posture" if name in POSTURE else "locomotion",
                             "f1": float(f1), "support": int(total[i].sum())})  # fmt: skip
        return pd.DataFrame(rows)

    def complete(self, model: str, n_targets: int = 3, n_seeds: int = 3) -> bool:
        """Whether every arm of ``model`` has finished the same ``n_targets`` × ``n_seeds``
        (target, seed) groups: the study the criterion is applied to, not a part of it."""
        groups = list(self._groups(model).values())
        if not groups or any(g != groups[0] for g in groups):
            return False
        return len({t for t, _ in groups[0]}) >= n_targets and len(groups[0]) >= n_targets * n_seeds

    def progress(self, n_targets: int = 3, n_seeds: int = 3) -> pd.DataFrame:
        """Per model and arm: the (target, seed) groups finished out of ``n_targets`` ×
        ``n_seeds``, the seeds finished on every target, and the hours the cells took (the sum
        of their ``seconds``, pre-training included, as the lanes ran them). A group counts as
        finished when it has as many cells as the arm's fullest group (a stop cuts a group)."""
        cols = ["model", "arm", "groups finished", "seeds on every target", "cells", "hours"]
        if self.results.empty:
            return pd.DataFrame(columns=cols)
        d = self.results[(self.results["metric"] == "macro_f1") & (self.results["status"] == "ok")]
        rows = []
        for (m, arm), g in d.groupby(["model", "arm"], sort=False):
            size = g.groupby(["target", "seed"]).size()
            done = size[size == size.max()].index
            targets = {t for t, _ in done}
            seeds = [
                s
                for s in sorted({s for _, s in done})
                if sum(1 for _, x in done if x == s) >= max(len(targets), n_targets)
            ]
            rows.append({
                "model": m, "arm": arm,
                "groups finished": f"{len(done)} / {n_targets * n_seeds}",
                "seeds on every target": " ".join(map(str, seeds)) or "—",
                "cells": len(g), "hours": round(float(g["seconds"].sum()) / 3600, 1),
            })  # fmt: skip
        order = {a: i for i, a in enumerate(self.arms)}
        out = pd.DataFrame(rows, columns=cols)
        return out.sort_values(["model", "arm"], key=lambda c: c.map(order) if c.name == "arm"
                               else c).reset_index(drop=True)  # fmt: skip

    def file(self, model: str, arm: str) -> Path | None:
        """The results file of ``model``'s ``arm`` (``<profile>_<model>_<arm>.csv``), if any."""
        return next((f for f in self.files if arm_of(f)[1:] == (model, arm)), None)

    def recipe(
        self, model: str = "hart", reference: str = "hart", n_targets: int = 3, n_seeds: int = 3
    ) -> str | None:
        """The default recipe's arm for ``model``: what :meth:`choose` picks on ``reference``'s
        complete study (HART ranks the arms; ISPL runs the two it ranks best beside none),
        provided ``model``'s study is complete too and holds that arm; None before that."""
        size = dict(n_targets=n_targets, n_seeds=n_seeds)
        if not (self.complete(reference, **size) and self.complete(model, **size)):
            return None
        arm, _ = self.choose(reference)
        return arm if self.file(model, arm) is not None else None

    def choose(
        self, model: str, strategy: str = "P_U", ratio: int = 1, base: str = "none"
    ) -> tuple[str, pd.DataFrame]:
        """The criterion fixed before the runs: the arm with the highest mean ``strategy``
        macro-F1 at ``ratio`` % over targets and seeds; it replaces ``base`` only if its paired
        difference's 95 % interval excludes 0. Returns (arm, the ranking). Computed once per
        arguments (the front page and chapter 5 ask several times)."""
        key = (model, strategy, ratio, base)
        if key not in self._chosen:
            self._chosen[key] = self._choose(*key)
        return self._chosen[key]

    def runners_up(
        self, model: str, k: int = 2, base: str = "none", strategy: str = "P_U", ratio: int = 1
    ) -> list[str]:
        """The ``k`` arms other than ``base`` that :meth:`choose`'s ranking puts first: the
        arms ISPL runs beside ``base`` (HART ranks them; item 2 of the study)."""
        _, ranking = self.choose(model, strategy, ratio, base)
        return [a for a in ranking["arm"].astype(str) if a != base][:k]

    def _choose(self, model: str, strategy: str, ratio: int, base: str) -> tuple[str, pd.DataFrame]:
        from harnb.training.profiles import STUDY_ARMS

        s = self.scores(model)
        s = s[(s["target"] == "AVG") & (s["strategy"] == strategy) & (s["ratio"] == ratio)]
        s = s[s["arm"].isin(STUDY_ARMS)]  # a candidate recipe, not a protocol variant (none-budget)
        if s.empty:
            return base, s
        s = s.sort_values("mean", ascending=False)
        best = str(s.iloc[0]["arm"])
        d = self.versus_none(model, base=base)
        d = d[(d["target"] == "AVG") & (d["strategy"] == strategy) & (d["ratio"] == ratio)]
        d = d[d["arm"] == best]
        chosen = best if best != base and len(d) and float(d.iloc[0]["lo"]) > 0 else base
        return chosen, s
