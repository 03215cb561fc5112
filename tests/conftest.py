"""Shared fixtures: the real dataset mirror, and an isolated data folder per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# before any test module imports Keras: harnb sets TensorFlow's oneDNN default on import
import harnb  # noqa: F401

REPO = Path(__file__).resolve().parent.parent

# One OpenMP thread (sklearn's t-SNE, silhouettes; OpenBLAS where NumPy is not loaded yet) in the
# tests and in what they start (chapter kernels, Dask workers); TensorFlow keeps its own threads.
# On two shared cores, OpenMP threads spin at every barrier while their partner waits for a
# core: a 60-point t-SNE took 16 s instead of 3.5 s at load 2. Set the variable to override.
os.environ.setdefault("OMP_NUM_THREADS", "1")


def mirror_path() -> Path | None:
    """The real mirror: ``HARNB_MIRROR`` if set, else ``../shared/datasets`` beside the repo
    (:func:`harnb.config.mirror_dir`, as the library finds it)."""
    from harnb.config import mirror_dir

    p = mirror_dir()
    return p if p is not None and p.is_dir() else None


@pytest.fixture(scope="session")
def mirror() -> Path:
    """Path of the real mirror; skips (with the reason) where it is absent."""
    p = mirror_path()
    if p is None:
        pytest.skip("real dataset mirror not found: set HARNB_MIRROR to ../shared/datasets")
    return p


@pytest.fixture(scope="session")
def session_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder shared by the whole test session (extracted mirror, caches).

    Extraction of the mirror takes seconds, so tests share one copy; it is never the
    repository's own ``data/`` folder, which stays the user's.
    """
    d = Path(os.environ.get("HARNB_TEST_DATA") or tmp_path_factory.mktemp("harnb-data"))
    d.mkdir(parents=True, exist_ok=True)
    return d


#: The test build's smoke checks, smaller than `make book`'s where the size proves nothing: one
#: epoch per row of chapter 3's matrix (its code runs the same), and chapter 5's grid without
#: the 10 % ratio (three of its seven cells, each retracing its model for a new batch size; the
#: cluster test runs 10 % on real data). No field of a pre-training's or a LODO cell's
#: configuration changes, so chapters 4–6 share one pre-training and chapter 5's cells are the
#: ci profile's own.
BOOK_TEST_PARAMETERS = {"profile_changes": {"cross_epochs": 1}, "ratios": [0, 1]}


@pytest.fixture(scope="session")
def built_book(tmp_path_factory, session_data, mirror) -> Path:
    """Execute every chapter with the ci profile (test-sized smoke checks:
    :data:`BOOK_TEST_PARAMETERS`) and build the site, once per session."""
    from harnb.book.build import build_book

    out = tmp_path_factory.mktemp("book")
    old = os.environ.get("HARNB_DATA")
    os.environ["HARNB_DATA"] = str(session_data)
    os.environ["HARNB_MIRROR"] = str(mirror)
    try:
        build_book(profile="ci", out=out, parameters=BOOK_TEST_PARAMETERS)
    finally:
        if old is None:
            os.environ.pop("HARNB_DATA", None)
        else:
            os.environ["HARNB_DATA"] = old
    return out


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data folder for one test, with no mirror (tests that need it set it)."""
    d = tmp_path / "data"
    monkeypatch.setenv("HARNB_DATA", str(d))
    monkeypatch.setenv("HARNB_MIRROR", "")  # empty: no mirror (unset means the default one)
    return d


#: The test modules that use the built book. ``make test``'s two xdist workers run all of their
#: tests on one worker, so the book is built once (:func:`pytest_xdist_make_scheduler`).
BOOK_MODULES = ("tests/test_book.py", "tests/test_browser.py")


def _uses_book(item: pytest.Item) -> bool:
    return "built_book" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest first, so that the two workers finish together: the built book's tests lead,
    the ``slow`` ones follow, the rest keep their order."""
    for item in items:
        if _uses_book(item) and item.nodeid.split("::")[0] not in BOOK_MODULES:
            raise pytest.UsageError(
                f"{item.nodeid} uses built_book: add its module to BOOK_MODULES"
            )

    def rank(item: pytest.Item) -> int:
        if _uses_book(item):
            return 0
        return 1 if item.get_closest_marker("slow") else 2

    items.sort(key=rank)  # stable: the order within each rank stays the collection's


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, absent without it
def pytest_xdist_make_scheduler(config: pytest.Config, log):  # noqa: ANN201
    """``--dist loadgroup`` with :data:`BOOK_MODULES` as one group. xdist's own ``xdist_group``
    mark does not group under pytest 9.2 (pytest-xdist issue 1386: the node-id suffix it writes
    is no longer read), so the group is named here from the node ids the controller sees."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class BookGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if nodeid.split("::")[0] in BOOK_MODULES:
                return "built_book"
            return super()._split_scope(nodeid)

    return BookGroupScheduling(config, log)
