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


@pytest.mark.mirror
@pytest.mark.slow
def test_fine_tuned_export_carries_its_card(
    mirror, session_data, tmp_path, monkeypatch, capsys
):  # fmt: skip
    """A model fine-tuned on eleven own classes (MotionSense trials): ``harnb export FOLDER``
    writes the ONNX file, the card beside it (classes, normalisation, recipe) and the same
    card in the ONNX metadata, and the file gives Keras' outputs. Exported without its card
    before, an app could not tell its classes nor scale its inputs. (TFLite gets the same
    card beside it; its conversion is covered above.)"""
    import json

    from test_data_checks import trial_classes

    from harnb.cli import main
    from harnb.pretrained import finetune

    monkeypatch.setenv("HARNB_DATA", str(session_data))
    monkeypatch.setenv("HARNB_MIRROR", str(mirror))
    ms = tmp_path / "ms"
    assert main(["data", "export-csv", "MotionSense", str(ms), "--subjects", "1", "2", "8"]) == 0
    folder, names = trial_classes(ms, tmp_path / "trials", 11, "Trials11")
    res = finetune.run(
        folder, "hart", labels_per_class=3, strategy="P_F", profile="ci",
        test_subjects=["8"], out=tmp_path / "ft",
    )  # fmt: skip
    assert res.card["classes"] == names and res.model.output_shape[-1] == 11
    out = tmp_path / "tuned.onnx"
    capsys.readouterr()
    argv = ["export", str(tmp_path / "ft"), "--format", "onnx", "--out", str(out), "--check", "0"]
    assert main(argv) == 0
    assert f"model card -> {out}.card.json" in capsys.readouterr().out
    card = json.loads(export.card_path(out).read_text())
    assert card["classes"] == names
    norm = card["preprocessing"]["normalisation"]
    assert norm["stats"] == res.card["preprocessing"]["normalisation"]["stats"]
    assert card["finetuning"]["strategy"] == "P_F" and card["finetuning"]["test_subjects"] == ["8"]
    assert "11 classes" in card["preprocessing"]["text"]
    assert card["export"] == {
        "file": "tuned.onnx", "format": "onnx", "input": "window",
        "output": "probabilities over the 11 classes, in the order of 'classes'",
    }  # fmt: skip
    inside = export.onnx_card(out)
    assert inside == {k: v for k, v in card.items() if k != "export"}
    import onnx

    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert json.loads(props["classes"]) == names and json.loads(props["normalisation"]) == norm
    # the file, fed windows scaled by the card's statistics, gives the Keras outputs
    ud = finetune.load_user_windows(folder)
    X = finetune.pretrained_normalise(ud.store.X[:: max(1, len(ud.store) // 32)], card)
    got = export.runner(out)(X)
    np.testing.assert_allclose(got, res.model.predict(X, verbose=0), atol=1e-4)
    # prediction names the own classes, eleven of them
    pred = finetune.predict_folder(tmp_path / "ft", folder)
    assert set(pred["class"]) <= set(names) and len(pred) >= len(ud.store)
