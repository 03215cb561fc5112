"""The smoke check at the end of chapters 3–6: this build's own small run, never shown
as a number."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from harnb.book import tables
from harnb.book.pages.pretraining import pretrain_targets
from harnb.book.pages.tsne import target_embedding
from harnb.study import grid
from harnb.training.profiles import Profile

if TYPE_CHECKING:  # pragma: no cover
    pass


def smoke_check(
    chapter: str,
    profile: str | Profile = "ci",
    run: bool = True,
    changes: dict[str, Any] | None = None,
    **grid_args: Any,
):
    """Run this build's own small computation for ``chapter`` (cross, pretraining, lodo,
    tsne) and say that it ran, without showing its numbers: a ``ci`` number is never a result.

    ``changes`` overrides profile fields (:func:`harnb.training.profiles.changed`); for ``lodo``,
    ``grid_args`` (``models``, ``targets``, ``protocols``, ``ratios``, ``seeds``, ``out``; None
    = the profile's) restrict the grid to a slice, e.g. ``bench/gpu_full_slice.sh``'s.
    Raises when any part of it fails, so a broken chapter fails the build.
    """

    from harnb.training.profiles import changed

    prof = changed(profile, changes)
    grid_args = {k: v for k, v in grid_args.items() if v is not None}
    if grid_args and chapter != "lodo":
        raise ValueError(f"only chapter 5 (lodo) runs a grid slice, not {chapter!r}")
    if not run:
        return tables.note(f"Smoke check of the <code>{prof.name}</code> profile skipped.")
    with _quiet_tensorflow():
        return _run(chapter, prof, grid_args)


@contextlib.contextmanager
def _quiet_tensorflow() -> Iterator[None]:
    """TensorFlow's Python logger writes its warnings (tf.function retracing) to stdout in a
    kernel, where ``nb_output_stderr`` cannot drop them: keep them off the page."""
    log = logging.getLogger("tensorflow")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _run(chapter: str, prof: Profile, grid_args: dict[str, Any]):
    """The smoke check itself (:func:`smoke_check`), its note as it should appear."""
    from harnb.study.cross import cross_dataset_matrix

    t0 = time.perf_counter()
    if chapter == "cross":
        df = cross_dataset_matrix(prof, progress=False)
        what = f"a {df['train_dataset'].nunique()} × {df['test_dataset'].nunique()} matrix"
    elif chapter == "pretraining":
        h = pretrain_targets(prof)
        what = f"{h['target'].nunique()} pre-trainings"
    elif chapter == "lodo":
        df = grid.run_grid(prof, progress=False, **grid_args)
        df = df[(df["profile"] == prof.name) & (df["metric"] == "macro_f1")]
        bad = df[df["status"] == "error"]
        if len(bad):
            raise RuntimeError(f"{len(bad)} grid cells failed, e.g. {bad['error'].iloc[0]}")
        what = f"{len(df)} LODO cells"
        if grid_args.get("out"):
            what += f" (<code>{grid_args['out']}</code>)"
    elif chapter == "tsne":
        store = grid.load_store(prof)
        names = list(prof.targets or store.datasets())
        for t in names:
            target_embedding(prof, t, store=store)
        what = f"{len(names)} t-SNE maps"
    else:
        raise ValueError(f"unknown chapter {chapter!r}")
    done = f"ran end to end in {time.perf_counter() - t0:.0f} s"
    if grid_args.get("out"):  # a slice run for its numbers: they are in its results file
        return tables.note(
            f"<strong>Grid slice</strong> (<code>{prof.name}</code> profile, this build): {what} "
            f"{done}. Their numbers are in the results file, not shown here."
        )
    return tables.note(
        f"<strong>Smoke check</strong> (<code>{prof.name}</code> profile, this build): {what} "
        f"{done}. They prove that the code runs; their numbers are not results and are not shown."
    )
