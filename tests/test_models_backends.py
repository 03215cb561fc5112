"""Every model on both Keras backends, each in its own subprocess (``KERAS_BACKEND`` is read once,
when Keras is imported, so a clean choice needs a fresh interpreter).

TensorFlow builds, predicts, saves its weights and takes a training step; JAX does the same and
also loads TensorFlow's weights: the two must predict the same to 1e-4. The TensorFlow step runs
eagerly by default (tracing the tf.function of MobileHART's training step alone takes about a
minute on two cores); the ``slow`` test repeats it with the default compiled step.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from harnb.models import MODELS

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "_backend_check.py"
HAS_JAX = importlib.util.find_spec("jax") is not None
EXPECTED_PARAMS = {
    "ispl": 1_327_714,
    "deepconvlstm": 457_546,
    "hart": 1_450_018,
    "mobilehart": 2_547_042,
}


def run_check(backend: str, out: Path, *args: str, timeout: int = 900) -> dict:
    """Run the check script under ``backend``; return its JSON results."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    if backend == "jax":
        # XLA's CPU compile dominates on JAX; a persistent cache makes reruns fast and
        # unoptimised compilation keeps the cold run short (numerics stay float32-exact enough).
        cache = os.environ.get(
            "HARNB_JAX_CACHE", str(Path(tempfile.gettempdir()) / "harnb-jax-cache")
        )
        env.update(
            JAX_COMPILATION_CACHE_DIR=cache,
            JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
            JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="0",
            JAX_DISABLE_MOST_OPTIMIZATIONS="1",
        )
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--dir", str(out), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=HERE.parent,
    )
    if proc.returncode != 0:
        raise AssertionError(
            f"{backend} check failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
        )
    return json.loads((out / f"{backend}.json").read_text())


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict]]:
    """TensorFlow first (its weights are what JAX loads), then JAX."""
    d = tmp_path_factory.mktemp("backends")
    res = {"tensorflow": run_check("tensorflow", d, "--train", "eager")}
    if HAS_JAX:
        res["jax"] = run_check("jax", d, "--load-from", "tensorflow")
    return d, res


def _check_result(r: dict, name: str) -> None:
    assert r["params"] == EXPECTED_PARAMS[name]
    assert r["pred_shape"] == [8, 10]
    assert r["finite"] and r["rows_sum_to_one"]
    assert r["roundtrip_max_abs"] == 0.0  # .weights.h5 save → load into a fresh model
    assert np.isfinite(r["train_loss"]) and r["weights_changed"]


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
@pytest.mark.parametrize("name", MODELS)
def test_forward_train_and_weights_on_backend(runs, backend: str, name: str) -> None:
    if backend == "jax" and not HAS_JAX:
        pytest.skip("jax is not installed")
    _check_result(runs[1][backend][name], name)


def test_jax_never_imports_tensorflow(runs) -> None:
    if not HAS_JAX:
        pytest.skip("jax is not installed")
    proc = runs[1]["jax"]["_process"]
    assert proc["backend"] == "jax" and proc["tensorflow_imported"] is False
    assert runs[1]["tensorflow"]["_process"]["backend"] == "tensorflow"


@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_depthwise_conv_matches_keras(runs, backend: str) -> None:
    """MobileHART's DepthwiseConv1D (a shifted sum on JAX) equals Keras' layer."""
    if backend == "jax" and not HAS_JAX:
        pytest.skip("jax is not installed")
    assert runs[1][backend]["_process"]["depthwise_max_diff"] < 1e-5


@pytest.mark.parametrize("name", MODELS)
def test_same_weights_same_outputs_across_backends(runs, name: str) -> None:
    if not HAS_JAX:
        pytest.skip("jax is not installed")
    d = runs[0]
    tf_pred = np.load(d / f"tensorflow_{name}.npy")
    jax_pred = np.load(d / f"jax_from_tensorflow_{name}.npy")
    np.testing.assert_allclose(jax_pred, tf_pred, atol=1e-4, rtol=0)


@pytest.mark.slow
def test_tensorflow_compiled_training_step(tmp_path: Path) -> None:
    """The default (tf.function) training step on TensorFlow, every model."""
    res = run_check("tensorflow", tmp_path, "--train", "default")
    for name in MODELS:
        _check_result(res[name], name)
