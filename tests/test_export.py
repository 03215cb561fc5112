"""Export for phones: TFLite (run in LiteRT) and ONNX (run in onnxruntime) files match Keras
to 1e-4 on real windows; a format that cannot take an op says which."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
pytest.importorskip("ai_edge_litert")
pytest.importorskip("tf2onnx")

import keras  # noqa: E402

from harnb import models  # noqa: E402
from harnb.pretrained import export

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="export runs through TensorFlow"
)


@pytest.fixture(scope="module")
def real_windows(mirror, session_data):
    """48 real UCI windows, z-scored by UCI's statistics (what a released model is fed)."""
    from harnb.data import fetch, preprocess

    mp = pytest.MonkeyPatch()
    mp.setenv("HARNB_DATA", str(session_data))
    fetch.fetch(["UCI"], mirror=mirror, dest=session_data / "raw")
    store = preprocess.load_windows(["UCI"], progress=False)
    X = preprocess.normalise(store, preprocess.fit_normalisation(store))
    idx = np.random.default_rng(0).choice(len(X), 48, replace=False)
    yield X[np.sort(idx)]
    mp.undo()


@pytest.mark.mirror
@pytest.mark.slow
@pytest.mark.parametrize("fmt", export.FORMATS)
@pytest.mark.parametrize("name", ["hart", "mobilehart", "ispl", "deepconvlstm"])
def test_export_matches_keras_on_real_windows(real_windows, tmp_path, name, fmt):
    """Random weights are enough: the match is of the graph, not of what it learned."""
    m = models.build(name, seed=0)
    path = export.export_model(m, tmp_path / f"{name}{export.SUFFIX[fmt]}", fmt)
    rep = export.compare(m, path, real_windows, n_latency=5)
    assert rep["windows"] == 48
    assert rep["max_abs_diff"] < 1e-4, rep
    assert rep["same_argmax"] == 1.0
    assert rep["bytes"] > 0.3 * 4 * models.count_params(m)  # weights are in the file
    assert rep["latency_s"] > 0 and rep["keras_latency_s"] > 0
    assert "latency" in export.format_report(fmt, rep)


@pytest.mark.slow
def test_tflite_names_the_op_it_cannot_take(tmp_path):
    """DeepConvLSTM's LSTM with a dynamic batch: the TFLite built-ins cannot lower the loop's
    tensor list, and the error says so (the default fixed batch converts, above)."""
    m = models.build("deepconvlstm", seed=0)
    with pytest.raises(export.ExportError, match=r"tflite cannot take op .*TensorListReserve"):
        export.export_tflite(m, tmp_path / "dcl.tflite", batch=None)
    assert not (tmp_path / "dcl.tflite").exists()


def test_unknown_format_and_file(tmp_path):
    m = models.build("deepconvlstm", seed=0)
    with pytest.raises(ValueError, match="unknown export format 'coreml'"):
        export.export_model(m, tmp_path / "x.mlmodel", "coreml")
    with pytest.raises(ValueError, match="not an exported model"):
        export.runner(tmp_path / "x.h5")


@pytest.mark.mirror
@pytest.mark.slow
def test_cli_exports_a_fine_tuned_weights_file(real_windows, tmp_path, capsys):
    """``harnb export W.weights.h5 --arch A`` writes the file and checks it on real windows."""
    from harnb.cli import main

    m = models.build("deepconvlstm", seed=1)
    w = tmp_path / "tuned.weights.h5"
    m.save_weights(w)
    out = tmp_path / "tuned.tflite"
    argv = ["export", str(w), "--arch", "deepconvlstm", "--format", "tflite", "--out", str(out)]
    assert main([*argv, "--check", "16", "--latency-runs", "3"]) == 0
    text = capsys.readouterr().out
    assert out.exists() and "max |tflite - keras| over 16 windows" in text
    assert "ms (keras predict_on_batch)" in text


def test_cli_refuses_what_it_cannot_export(tmp_path, capsys):
    from harnb.cli import MODEL_NAMES, main

    assert MODEL_NAMES == models.MODELS
    assert main(["pretrain", "--model", "hart"]) == 2
    assert "only --release" in capsys.readouterr().err
    # bad input: one "harnb export: error:" line and exit status 2, no traceback
    assert main(["export", str(tmp_path / "a.weights.h5"), "--format", "onnx"]) == 2
    err = capsys.readouterr().err
    assert "needs --arch" in err and "Traceback" not in err
    assert main(["export", "model.pt", "--format", "onnx"]) == 2
    assert "neither a released model" in capsys.readouterr().err
