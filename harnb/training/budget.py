"""How long a training run may go: :class:`Budget`, in optimiser steps with early stopping.

A profile (:mod:`harnb.training.profiles`) holds budgets and the training loop
(:mod:`harnb.training.train`) spends them; keeping the type here lets both import it without
importing each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Budget:
    """How long one training run may go, counted in optimiser steps, with early stopping.

    The run evaluates on its validation windows every ``eval_every`` steps (None: once per pass
    over the training set), keeps the best checkpoint, and stops once ``patience`` evaluations
    in a row brought no improvement (None: never early), but not before ``min_steps``; it
    always stops at ``max_steps`` or after ``max_epochs`` passes over the training set,
    whichever comes first. A budget that ends runs at their last evaluation measures the
    budget, not the method: the grid records that fraction.
    """

    min_steps: int = 0
    max_steps: int | None = None
    max_epochs: float | None = None
    eval_every: int | None = None
    patience: int | None = None

    def __post_init__(self) -> None:
        if self.max_steps is None and self.max_epochs is None:
            raise ValueError("a Budget needs max_steps or max_epochs")
        for k in ("min_steps", "max_steps", "eval_every", "patience"):
            v = getattr(self, k)
            if v is not None and (int(v) != v or v < (0 if k == "min_steps" else 1)):
                raise ValueError(f"Budget.{k} must be a positive integer, got {v!r}")
        if self.max_epochs is not None and self.max_epochs <= 0:
            raise ValueError(f"Budget.max_epochs must be > 0, got {self.max_epochs!r}")

    def plan(self, n_train: int, batch_size: int) -> tuple[int, int, int]:
        """(max steps, evaluation interval, min steps) for ``n_train`` windows."""
        per_epoch = max(1, math.ceil(n_train / batch_size))
        cap = [c for c in (self.max_steps,) if c is not None]
        if self.max_epochs is not None:
            cap.append(max(1, math.ceil(self.max_epochs * per_epoch)))
        hi = min(cap)
        every = min(int(self.eval_every or per_epoch), hi)
        return hi, every, min(int(self.min_steps), hi)
