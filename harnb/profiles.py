"""Named run profiles: the same code runs in CI, on a 2-core CPU and on a GPU; only sizes change.

``ci``
    Minutes on a CPU: ≤ 2,000 windows per dataset, 2 epochs, one model, one seed, a subset of the
    ratios. It proves that every chapter runs; its numbers mean nothing.
``cpu``
    Real but reduced: every window, few epochs. Sized for HART over the three datasets of the
    mirror (UCI, MotionSense, MobiAct), both protocols, one pre-training per (protocol, target),
    3 fine-tuning seeds and the 0/1/5/10 % ratios: estimated at 60-70 minutes on 2 loaded CPU
    cores with TensorFlow, measured at about 2 hours (see :data:`CPU_SIZING` for the
    measurements and the arithmetic; the 70 % ratio alone would more than double it).
``full``
    The paper's settings (§IV-C): 200 epochs of pre-training (batch 128) and fine-tuning
    (batch 64), Adam 5e-4, best-validation checkpoints, all four models; for a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from harnb.splits import PROTOCOLS, RATIOS


@dataclass(frozen=True)
class Profile:
    """Every size and default a chapter or the grid needs."""

    name: str
    #: Keras backend the profile prefers (applied only if keras is not imported yet).
    backend: str | None = None
    #: Windows kept per dataset (seeded random subset, all subjects kept); None = all.
    max_windows_per_dataset: int | None = None
    pretrain_epochs: int = 200
    pretrain_batch: int = 128
    finetune_epochs: int = 200
    finetune_batch: int = 64
    #: CPU profiles only: a small fine-tuning set is trained for at least this many steps.
    finetune_min_steps: int = 0
    finetune_max_epochs: int | None = None
    #: CPU profiles only: checkpoint selection on a class-stratified sample of the target's
    #: validation windows (None = all of them, as the paper).
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
    cross_batch: int = 128
    tsne_max: int = 2000
    eval_batch: int = 512
    notes: dict[str, Any] = field(default_factory=dict, compare=False)

    def with_(self, **changes: Any) -> Profile:
        """A copy with some fields changed (e.g. from a notebook's parameters cell)."""
        return replace(self, **changes)

    def training_key(self) -> dict[str, Any]:
        """Fields that change a pre-trained model (part of its cache key)."""
        return {
            "max_windows_per_dataset": self.max_windows_per_dataset,
            "pretrain_epochs": self.pretrain_epochs,
            "pretrain_batch": self.pretrain_batch,
            "lr": self.lr,
            "label_smoothing": self.label_smoothing,
        }


#: Measurements behind the ``cpu`` profile (see :func:`estimate_minutes`).
CPU_SIZING = """
Measured on this project's 2-core machines, Keras 3.15, TensorFlow 2.21 (CPU), HART, while
colleagues' jobs kept the load average near 4 (so about one core for us):

* pre-training, batch 128: 24.7 k windows + 2.8 k validation in 81 s per epoch (~300/s);
  the first epoch adds ~55 s of graph tracing;
* fine-tuning, batch 64: P_U / Rd ~250 windows/s, P_F (frozen extractor) ~800 windows/s;
* inference, batch 512: ~1,200-1,500 windows/s once traced;
* first training step of a new compiled model (graph trace): 25-130 s, hence the grid reuses
  one compiled model per (strategy, architecture) (harnb.train.ModelPool);
* one extra ``fit`` call (one epoch) ~0.4 s; the rest of a run (variant build, subset draw,
  test prediction) ~2-3 s;
* JAX 0.10 was *slower* for this HART (84-101 windows/s training, ~350/s inference), contrary
  to the design note's generic transformer, so the profile keeps TensorFlow.

Data of the mirror: UCI 10,411, MotionSense 21,539, MobiAct (MobiFall subset) 6,086 windows.
Per protocol, the three pre-trainings see 0.9 x (2 x 38,036) = 68.5 k windows per epoch:
2 protocols x 68.5 k x 2 epochs / 300 per s = 15 min, plus tracing and validation: ~19 min.
Fine-tuning, 3 seeds x 2 protocols x 3 targets x 3 strategies x ratios 1/5/10 % (162 runs,
plus 18 P_0): subsets are 1/70, 5/70, 10/70 of the pools (4.3 k-15.2 k windows); each run gets
2 epochs, or more (at most 8) until it has taken 16 optimiser steps; checkpoint selection on
<= 500 validation windows: ``estimate_minutes`` gives ~34 min, and a probe of one
(protocol, target, seed) on real data (UCI, paper: 10.3 min against 9.6 estimated; its runs
1.3x the estimate, its pre-training faster) suggests ~45 min. Total ~60-70 min.
The full run (data/results/cpu_hart.csv) took about 2 h instead: the paper protocol's 90 cells
75 min under a load of 4-8, the released-code protocol's ~45 min (its last 70 cells, with one
pre-training of 6.3 min, 33.5 min on a quiet machine); pre-training took 6-12 min per target
against the ~3 estimated above.
The 70 % ratio would add ~20-25 min per fine-tuning epoch (26.8 k pool windows x 2 trainable
strategies x 6 seed-protocols / 250 per s), so the cpu profile leaves it out; run it with
``--ratio 70`` when there is time, or on a GPU with the ``full`` profile.
"""

PROFILES: dict[str, Profile] = {
    "ci": Profile(
        name="ci",
        backend=None,
        max_windows_per_dataset=2000,
        pretrain_epochs=2,
        finetune_epochs=2,
        finetune_min_steps=0,
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
        pretrain_epochs=2,
        finetune_epochs=2,
        finetune_min_steps=16,
        finetune_max_epochs=8,
        max_val_windows=500,
        models=("hart",),
        seeds=(0, 1, 2),
        ratios=(0, 1, 5, 10),
        cross_epochs=3,
        tsne_max=3000,
        notes={"sizing": "CPU_SIZING"},
    ),
    "full": Profile(name="full", backend=None),
}


def estimate_minutes(
    profile: Profile,
    sizes: dict[str, int],
    *,
    n_models: int | None = None,
    train_rate: float = 300.0,
    frozen_rate: float = 800.0,
    infer_rate: float = 1200.0,
    run_overhead: float = 3.0,
    fit_call: float = 0.4,
    trace: float = 65.0,
) -> dict[str, float]:
    """Rough minutes of a profile's LODO grid over datasets of ``sizes`` windows (the sizing
    arithmetic of :data:`CPU_SIZING`, with its measured rates as defaults)."""
    import math

    n_models = n_models or len(profile.models)
    prots, seeds = len(profile.protocols), len(profile.seeds)
    targets = profile.targets or tuple(sizes)
    pre = ft = 0.0
    for t in targets:
        n = sizes[t]
        src = sum(v for k, v in sizes.items() if k != t)
        e = profile.pretrain_epochs
        pre += prots * (0.9 * src * e / train_rate + 0.1 * src * e / infer_rate + trace / 2)
        pool, val, test = 0.7 * n, 0.1 * n, 0.2 * n
        if profile.max_val_windows:
            val = min(val, profile.max_val_windows)
        for r in (r for r in profile.ratios if r > 0):
            sub = pool * r / 70
            steps = math.ceil(sub / profile.finetune_batch)
            ep = profile.finetune_epochs
            if profile.finetune_min_steps:
                ep = max(ep, min(profile.finetune_max_epochs or 10**6,
                                 math.ceil(profile.finetune_min_steps / steps)))  # fmt: skip
            for st in (s for s in profile.strategies if s != "P_0"):
                rate = frozen_rate if st == "P_F" else train_rate
                c = ep * (sub / rate + val / infer_rate + fit_call) + test / infer_rate
                ft += seeds * prots * (c + run_overhead)
        if 0 in profile.ratios:
            ft += seeds * prots * (test / infer_rate + 1)
    total = n_models * (pre + ft + 3 * trace)
    return {"pretrain": n_models * pre / 60, "finetune": n_models * ft / 60, "total": total / 60}


def get_profile(name: str | Profile) -> Profile:
    """The profile called ``name`` (a Profile is returned as is)."""
    if isinstance(name, Profile):
        return name
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {tuple(PROFILES)}") from None
