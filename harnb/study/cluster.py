"""The LODO grid on Dask distributed: each pre-training and each cell is a task.

``harnb run --cluster SPEC`` (:func:`harnb.study.grid.run_grid` with ``cluster=``) submits one task
per pre-training and one per fine-tuning cell, which depends on its pre-training. The
pre-trained weights travel through the shared data folder (``$HARNB_DATA/runs/pretrained``,
where :func:`harnb.training.folds.get_pretrained` caches them), never as a re-computation: a cell task
refuses to run when the weights its pre-training wrote are not visible. Every task computes its
rows with :class:`harnb.study.cells.CellRunner`, the code of the in-process grid, and returns them;
the submitting process appends them as tasks finish, so it stays the only writer of the results
files. A task that fails is recorded with its error and the grid goes on; a killed worker's task
is rerun by Dask on another worker; a killed client loses only the cells in flight, which the
same command reruns.

``SPEC`` is one of

``local[:N]``
    a :class:`distributed.LocalCluster` of N worker processes (default 2), one thread each;
``cuda[:N]``
    ``dask_cuda.LocalCUDACluster``: one worker per GPU (N GPUs, default all), each pinned to its
    device by ``CUDA_VISIBLE_DEVICES`` and declaring the resource ``GPU=1``;
``slurm[:N]``, ``pbs[:N]``, ``lsf[:N]``, ``sge[:N]``
    N batch jobs (default 1) of dask-jobqueue, configured by dask's ``jobqueue`` settings
    (``--cluster-config``; ``harnb/study/cluster.yaml`` is an example with one GPU per job);
an address (``tcp://host:8786``) or a scheduler file (``*.json``)
    a running scheduler, e.g. with one ``dask worker --nthreads 1 --resources GPU=1`` per GPU.

When the workers declare a ``GPU`` resource, every task asks for ``GPU=1``, so no two
trainings ever share a GPU. Dask is optional: ``pip install harnb[cluster]``.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from distributed import Client

    from harnb.data.store import WindowStore
    from harnb.study.cells import Cell, GridSpec

#: Batch systems dask-jobqueue drives, by the name ``--cluster`` takes.
JOBQUEUE = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "lsf": "LSFCluster", "sge": "SGECluster"}
#: Environment the workers must share with the client (data, mirror, Keras backend).
WORKER_ENV = ("HARNB_DATA", "HARNB_MIRROR", "KERAS_BACKEND", "TF_CPP_MIN_LOG_LEVEL")
#: No dashboard, and the scheduler's HTTP server (health and metrics, which it starts even
#: without a dashboard, by default on 8787) on a free port: a second cluster on the machine
#: otherwise warns "Port 8787 is already in use".
NO_DASHBOARD: dict[str, Any] = {
    "dashboard_address": None, "scheduler_kwargs": {"dashboard_address": ":0"},
}  # fmt: skip

_INSTALL = "the cluster runner needs Dask: pip install 'harnb[cluster]'"


def _distributed():
    try:
        import distributed
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ValueError(_INSTALL) from e
    return distributed


def worker_env() -> dict[str, str]:
    """The variables workers inherit from this process; HARNB_DATA is made absolute."""
    from harnb import config

    env = {k: os.environ[k] for k in WORKER_ENV if k in os.environ}
    env["HARNB_DATA"] = str(config.data_dir())
    if "KERAS_BACKEND" not in env:
        import sys

        if "keras" in sys.modules:
            import keras

            env["KERAS_BACKEND"] = keras.backend.backend()
    return env


def parse_spec(spec: str) -> tuple[str, int | None]:
    """``'local:4'`` → ``('local', 4)``; an address or scheduler file → ``('address', None)``."""
    kind, _, n = spec.partition(":")
    if kind in ("local", "cuda", *JOBQUEUE):
        if not n:
            return kind, None
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"--cluster {spec!r}: the worker count must be a positive integer")
        return kind, int(n)
    if "://" in spec or spec.endswith(".json") or (n.isdigit() and kind):
        return "address", None
    raise ValueError(
        f"--cluster {spec!r}: expected local[:N], cuda[:N], "
        f"{'|'.join(JOBQUEUE)}[:N], a scheduler address (tcp://host:port) or a scheduler file"
    )


def load_config(path: str | os.PathLike[str]) -> None:
    """Merge a dask YAML file (e.g. ``jobqueue:`` settings) into dask's configuration."""
    import dask
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"--cluster-config {p}: no such file")
    data = yaml.safe_load(p.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"--cluster-config {p}: expected a mapping of dask settings")
    dask.config.update(dask.config.config, data, priority="new")


