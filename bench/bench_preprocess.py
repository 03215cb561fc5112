"""Benchmark: raw mirror -> windows, harnb's pipeline vs a released-code-style baseline.

Both pipelines start from the same extracted raw files (extraction from the mirror zips is
done once, untimed, before either) and end with the windows saved as .npy files:

* **harnb**: ``harnb.data.preprocess.build_windows(name, force=True)`` for each mirror dataset
  (loader parsing + timestamp resampling + vectorised windowing + atomic cache write).
* **baseline**, written like the released code: ``pandas.read_csv`` per file, a Python loop over
  windows, and ``scipy.signal.decimate`` called per window where the native rate is above 50 Hz
  (MobiAct: interpolated to a uniform 100 Hz first, as the released code's CSV was; 256-sample
  windows, hop 128, decimated by 2). 50 Hz data are windowed without decimation, as released.

Each pipeline runs in its own fresh Python process, one after the other, so its peak resident
memory (``getrusage``) is its own. The script also times each stage (file parsing vs
resampling/windowing) in-process to show where the time goes. Ratios are printed, the
end-to-end speed-up last.

    /work/venv/bin/python bench/bench_preprocess.py [--mirror DIR] [--data DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

NAMES = ["UCI", "MotionSense", "MobiAct"]
W, HOP = 128, 64
G = 9.80665


# --------------------------------------------------------------------------- baseline


def _windows_loop(seg: np.ndarray, label: int, xs: list, ys: list, w: int, hop: int, q: int):
    """Python loop over windows, one scipy.signal.decimate call per window (released code)."""
    from scipy import signal

    for start in range(0, len(seg) - w + 1, hop):
        win = seg[start : start + w]
        if q > 1:
            win = signal.decimate(win, q, axis=0)
        xs.append(win.astype(np.float32))
        ys.append(label)


def baseline_uci(raw: Path, out: list, ys: list, timing: dict) -> None:
    """HAPT raw: acc/gyro text per experiment, labels.txt segments, 50 Hz (no decimation)."""
    import pandas as pd

    lut = {1: 5, 2: 1, 3: 0, 4: 3, 5: 4, 6: 6}
    rawdir = next(raw.rglob("RawData"))
    t0 = time.perf_counter()
    labels = pd.read_csv(rawdir / "labels.txt", sep=" ", header=None).values
    data = []
    for f in sorted(rawdir.glob("acc_exp*_user*.txt")):
        exp, user = (int(s) for s in f.stem.replace("acc_exp", "").split("_user"))
        acc = pd.read_csv(f, sep=" ", header=None).values * G
        gyro = pd.read_csv(rawdir / f.name.replace("acc_", "gyro_"), sep=" ", header=None).values
        data.append((exp, user, np.hstack([acc, gyro])))
    t1 = time.perf_counter()
    for exp, user, x in data:
        for e, u, act, s, end in labels:
            if e == exp and u == user and act in lut:
                _windows_loop(x[s - 1 : end], lut[act], out, ys, W, HOP, 1)
    timing["parse"] += t1 - t0
    timing["windows"] += time.perf_counter() - t1


def baseline_motionsense(raw: Path, out: list, ys: list, timing: dict) -> None:
    """DeviceMotion CSVs read with header=None and sliced, as the released script does."""
    import pandas as pd

    lut = {"dws": 0, "ups": 1, "jog": 2, "sit": 3, "std": 4, "wlk": 5}
    t0 = time.perf_counter()
    data = []
    for f in sorted(raw.rglob("A_DeviceMotion_data/*/sub_*.csv")):
        v = pd.read_csv(f, header=None).values[1:].astype(np.float64)
        acc = -(v[:, 10:13] + v[:, 4:7]) * G
        data.append((lut[f.parent.name.split("_")[0]], np.hstack([acc, v[:, 7:10]])))
    t1 = time.perf_counter()
    for label, x in data:
        _windows_loop(x, label, out, ys, W, HOP, 1)
    timing["parse"] += t1 - t0
    timing["windows"] += time.perf_counter() - t1


def _read_mobifall(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    with open(path) as fh:
        skip = next(i for i, line in enumerate(fh) if line.startswith("@DATA")) + 1
    v = pd.read_csv(path, skiprows=skip, header=None).values
    return v[:, 0] * 1e-9, v[:, 1:4].astype(np.float64)


def baseline_mobiact(raw: Path, out: list, ys: list, timing: dict) -> None:
    """MobiFall raw trials -> uniform 100 Hz (np.interp) -> 256/128 windows -> decimate(2)."""
    lut = {"STD": 4, "WAL": 5, "JOG": 2, "JUM": 9, "STU": 1, "STN": 0, "SCH": 3}
    t0 = time.perf_counter()
    data = []
    for f in sorted(raw.rglob("*_acc_*.txt")):
        code = f.name[:3]
        if code not in lut:
            continue
        ta, xa = _read_mobifall(f)
        tg, xg = _read_mobifall(f.with_name(f.name.replace("_acc_", "_gyro_")))
        data.append((lut[code], ta, xa, tg, xg))
    t1 = time.perf_counter()
    for label, ta, xa, tg, xg in data:
        grid = np.arange(max(ta[0], tg[0]), min(ta[-1], tg[-1]), 0.01)
        x = np.column_stack(
            [np.interp(grid, ta, xa[:, c]) for c in range(3)]
            + [np.interp(grid, tg, xg[:, c]) for c in range(3)]
        )
        _windows_loop(x, label, out, ys, 2 * W, 2 * HOP, 2)
    timing["parse"] += t1 - t0
    timing["windows"] += time.perf_counter() - t1


def run_baseline(data: Path) -> dict:
    """All mirror datasets through the baseline; windows saved like a cache."""
    fns = {"UCI": baseline_uci, "MotionSense": baseline_motionsense, "MobiAct": baseline_mobiact}
    res: dict = {"datasets": {}}
    t_all, c_all = time.perf_counter(), time.process_time()
    for name in NAMES:
        timing = {"parse": 0.0, "windows": 0.0}
        xs: list = []
        ys: list = []
        t0 = time.perf_counter()
        fns[name](data / "raw" / name, xs, ys, timing)
        X, y = np.stack(xs), np.array(ys, np.int8)
        with tempfile.TemporaryDirectory(dir=data) as d:
            np.save(Path(d) / "X.npy", X)
            np.save(Path(d) / "y.npy", y)
        res["datasets"][name] = {"n": len(y), "seconds": time.perf_counter() - t0, **timing}
    res["seconds"] = time.perf_counter() - t_all
    res["cpu_seconds"] = time.process_time() - c_all
    return res


# --------------------------------------------------------------------------- harnb


def run_harnb(data: Path) -> dict:
    """All mirror datasets through build_windows(force=True), plus a stage breakdown."""
    from harnb.data import preprocess as pp

    res: dict = {"datasets": {}}
    t_all, c_all = time.perf_counter(), time.process_time()
    for name in NAMES:
        t0 = time.perf_counter()
        st = pp.build_windows(name, force=True, progress=False)
        res["datasets"][name] = {"n": len(st), "seconds": time.perf_counter() - t0}
    res["seconds"] = time.perf_counter() - t_all
    res["cpu_seconds"] = time.process_time() - c_all
    return res


def run_harnb_stages(data: Path, repeat: int = 1) -> dict:
    """harnb's stage times (loader parsing vs resampling + windowing; the best of ``repeat``,
    each parsing the files again), warm reuse, load time."""
    from harnb.data import preprocess as pp

    res: dict = {"datasets": {}}
    for name in NAMES:
        best = {"parse": math.inf, "windows": math.inf}
        for _ in range(repeat):
            t0 = time.perf_counter()
            recs = pp._load_recordings(name, None, {})
            t1 = time.perf_counter()
            pp.windows_from_recordings(recs)
            best["parse"] = min(best["parse"], t1 - t0)
            best["windows"] = min(best["windows"], time.perf_counter() - t1)
            del recs
        res["datasets"][name] = best
    # Warm path: the cache is reused; load_windows concatenates the three stores.
    t0 = time.perf_counter()
    for name in NAMES:
        pp.build_windows(name, progress=False)
    res["warm_seconds"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    st = pp.load_windows(NAMES, progress=False)
    res["load_seconds"] = time.perf_counter() - t0
    res["summary"] = st.summary().reset_index().to_dict(orient="records")
    return res


# --------------------------------------------------------------------------- driver


def _child(which: str, data: Path, repeat: int = 1) -> None:
    os.environ["HARNB_DATA"] = str(data)
    warnings.simplefilter("ignore")
    import pandas  # noqa: F401  (imports are not part of the timed work)
    import scipy.signal  # noqa: F401

    import harnb.data.preprocess  # noqa: F401

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    fn = {"baseline": run_baseline, "harnb": run_harnb, "stages": run_harnb_stages}[which]
    res = fn(data, repeat) if which == "stages" else fn(data)
    res = {"result": res, "rss_after_imports_mb": rss0 / 1024}
    res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(res))


def _spawn(which: str, data: Path, repeat: int = 1) -> dict:
    p = subprocess.run(
        [sys.executable, __file__, "--child", which, "--data", str(data), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        check=False,
    )
    if p.returncode != 0:
        raise SystemExit(f"{which} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    line = next(ln for ln in p.stdout.splitlines() if ln.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    repo = Path(__file__).resolve().parent.parent
    ap.add_argument(
        "--mirror",
        type=Path,
        default=Path(os.environ.get("HARNB_MIRROR") or repo.parent / "shared" / "datasets"),
    )
    ap.add_argument("--data", type=Path, default=None, help="work folder (default: a temp dir)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per pipeline; the best is kept")
    ap.add_argument("--child", choices=["baseline", "harnb", "stages"], help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        _child(a.child, a.data, a.repeat)
        return

    data = a.data or Path(tempfile.mkdtemp(prefix="harnb-bench-"))
    data.mkdir(parents=True, exist_ok=True)
    os.environ["HARNB_DATA"] = str(data)
    from harnb.data import fetch

    t0 = time.perf_counter()
    fetch.fetch(NAMES, mirror=a.mirror, dest=data / "raw", progress=False)
    print(f"extraction (untimed for both): {time.perf_counter() - t0:.1f} s -> {data / 'raw'}")

    runs: dict[str, list[dict]] = {"baseline": [], "harnb": []}
    for _ in range(a.repeat):  # alternate, so slow phases of a shared machine hit both
        for which in ("harnb", "baseline"):
            runs[which].append(_spawn(which, data))
    best = {k: min(v, key=lambda r: r["result"]["seconds"]) for k, v in runs.items()}
    stages = _spawn("stages", data, a.repeat)["result"]
    sd_all = stages["datasets"]
    h, b = best["harnb"]["result"], best["baseline"]["result"]

    print(
        f"\n{'dataset':<12} {'harnb win':>9} {'base win':>9} {'harnb s':>8} {'base s':>8}"
        f" {'h parse':>8} {'h win':>7} {'b parse':>8} {'b win':>7}"
    )
    for n in NAMES:
        hd, bd, sd = h["datasets"][n], b["datasets"][n], sd_all[n]
        print(
            f"{n:<12} {hd['n']:>9} {bd['n']:>9} {hd['seconds']:>8.2f} "
            f"{bd['seconds']:>8.2f} {sd['parse']:>8.2f} {sd['windows']:>7.2f} "
            f"{bd['parse']:>8.2f} {bd['windows']:>7.2f}"
        )
    print(f"{'total':<12} {'':>9} {'':>9} {h['seconds']:>8.2f} {b['seconds']:>8.2f}")
    print("\nwindows per class (harnb):")
    for row in stages["summary"]:
        counts = {
            k: v
            for k, v in row.items()
            if k not in ("dataset", "windows", "subjects", "recordings", "classes") and v
        }
        head = f"  {row['dataset']:<12} {row['windows']:>6} windows, {row['subjects']} subjects"
        print(f"{head}: {counts}")
    print(
        f"\nharnb warm (cache reused, 3 datasets): {stages['warm_seconds']:.3f} s; "
        f"load_windows (concatenated): {stages['load_seconds']:.3f} s"
    )
    for k in ("harnb", "baseline"):
        runs_s = ", ".join(f"{r['result']['seconds']:.2f}" for r in runs[k])
        print(f"{k} runs (s, best kept): {runs_s}")
    for k in ("harnb", "baseline"):
        r = best[k]
        peak, imports = r["peak_rss_mb"], r["rss_after_imports_mb"]
        print(f"peak RSS {k:<8}: {peak:.0f} MB (of which imports {imports:.0f} MB)")
    sp = sum(sd_all[n]["windows"] for n in NAMES)
    bp = sum(b["datasets"][n]["windows"] for n in NAMES)
    spp = sum(sd_all[n]["parse"] for n in NAMES)
    bpp = sum(b["datasets"][n]["parse"] for n in NAMES)
    print(f"\nfile parsing, loaders vs pandas-per-file: {bpp / spp:.1f}x")
    print(f"resampling + windowing stage, vectorised vs per-window loop: {bp / sp:.1f}x")
    hc, bc = h["cpu_seconds"], b["cpu_seconds"]
    print(
        f"CPU time of the same best runs (less sensitive to other load): harnb {hc:.2f} s, "
        f"baseline {bc:.2f} s, ratio {bc / hc:.1f}x"
    )
    ratio = b["seconds"] / h["seconds"]
    print(f"end-to-end speed-up (raw files -> saved windows), baseline / harnb: {ratio:.1f}x")


if __name__ == "__main__":
    main()
