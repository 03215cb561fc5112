"""The grid on Dask distributed: same cells and numbers as in-process, one writer, errors
recorded, a killed worker loses nothing, one training per GPU."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_grid import env, small_grid  # noqa: F401  (fixture)
from test_train import fake_models  # noqa: F401  (fixture)

from harnb.study import cells, cluster, grid, results
from harnb.training import train

distributed = pytest.importorskip("distributed")


def _values(df: pd.DataFrame) -> pd.Series:
    """The ok metric values by (cell, metric), without the wall-clock ones."""
    ok = df[(df["status"] == "ok") & ~df["metric"].isin(["seconds_train"])]
    return ok.set_index([*grid.CELL_KEYS, "metric"])["value"].sort_index()


@pytest.fixture
def threads():
    """An in-process cluster (worker threads share this process's monkeypatches)."""

    def make(n_workers=2, threads_per_worker=1, **kw):
        c = distributed.Client(
            processes=False, n_workers=n_workers, threads_per_worker=threads_per_worker,
            **cluster.NO_DASHBOARD, **kw,
        )  # fmt: skip
        made.append(c)
        return c

    made: list = []
    yield make
    for c in made:
        c.close()


def test_parse_spec():
    assert cluster.parse_spec("local") == ("local", None)
    assert cluster.parse_spec("local:3") == ("local", 3)
    assert cluster.parse_spec("slurm:8") == ("slurm", 8)
    assert cluster.parse_spec("tcp://10.0.0.1:8786") == ("address", None)
    assert cluster.parse_spec("node7:8786") == ("address", None)
    assert cluster.parse_spec("sched.json") == ("address", None)
    for bad in ("local:0", "local:x", "kubernetes", ""):
        with pytest.raises(ValueError, match="--cluster"):
            cluster.parse_spec(bad)


def test_worker_env_carries_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("HARNB_DATA", str(tmp_path / "d"))
    monkeypatch.setenv("HARNB_MIRROR", "/m")
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    wenv = cluster.worker_env()
    assert wenv["HARNB_DATA"] == str((tmp_path / "d").resolve())
    assert wenv["HARNB_MIRROR"] == "/m" and wenv["KERAS_BACKEND"] == "jax"


def test_cluster_grid_gives_the_in_process_cells(env, threads, monkeypatch):  # noqa: F811
    """Same cells, configurations, subjects and test windows; the pre-training runs once, its
    weights read by the cell tasks from the shared folder; a resumed grid does nothing.
    (The numbers are compared on worker processes in the mirror test below: the fake models
    seed Keras through the shared ``random`` module, which this process's Dask threads use.)"""
    prof, store, out = env
    ref = small_grid(prof, store, out)
    calls = []
    real = train.pretrain
    monkeypatch.setattr(train, "pretrain", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setenv("HARNB_DATA", str(out.parent / "data2"))  # a fresh cache
    out2 = out.with_name("cluster.csv")
    got = small_grid(prof, store, out2, cluster=threads())
    assert len(calls) == 1
    assert (got["status"] == "ok").all()
    cols = [*grid.CELL_KEYS, "metric", "profile", "config"]
    key = lambda d: sorted(map(tuple, d[cols].astype(str).values))  # noqa: E731
    assert key(got) == key(ref)
    same = got[got["metric"].isin(["n_train", "steps"])].set_index(cols)["value"].sort_index()
    pd.testing.assert_series_equal(
        same, ref[ref["metric"].isin(["n_train", "steps"])].set_index(cols)["value"].sort_index()
    )
    c1 = grid.read_confusion(results.confusion_path(out))
    c2 = grid.read_confusion(results.confusion_path(out2))
    sub = [*grid.CELL_KEYS, "subject", "classes"]
    assert sorted(map(tuple, c1[sub].values)) == sorted(map(tuple, c2[sub].values))
    # resuming on the cluster: nothing to do, nothing appended
    n = out2.read_text().count("\n")
    monkeypatch.setattr(train, "finetune", lambda *a, **k: pytest.fail("trained again"))
    small_grid(prof, store, out2, cluster=threads(n_workers=1))
    assert out2.read_text().count("\n") == n


def test_task_errors_are_recorded_and_the_rest_completes(env, threads, monkeypatch):  # noqa: F811
    prof, store, out = env
    real = grid.run_cell

    def flaky(fold, pre, strategy, *a, **k):
        if strategy == "Rd":
            raise RuntimeError("out of memory")
        return real(fold, pre, strategy, *a, **k)

    client = threads()
    monkeypatch.setattr(cells, "run_cell", flaky)
    df = small_grid(prof, store, out, cluster=client)
    err = df[df["status"] == "error"]
    assert (
        err["strategy"].tolist() == ["Rd"] and "RuntimeError: out of memory" in err["error"].iloc[0]
    )
    assert set(df[df["status"] == "ok"]["strategy"]) == {"P_0", "P_U"}
    # a failing pre-training fails its group's cells, with its message; the other group runs
    monkeypatch.setattr(cells, "run_cell", real)

    def bad_pretrain(*a, **k):
        raise ValueError("no GPU memory")

    monkeypatch.setattr(train, "pretrain", bad_pretrain)
    df = small_grid(prof, store, out, cluster=client, targets=["A", "B"], seeds=[0])
    f1 = df[df["metric"] == "macro_f1"]
    b = f1[f1["target"] == "B"]
    assert len(b) == 3 and (b["status"] == "error").all()
    assert b["error"].str.contains("pre-training failed: ValueError: no GPU memory").all()
    a = f1[f1["target"] == "A"]  # cached pre-training: the Rd cell is retried and succeeds
    assert len(a) == 3 and (a["status"] == "ok").all()
    # every cell written once per attempt: one ok row per metric of A's cells
    assert not df.duplicated([*grid.CELL_KEYS, "metric"]).any()


def test_gpu_workers_never_run_two_trainings_at_once(env, threads, monkeypatch):  # noqa: F811
    """Workers declaring GPU=1 (here one worker with 3 threads) get one task at a time."""
    prof, store, out = env
    client = threads(n_workers=1, threads_per_worker=3, resources={"GPU": 1})
    assert cluster.gpu_workers(client)
    busy, peak = [0], [0]
    lock = threading.Lock()
    real = train.fit

    def counting(*a, **k):
        with lock:
            busy[0] += 1
            peak[0] = max(peak[0], busy[0])
        try:
            time.sleep(0.2)
            return real(*a, **k)
        finally:
            with lock:
                busy[0] -= 1

    monkeypatch.setattr(train, "fit", counting)
    df = small_grid(prof, store, out, cluster=client, targets=["A", "B", "C"])
    assert (df["status"] == "ok").all() and len(df) == 9 * len(grid.METRICS)
    assert peak[0] == 1


def test_cli_cluster_option_reaches_run_grid(monkeypatch, tmp_path):
    import argparse

    seen = {}

    def fake_run_grid(prof, out, **kw):
        seen.update(kw)
        return pd.DataFrame(columns=grid.COLUMNS)

    monkeypatch.setattr(grid, "run_grid", fake_run_grid)
    p = grid.add_run_arguments(argparse.ArgumentParser())
    assert grid.run_from_args(p.parse_args(["--cluster", "local:2", "--no-progress"])) == 0
    assert seen["cluster"] == "local:2"
    cfg = tmp_path / "c.yaml"
    cfg.write_text("jobqueue:\n  slurm:\n    cores: 3\n")
    args = p.parse_args(["--cluster", "slurm", "--cluster-config", str(cfg), "--no-progress"])
    assert grid.run_from_args(args) == 0
    import dask

    assert dask.config.get("jobqueue.slurm.cores") == 3
    bad = p.parse_args(["--cluster-config", str(tmp_path / "none.yaml")])
    assert grid.run_from_args(bad) == 2


def test_example_cluster_yaml_makes_a_gpu_slurm_job(monkeypatch):
    """The shipped example asks Slurm for one GPU per job and declares GPU=1 to Dask."""
    pytest.importorskip("dask_jobqueue")
    import dask

    monkeypatch.setenv("HARNB_DATA", "/shared/harnb")
    with dask.config.set({}):
        cluster.load_config(Path(cluster.__file__).with_name("cluster.yaml"))
        jc = cluster.jobqueue_cluster("slurm", cluster.worker_env())
        try:
            script = jc.job_script()
        finally:
            jc.close()
    assert "--gres=gpu:1" in script and "--resources GPU=1" in script
    assert "export HARNB_DATA=/shared/harnb" in script
    assert "--nthreads" in script


# --------------------------------------------------------------------------------------------
# The real ci grid on worker processes (the mirror's datasets)
# --------------------------------------------------------------------------------------------

#: One cell per strategy: each then trains a fresh model in any process (a process's later runs
#: of a strategy reuse its compiled model, whose dropout draws depend on the runs before).
CI_CELLS = ["--target", "UCI", "--protocol", "paper", "--ratio", "0", "1"]
CI_CELLS += ["--strategy", "P_0", "Rd", "P_F"]


def _data_folder(root: Path, shared: Path) -> Path:
    """A data folder of its own (its own runs/) sharing the extracted data and windows."""
    root.mkdir(parents=True)
    for sub in ("raw", "processed"):
        (shared / sub).mkdir(parents=True, exist_ok=True)
        (root / sub).symlink_to(shared / sub)
    return root


@pytest.fixture(scope="module")
def ci_data(mirror, session_data, tmp_path_factory):
    from harnb.data import fetch

    fetch.fetch(["UCI", "MotionSense", "MobiAct"], mirror=mirror, dest=session_data / "raw")
    return session_data, tmp_path_factory.mktemp("cluster")


@contextmanager
def _port_8787_taken() -> Iterator[None]:
    """Dask's default HTTP port held, as by another cluster (or already held by one)."""
    s = socket.socket()
    try:
        s.bind(("", 8787))
        s.listen()
    except OSError:
        pass
    try:
        yield
    finally:
        s.close()


def test_local_spec_starts_worker_processes_that_share_the_data_folder(tmp_path, monkeypatch):
    """``--cluster local:N`` starts N worker processes carrying the client's data folder (the
    mirror test below brings its own cluster, so that one cluster serves both of its parts)."""
    monkeypatch.setenv("HARNB_DATA", str(tmp_path / "d"))
    with _port_8787_taken(), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with cluster.connect("local:1") as client:
            got = client.run(lambda: (os.getpid(), os.environ.get("HARNB_DATA")))
    # a second cluster on the machine (here: a socket on the default port) draws no warning
    assert not [w for w in caught if "already in use" in str(w.message)]
    assert len(got) == 1
    pid, data = next(iter(got.values()))
    assert pid != os.getpid() and data == str((tmp_path / "d").resolve())


@pytest.mark.mirror
@pytest.mark.slow
def test_ci_grid_on_local2_matches_in_process_and_survives_a_killed_worker(ci_data, monkeypatch):
    """`harnb run --profile ci --cluster ADDRESS` on two local worker processes gives the
    in-process cells and numbers, with its pre-training on a worker; then a worker SIGKILLed
    mid-grid on the same cluster loses no finished cell. (One cluster for both parts: each
    worker starts, imports TensorFlow and loads the windows once.)"""
    shared, tmp = ci_data
    d1 = _data_folder(tmp / "inproc", shared)
    d2 = _data_folder(tmp / "local2", shared)
    monkeypatch.setenv("HARNB_DATA", str(d1))
    t0 = time.perf_counter()
    assert grid.main(["--profile", "ci", *CI_CELLS, "--out", str(tmp / "a.csv")]) == 0
    t_in = time.perf_counter() - t0
    monkeypatch.setenv("HARNB_DATA", str(d2))
    out = tmp / "c.csv"
    killed: list[int] = []
    busy: list[int] = []
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            env=cluster.worker_env(),
            silence_logs=40,
            **cluster.NO_DASHBOARD,
        ) as lc,
        distributed.Client(lc) as client,
    ):
        t0 = time.perf_counter()
        argv = ["--profile", "ci", *CI_CELLS, "--out", str(tmp / "b.csv")]
        assert grid.main([*argv, "--cluster", lc.scheduler_address]) == 0
        t_cl = time.perf_counter() - t0
        print(f"\nci slice: in-process {t_in:.0f} s, two workers {t_cl:.0f} s")

        # a worker SIGKILLed mid-grid: its cell reruns elsewhere, every finished cell stays once
        kw = dict(targets=["UCI"], protocols=["paper"], ratios=[1, 5, 10], strategies=["Rd"])
        pids = client.run(os.getpid)
        assert len(pids) == 2

        def killer():
            deadline = time.time() + 600
            while time.time() < deadline and not killed:
                if len(grid.finished_cells(out, "ci")) >= 1:
                    addr, pid = next(iter(pids.items()))
                    busy.append(len(client.processing().get(addr, ())))
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                time.sleep(0.2)

        th = threading.Thread(target=killer, daemon=True)
        th.start()
        df = grid.run_grid("ci", out, cluster=client, progress=False, **kw)
        th.join(1)

    a, b = grid.read_results(tmp / "a.csv"), grid.read_results(tmp / "b.csv")
    assert (a["status"] == "ok").all() and (b["status"] == "ok").all()
    # every strategy bit for bit, P_F included (its Dropout is seeded per cell)
    va, vb = _values(a), _values(b)
    assert list(va.index) == list(vb.index)
    pd.testing.assert_series_equal(vb, va)
    w1 = list((d1 / "runs" / "pretrained").glob("**/*.weights.h5"))
    w2 = list((d2 / "runs" / "pretrained").glob("**/*.weights.h5"))
    assert len(w1) == len(w2) == 1 and w1[0].name == w2[0].name
    import h5py

    def arrays(p):
        out = []
        with h5py.File(p) as f:
            f.visititems(lambda _n, o: out.append(o[()]) if isinstance(o, h5py.Dataset) else None)
        return out

    assert all(np.array_equal(x, y) for x, y in zip(arrays(w1[0]), arrays(w2[0]), strict=True))

    assert killed, "no cell finished before the grid ended"
    print(f"killed a worker processing {busy[0]} task(s)")
    f1 = df[df["metric"] == "macro_f1"]
    assert len(f1) == 3 and (f1["status"] == "ok").all()
    raw = results.read_tidy(out, grid.COLUMNS)
    assert not raw.duplicated([*grid.CELL_KEYS, "metric"]).any()