@contextmanager
def connect(spec: Any) -> Iterator[Client]:
    """A client for ``spec`` (see the module's docstring); clusters it starts are closed after."""
    distributed = _distributed()
    if isinstance(spec, distributed.Client):
        yield spec
        return
    kind, n = parse_spec(str(spec))
    env = worker_env()
    cluster: Any = None
    if kind == "address":
        client = (
            distributed.Client(scheduler_file=spec)
            if str(spec).endswith(".json")
            else distributed.Client(spec)
        )
    elif kind == "local":
        cluster = distributed.LocalCluster(
            n_workers=n or 2, threads_per_worker=1, processes=True, env=env,
            silence_logs=40, **NO_DASHBOARD,
        )  # fmt: skip
        client = distributed.Client(cluster)
    elif kind == "cuda":
        try:
            from dask_cuda import LocalCUDACluster
        except ImportError as e:
            raise ValueError(
                "--cluster cuda needs dask-cuda (pip install dask-cuda); or start one worker per "
                "GPU yourself: CUDA_VISIBLE_DEVICES=i dask worker ADDRESS --nthreads 1 "
                "--resources GPU=1, then --cluster ADDRESS"
            ) from e
        cluster = LocalCUDACluster(
            n_workers=n, threads_per_worker=1, env=env, resources={"GPU": 1}, **NO_DASHBOARD,
        )  # fmt: skip
        client = distributed.Client(cluster)
    else:
        cluster = jobqueue_cluster(kind, env)
        cluster.scale(jobs=n or 1)
        client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def jobqueue_cluster(kind: str, env: dict[str, str]) -> Any:
    """A dask-jobqueue cluster of ``kind`` from dask's ``jobqueue.<kind>`` settings, its job
    script exporting the client's data folder, mirror and backend."""
    import dask

    try:
        import dask_jobqueue
    except ImportError as e:
        raise ValueError(f"--cluster {kind} needs dask-jobqueue: {_INSTALL}") from e
    prologue = list(dask.config.get(f"jobqueue.{kind}.job-script-prologue", None) or [])
    prologue += [f"export {k}={v}" for k, v in env.items()]
    return getattr(dask_jobqueue, JOBQUEUE[kind])(job_script_prologue=prologue)


def gpu_workers(client: Client) -> bool:
    """True when some worker declares a ``GPU`` resource (then each task asks for one)."""
    workers = client.scheduler_info().get("workers", {})
    return any("GPU" in (w.get("resources") or {}) for w in workers.values())


# --------------------------------------------------------------------------------------------
# What runs on a worker
# --------------------------------------------------------------------------------------------

_local = threading.local()  # per worker thread: the runner (pooled models, group data)


def _runner(spec: GridSpec, store: WindowStore | None):
    from harnb.study.cells import CellRunner
    from harnb.training.folds import data_key, load_store

    r = getattr(_local, "runner", None)
    if r is not None and r.spec == spec:
        return r
    if store is None:
        store = load_store(spec.profile)
        if data_key(store) != spec.dkey:
            raise RuntimeError(
                f"this worker's windows (data key {data_key(store)}) differ from the client's "
                f"({spec.dkey}): workers need the client's HARNB_DATA and datasets"
            )
    _local.runner = CellRunner(spec, store)
    return _local.runner


def _weights_path(spec: GridSpec, group: tuple[str, str, int]) -> Path:
    from harnb.training.folds import pretrained_path

    m, t, ps = group
    return pretrained_path(t, m, ps, spec.profile, spec.dkey).with_suffix(".weights.h5")


