"""Named run profiles: the same code runs in CI, on a 2-core CPU and on a GPU; only sizes change.

``ci``
    Minutes on a CPU: ≤ 2,000 windows per dataset, 2 pre-training epochs, fine-tuning of at most
    30 steps, one model, one seed, a subset of the ratios. It proves that every chapter runs;
    its numbers mean nothing.
``cpu``
    Real but reduced, for the four architectures over the three datasets of the mirror (UCI,
    MotionSense, the MobiFall subset), run as the parts of :data:`CPU_PLAN`: every window,
    training counted in optimiser steps with early stopping (pre-training: validated every 100
    steps on the sources' validation subjects, patience 4, 400–2,400 steps; fine-tuning: every
    20 steps on ≤ 500 target validation windows, patience 8, 60–3,000 steps), precise
    BatchNorm, one subject split and pre-training per seed shared by the three protocols. See :data:`CPU_SIZING` for the measured cost and
    :func:`plan_table` for the arithmetic (``harnb run --plan``).
``full``
    The paper's settings (§IV-C): 200 epochs of pre-training (batch 128) and fine-tuning
    (batch 64), Adam 5e-4, the best validation epoch kept, all four models; for a GPU.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from harnb.data.orientation import ARMS as ORIENTATION_MODES
from harnb.data.preprocess import NORM_MODES
from harnb.data.splits import PROTOCOLS, RATIOS
from harnb.training.budget import Budget

#: Version of the training and evaluation code. Bump it with every change that alters a
#: number (training loop, splits, metrics): it is part of every cell's configuration hash, so
#: a resumed grid never mixes results of two versions. Formatting and docs leave it alone.
TRAINING_VERSION = "2026-12-06.2"  # precise BN shuffled; few-subject splits drawn per seed
#: The version of the results committed before the orientation study (``data/results/cpu_*``).
PREVIOUS_TRAINING_VERSION = "2026-12-02.1"


#: Where fine-tuning's early stopping reads labels (:attr:`Profile.val_labels`).
VAL_LABELS: tuple[str, ...] = ("oracle", "budget")

#: The orientation study's arms: name -> (orientation mode, normalisation). ``vector`` is the
#: control that changes the normalisation alone; every arm that rotates needs it.
STUDY_ARMS: dict[str, tuple[str, str]] = {
    "none": ("none", "sensor"),
    "vector": ("none", "vector"),
    "rotate3d": ("rotate3d", "vector"),
    "heading": ("heading", "vector"),
    "align": ("align", "vector"),
    "align+heading": ("align+heading", "vector"),
    "permute": ("permute", "vector"),
}


def with_arm(profile: Profile, arm: str) -> Profile:
    """``profile`` with the orientation and normalisation of study arm ``arm``."""
    if arm not in STUDY_ARMS:
        raise ValueError(f"unknown orientation arm {arm!r}; choose one of {', '.join(STUDY_ARMS)}")
    orientation, norm = STUDY_ARMS[arm]
    return profile.with_(orientation=orientation, norm=norm)


@dataclass(frozen=True)
class Profile:
    """Every size and default a chapter or the grid needs."""

    name: str
    #: Keras backend the profile prefers (applied only if keras is not imported yet).
    backend: str | None = None
    #: Windows kept per dataset (seeded random subset, all subjects kept); None = all.
    max_windows_per_dataset: int | None = None
    pretrain_batch: int = 128
    finetune_batch: int = 64
    #: Pre-training, early-stopped on the sources' validation subjects (the paper: 200 epochs).
    pretrain_budget: Budget = Budget(max_epochs=200)
    #: Fine-tuning, early-stopped on the target's validation windows (the paper: 200 epochs).
    finetune_budget: Budget = Budget(max_epochs=200)
    #: Training windows that re-estimate BatchNorm statistics before each validation (0: off).
    precise_bn_windows: int = 2048
    #: Checkpoint selection on a class-stratified sample of the target's validation windows
    #: (None = all of them, as the paper).
    max_val_windows: int | None = None
    lr: float = 5e-4
    #: The released code's pre-training used 0.1 (D7); the paper says nothing, so 0 by default.
    label_smoothing: float = 0.0
    # chapter / grid defaults
    models: tuple[str, ...] = ("ispl", "deepconvlstm", "hart", "mobilehart")
    targets: tuple[str, ...] | None = None  # None = every dataset available
    datasets: tuple[str, ...] | None = None  # datasets loaded (None = every available one)
    seeds: tuple[int, ...] = (0, 1, 2)
    ratios: tuple[int, ...] = RATIOS
    strategies: tuple[str, ...] = ("Rd", "P_F", "P_U", "P_0")
    protocols: tuple[str, ...] = PROTOCOLS
    #: Seed of the subject split and of the pre-training shared by all fine-tuning seeds.
    split_seed: int = 0
    #: True: one subject split and one pre-training per seed (costlier, more honest spread).
    pretrain_per_seed: bool = False
    # chapter 3 (cross-dataset matrix) and chapter 6 (t-SNE)
    cross_model: str = "ispl"
    cross_epochs: int = 200
    #: Chapter 3's training: None = ``cross_epochs`` epochs, last one kept (no validation);
    #: a Budget = steps with early stopping on the training dataset's own validation subjects.
    cross_budget: Budget | None = None
    cross_batch: int = 128
    tsne_max: int = 2000
    eval_batch: int = 512
    #: Device-frame handling, a mode of :data:`harnb.data.orientation.ARMS`: its fixed part
    #: (gravity alignment) transforms every window, its random part (rotations) the sources'
    #: pre-training windows. ``"none"`` is the paper's (nothing).
    orientation: str = "none"
    #: Per-dataset normalisation (:func:`harnb.data.preprocess.fit_normalisation`): ``sensor``
    #: (the paper's) or ``vector`` (scale only, which rotations need).
    norm: str = "sensor"
    #: The labels fine-tuning's checkpoint choice reads: ``oracle`` (the target's validation
    #: subjects, fully labelled, as the paper) or ``budget`` (a stratified
    #: ``budget_val_fraction`` of the ratio's own labelled windows: every label it reads is
    #: counted in the ratio).
    val_labels: str = "oracle"
    budget_val_fraction: float = 0.25
    #: The datasets pre-training combines (None = every dataset of the store but the target):
    #: a subset measures what each source buys (the source-count curve).
    sources: tuple[str, ...] | None = None
    notes: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.orientation not in ORIENTATION_MODES:
            raise ValueError(
                f"unknown orientation {self.orientation!r}; choose one of "
                f"{', '.join(ORIENTATION_MODES)}"
            )
        if self.norm not in NORM_MODES:
            raise ValueError(f"unknown norm {self.norm!r}; choose one of {', '.join(NORM_MODES)}")
        if self.orientation_arm.is_augmentation and self.norm != "vector":
            raise ValueError(
                f"orientation {self.orientation!r} rotates windows: it needs norm='vector' "
                "(with an offset per axis, rotating and normalising do not commute)"
            )
        if self.val_labels not in VAL_LABELS:
            raise ValueError(
                f"unknown val_labels {self.val_labels!r}; choose one of {', '.join(VAL_LABELS)}"
            )
        if self.sources is not None and (
            not self.sources or len(set(self.sources)) != len(self.sources)
        ):
            raise ValueError(f"sources must name distinct datasets, got {self.sources!r}")
        if not 0 < self.budget_val_fraction < 1:
            raise ValueError(
                f"budget_val_fraction must be in (0, 1), got {self.budget_val_fraction}"
            )

    @property
    def orientation_arm(self):
        """The :class:`harnb.data.orientation.Orientation` of this profile."""
        return ORIENTATION_MODES[self.orientation]

    def with_(self, **changes: Any) -> Profile:
        """A copy with some fields changed (e.g. from a notebook's parameters cell)."""
        return replace(self, **changes)

    def training_key(self) -> dict[str, Any]:
        """Fields that change a pre-trained model (part of its cache key)."""
        return {
            "max_windows_per_dataset": self.max_windows_per_dataset,
            "pretrain_batch": self.pretrain_batch,
            "pretrain_budget": asdict(self.pretrain_budget),
            "precise_bn_windows": self.precise_bn_windows,
            "lr": self.lr,
            "label_smoothing": self.label_smoothing,
            "split_seed": None if self.pretrain_per_seed else self.split_seed,
            "code": TRAINING_VERSION,
            # options added after results were committed enter the key only when they are on,
            # so that the runs they do not concern keep their configuration
            **({"orientation": self.orientation_arm.key()} if self.orientation != "none" else {}),
            **({"norm": self.norm} if self.norm != "sensor" else {}),
            **({"sources": sorted(self.sources)} if self.sources is not None else {}),
        }

    def cell_key(self) -> dict[str, Any]:
        """Every field that changes a LODO cell's numbers (with the data key and the split
        settings, it makes the cell's configuration hash: :func:`harnb.study.grid.config_hash`)."""
        return {
            **self.training_key(),
            "finetune_batch": self.finetune_batch,
            "finetune_budget": asdict(self.finetune_budget),
            "max_val_windows": self.max_val_windows,
            "eval_batch": self.eval_batch,
            "pretrain_per_seed": self.pretrain_per_seed,
            **(
                {"val_labels": self.val_labels, "budget_val_fraction": self.budget_val_fraction}
                if self.val_labels != "oracle"
                else {}
            ),
        }


#: Measurements behind the ``cpu`` profile's budgets and plan (see :data:`CPU_PLAN`).
CPU_SIZING = """
Measured on this project's 2-core machine (Intel, AVX-512/AMX; TensorFlow 2.21 CPU, Keras 3.15),
quiet, 2026-12-02.

Training steps at batch 128 (bench/bench_models.py, one run, against a 2048^2 fp32 matmul of
383 GFLOP/s in the same process): ISPL 303 samples/s (80 % of the matmul peak), DeepConvLSTM
379 (52 %), HART 1,378 (23 %), MobileHART 627 (16 %). XLA (jit_compile=True) is slower for
all four here (0.65x, 0.42x, 0.71x, 0.50x), so no model uses it; JAX is slower except for
MobileHART (1.16x). Relative to HART: MobileHART 0.455, DeepConvLSTM 0.275, ISPL 0.220.

HART in the grid's own loop (pre-training validated every 100 steps; fine-tuning at batch 64,
validated every 20 steps on 500 windows): pre-training 0.13 s per step with its validation
(MotionSense, seed 0: stopped at step 900 in 119 s); the committed HART run's pre-trainings
stopped after 500-2,000 steps (mean 1,300: ~170 s); fine-tuning Rd + P_F + P_U at one ratio
of one protocol ~55 s at 1-10 % and ~60 s at 70 % (Rd 16-34 s, P_U 18-31 s, P_F 1-5 s).
The other models' costs are HART's divided by their relative rate (an estimate until their
own runs are committed: BatchNorm models also pay precise BN before each validation).

A (model, target, seed) group costs pre-training + protocols x sum over ratios; the plan is
:data:`CPU_PLAN`, its arithmetic :func:`plan_table`.

Two parts at once (bench/bench_concurrency.py, 2026-12-03, one model in 1 then 2 processes
started together). Bare train_on_batch at batch 128, aggregate 2-process / 1-process rate:
MobileHART 1.20x, HART 1.18x, DeepConvLSTM 1.23x, ISPL 1.00x (ISPL's step is matmul-bound).
MobileHART in the grid's own fine-tuning loop (--workload loop, Rd, batch 64, validation and
precise BN every 20 steps): 1.67x on 2,169 training windows (MotionSense 10 %; 1.58 -> 2.64
steps/s), 0.98x on 216 (1 %; 4.60 -> 4.51): what parallelises is the validation and precise
BN passes, not the training step. Two lanes never lost in these measurements, so from
mobilehart-A's second group on the remaining parts ran in two lanes (mobilehart-A then ispl;
mobilehart-B then deepconvlstm), each into its own results file (joined by ``harnb merge``).
The plan's hours are for one part at a time.
"""

#: Seconds of HART in the grid's loop on this machine, quiet (CPU_SIZING): one pre-training,
#: and Rd + P_F + P_U at one ratio of one protocol (P_0 and ratio 0 cost no training).
HART_SECONDS: dict[str | int, float] = {"pretrain": 170.0, 1: 55.0, 5: 55.0, 10: 55.0, 70: 60.0}
#: Training rate relative to HART (bench/bench_models.py, TensorFlow, batch 128).
RELATIVE_RATE: dict[str, float] = {
    "hart": 1.0, "mobilehart": 0.455, "deepconvlstm": 0.275, "ispl": 0.220,
}  # fmt: skip


@dataclass(frozen=True)
class Part:
    """One stretch of a plan: one model's grid over every target, for some protocols, ratios
    and seeds. The grid runs it (model, target, seed) group by group, each group's cells
    finishing before the next pre-training, so a stop loses at most one group."""

    name: str
    model: str
    protocols: tuple[str, ...]
    ratios: tuple[int, ...]
    seeds: tuple[int, ...]

    def groups(self, n_targets: int = 3) -> int:
        """(target, seed) groups, each with its own pre-training."""
        return n_targets * len(self.seeds)

    def cells(self, n_targets: int = 3) -> int:
        """Grid cells: P_0 at ratio 0, Rd / P_F / P_U at every other ratio, per protocol."""
        per_protocol = sum(1 if r == 0 else 3 for r in self.ratios)
        return self.groups(n_targets) * len(self.protocols) * per_protocol

    def hours(self, n_targets: int = 3) -> float:
        """Estimated hours on this machine, quiet (:data:`HART_SECONDS` / rate)."""
        per_group = HART_SECONDS["pretrain"] + len(self.protocols) * sum(
            HART_SECONDS[r] for r in self.ratios if r
        )
        return self.groups(n_targets) * per_group / RELATIVE_RATE[self.model] / 3600

    def command(self, profile: str = "cpu") -> str:
        """The ``harnb run`` line of this part."""
        return f"harnb run --profile {profile} --part {self.name}"


_ALL = ("paper", "released-code", "released-matched")
_PAIRED = ("paper", "released-matched")

#: The ``cpu`` profile's study over the mirror's three targets, in run order. HART and
#: MobileHART at the results issue's scope (A: seed 0, every protocol, ratios 0-70; B: seeds 1
#: and 2, the paper and matched protocols, ratios 0-10); ISPL and DeepConvLSTM at the paper
#: protocol, ratios 0-10, seeds 0-2. Each model writes its own results file
#: (``<runs>/results/cpu_<model>.csv``): one configuration per file.
CPU_PLAN: tuple[Part, ...] = (
    Part("hart-A", "hart", _ALL, (0, 1, 5, 10, 70), (0,)),
    Part("hart-B", "hart", _PAIRED, (0, 1, 5, 10), (1, 2)),
    Part("ispl", "ispl", ("paper",), (0, 1, 5, 10), (0, 1, 2)),
    Part("deepconvlstm", "deepconvlstm", ("paper",), (0, 1, 5, 10), (0, 1, 2)),
    Part("mobilehart-A", "mobilehart", _ALL, (0, 1, 5, 10, 70), (0,)),
    Part("mobilehart-B", "mobilehart", _PAIRED, (0, 1, 5, 10), (1, 2)),
)


def get_part(name: str, plan: tuple[Part, ...] = CPU_PLAN) -> Part:
    """The part called ``name``."""
    for p in plan:
        if p.name == name:
            return p
    raise ValueError(f"unknown part {name!r}; choose one of {[p.name for p in plan]}")


def plan_table(plan: tuple[Part, ...] = CPU_PLAN, n_targets: int = 3):
    """Each part's scope, groups, estimated hours and command, with the total (a DataFrame)."""
    import pandas as pd

    rows = [
        {
            "part": p.name,
            "model": p.model,
            "protocols": ", ".join(p.protocols),
            "ratios": " ".join(map(str, p.ratios)),
            "seeds": " ".join(map(str, p.seeds)),
            "groups": p.groups(n_targets),
            "relative rate": RELATIVE_RATE[p.model],
            "hours": round(p.hours(n_targets), 1),
            "command": p.command(),
        }
        for p in plan
    ]
    df = pd.DataFrame(rows)
    total = {
        "part": "total",
        "groups": int(df["groups"].sum()),
        "hours": round(df["hours"].sum(), 1),
    }
    return pd.concat([df, pd.DataFrame([total])], ignore_index=True)


#: What :func:`plan_text` says the estimate leaves out (the committed parts took about 2.7
#: times it in lane hours: book/reproducibility.md, "The cpu plan").
PLAN_ESTIMATE_NOTE = (
    "estimated hours: an estimate, not a measurement. HART's seconds per pre-training and per "
    "ratio were measured in the grid's loop on a quiet 2-core machine (CPU_SIZING); the other "
    "models' are HART's divided by their bare training-step rate relative to HART. So it leaves "
    "out what those rates miss (the other models' validation passes, every 20 fine-tuning "
    "steps, and the precise-BatchNorm passes of ISPL and MobileHART), start-up and windowing, "
    "and two lanes sharing the cores (each part is estimated alone). The committed parts took "
    "about three times it in lane hours (book/reproducibility.md)."
)


def plan_text(plan: tuple[Part, ...] = CPU_PLAN, n_targets: int = 3) -> str:
    """What ``harnb run --plan`` prints: :func:`plan_table` with its hours labelled as the
    estimate they are, and a note on what the estimate does not count."""
    import textwrap

    t = plan_table(plan, n_targets).rename(columns={"hours": "estimated hours"})
    note = textwrap.fill(PLAN_ESTIMATE_NOTE, width=100)
    return f"{t.to_string(index=False, na_rep='')}\n\n{note}"


PROFILES: dict[str, Profile] = {
    "ci": Profile(
        name="ci",
        backend=None,
        max_windows_per_dataset=2000,
        pretrain_budget=Budget(max_epochs=2),
        finetune_budget=Budget(max_steps=30, eval_every=10, patience=2),
        precise_bn_windows=512,
        max_val_windows=300,
        models=("hart",),
        targets=("UCI",),
        protocols=("paper",),
        seeds=(0,),
        ratios=(0, 1, 10),
        cross_epochs=2,
        cross_model="ispl",
        tsne_max=500,
    ),
    "cpu": Profile(
        name="cpu",
        backend="tensorflow",
        max_windows_per_dataset=None,
        pretrain_budget=Budget(min_steps=400, max_steps=2400, eval_every=100, patience=4),
        finetune_budget=Budget(min_steps=60, max_steps=3000, eval_every=20, patience=8),
        max_val_windows=500,
        models=("hart", "ispl", "deepconvlstm", "mobilehart"),
        seeds=(0, 1, 2),
        pretrain_per_seed=True,
        ratios=(0, 1, 5, 10, 70),
        cross_epochs=3,
        cross_budget=Budget(min_steps=400, max_steps=2400, eval_every=100, patience=4),
        tsne_max=3000,
        notes={"sizing": "CPU_SIZING"},
    ),
    "full": Profile(name="full", backend=None, pretrain_per_seed=True),
}


def changed(profile: str | Profile, changes: dict[str, Any] | None) -> Profile:
    """``profile`` with the fields in ``changes`` replaced, from plain values (a notebook's
    papermill parameters): a budget as a dict of :class:`~harnb.training.train.Budget` fields, a tuple
    as a list. Unknown fields raise ValueError. Give a changed profile its own ``name``
    (e.g. ``"full-smoke"``) when its results must not pass for the original's."""
    prof = get_profile(profile)
    if not changes:
        return prof
    fields = {f.name: f for f in dataclasses.fields(Profile)}
    unknown = sorted(set(changes) - set(fields))
    if unknown:
        raise ValueError(f"unknown profile fields {unknown}; choose from {sorted(fields)}")
    out: dict[str, Any] = {}
    for k, v in changes.items():
        if isinstance(v, dict) and k.endswith("_budget"):
            v = Budget(**v)
        elif isinstance(v, list):
            v = tuple(v)
        out[k] = v
    return prof.with_(**out)


def get_profile(name: str | Profile) -> Profile:
    """The profile called ``name`` (a Profile is returned as is)."""
    if isinstance(name, Profile):
        return name
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {tuple(PROFILES)}") from None