def pretrain_task(spec: GridSpec, store: WindowStore | None, first: Cell) -> str:
    """Pre-train (or find cached) the model of ``first``'s group; returns its weights' path."""
    from harnb.study.cells import group_key

    r = _runner(spec, store)
    group = group_key(first, spec.profile)
    r.enter_group(group)
    r.pretrained(r.fold(first[0], first[5]))
    return str(_weights_path(spec, group))


def cell_task(
    spec: GridSpec, store: WindowStore | None, cell: Cell, weights: str
) -> tuple[list[dict], list[dict]]:
    """One cell's (metric rows, confusion rows), from the weights its pre-training wrote."""
    from harnb.study.cells import error_rows, group_key

    here = _weights_path(spec, group_key(cell, spec.profile))
    if str(here) != weights or not here.exists():
        msg = (
            f"FileNotFoundError: the pre-trained weights {weights} are not visible on this "
            f"worker (it looks for {here}): workers need the client's shared HARNB_DATA"
        )
        return error_rows(cell, spec, msg, 0.0), []
    return _runner(spec, store).rows(cell)


# --------------------------------------------------------------------------------------------
# The client: submit, then write results as they come
# --------------------------------------------------------------------------------------------


def run_on_cluster(
    cluster: Any,
    spec: GridSpec,
    groups: dict[tuple[str, str, int], list[Cell]],
    out_path: Path,
    bar: Any,
    store: WindowStore | None = None,
) -> int:
    """Run ``groups`` (cells by pre-training, in run order) on ``cluster``; returns the cells
    written. ``store`` (when the caller gave its own windows) is sent to every worker;
    otherwise each worker loads the profile's windows and checks they are the client's."""
    from harnb.study.cells import error_rows, write_cell

    distributed = _distributed()
    with connect(cluster) as client:
        if not client.scheduler_info().get("workers"):
            bar.set_postfix_str("waiting for a worker")
            client.wait_for_workers(1)
        res = {"GPU": 1} if gpu_workers(client) else None
        ref = client.scatter(store, broadcast=True, hash=False) if store is not None else None
        token = uuid.uuid4().hex[:8]
        pre_of: dict[str, Any] = {}
        cell_of: dict[str, Cell] = {}
        futures = []
        for (m, t, ps), gcells in groups.items():
            pre = client.submit(
                pretrain_task, spec, ref, gcells[0], key=f"harnb-pretrain-{m}-{t}-s{ps}-{token}",
                resources=res,
            )  # fmt: skip
            for c in gcells:
                name = "-".join(map(str, c))
                f = client.submit(
                    cell_task, spec, ref, c, pre, key=f"harnb-cell-{name}-{token}", resources=res
                )
                pre_of[f.key], cell_of[f.key] = pre, c
                futures.append(f)
        written = 0
        try:
            for f in distributed.as_completed(futures):
                c = cell_of[f.key]
                if f.status == "finished":
                    rows, conf = f.result()
                else:
                    pre = pre_of[f.key]
                    exc = f.exception()
                    msg = f"{type(exc).__name__}: {exc}"
                    if pre.status == "error":
                        msg = f"pre-training failed: {msg}"
                    rows, conf = error_rows(c, spec, msg, 0.0), []
                write_cell(out_path, rows, conf)
                written += 1
                n_workers = len(client.scheduler_info().get("workers", {}))
                status = rows[-1]["status"]
                bar.set_postfix_str(f"{n_workers} workers; {'/'.join(map(str, c))}: {status}")
                bar.update(1)
                f.release()
        finally:
            client.cancel([f for f in futures if not f.done()])
    return written


__all__ = [
    "JOBQUEUE",
    "WORKER_ENV",
    "cell_task",
    "connect",
    "gpu_workers",
    "jobqueue_cluster",
    "load_config",
    "parse_spec",
    "pretrain_task",
    "run_on_cluster",
    "worker_env",
]
