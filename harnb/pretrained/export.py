"""Export a model for phones: TFLite (LiteRT) and ONNX files whose outputs match Keras.

* TFLite: the Keras model's inference function goes through a SavedModel
  (``keras.export.ExportArchive``) into ``tf.lite.TFLiteConverter`` with TFLite's built-in
  ops only, so the file runs on the plain LiteRT runtime (no Flex delegate). Its batch size
  is fixed (1 by default, one window at a time as a phone classifies): with a dynamic batch
  the converter cannot lower DeepConvLSTM's LSTM loop (``tf.TensorListReserve``).
* ONNX: Keras 3's ``model.export(format="onnx")`` (tf2onnx on TensorFlow), dynamic batch.

A model with a card (``model.card``: a released model, or a fine-tuned one loaded by
:func:`load_keras`) carries it along: the card is written beside the file as
``<file>.card.json`` (classes, normalisation statistics, the training or fine-tuning recipe,
plus an ``export`` entry), and an ONNX file holds it in its metadata (``metadata_props``:
``harnb_card``, ``classes``, ``normalisation``, each JSON), so an app reading only the file
knows what its outputs mean and how to scale its inputs.

Needs TensorFlow as the Keras backend and the ``export`` extra (``pip install
"harnb[export]"``: tf2onnx, onnx, onnxruntime, ai-edge-litert). Where a format cannot take
an op of a model, :class:`ExportError` names it.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import keras

FORMATS: tuple[str, ...] = ("tflite", "onnx")
SUFFIX: dict[str, str] = {"tflite": ".tflite", "onnx": ".onnx"}
#: The input name of every exported file.
INPUT_NAME = "window"
#: Suffix of the card written beside an exported file.
CARD_SUFFIX = ".card.json"
#: ONNX metadata_props keys that carry the card.
METADATA_KEYS: tuple[str, ...] = ("harnb_card", "classes", "normalisation")


class ExportError(RuntimeError):
    """A model cannot be written in a format (names the op or the missing piece)."""


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def _check_batch(batch: int | None) -> int | None:
    """TFLite's fixed batch: None (dynamic) or a positive size. A batch of 0 converts into a
    file that runs nothing, so it is refused before anything is written."""
    if batch is not None and (isinstance(batch, bool) or int(batch) != batch or batch < 1):
        raise ValueError(f"--batch must be a positive number of windows, got {batch}")
    return batch


def check_request(
    fmt: str, path: str | os.PathLike[str], batch: int | None = 1, verify: bool = False
) -> Path:
    """Refuse an export that cannot succeed before a model is loaded or a file written: the
    format, the batch, an output path that is a folder, a missing ``export`` extra (with
    ``verify``, also the mobile runtime that :func:`compare` runs the file in)."""
    import importlib.util

    _check_format(fmt)
    _check_batch(batch)
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"--out {path} is a folder; name the {SUFFIX[fmt]} file to write")
    need = {"tflite": ("tensorflow",), "onnx": ("tensorflow", "tf2onnx", "onnx")}[fmt]
    if verify:
        need += {"tflite": ("ai_edge_litert",), "onnx": ("onnxruntime",)}[fmt]
    for module in need:
        if importlib.util.find_spec(module) is None:
            raise ExportError(
                f'{fmt} export needs the Python package {module!r}: pip install "harnb[export]"'
            )
    return path


def _need(module: str, fmt: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ExportError(
            f"{fmt} export needs the Python package {module.split('.')[0]!r}: "
            'pip install "harnb[export]"'
        ) from None


def _need_tensorflow(fmt: str) -> Any:
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ExportError(
            f"{fmt} export runs through TensorFlow; Keras uses {keras.backend.backend()!r}. "
            "Set KERAS_BACKEND=tensorflow before starting Python."
        )
    return _need("tensorflow", fmt)


def _op_names(message: str) -> list[str]:
    """The ops a converter error names (``tf.X`` that failed to legalize, unsupported ops)."""
    ops = re.findall(r"failed to legalize operation '([\w.]+)'", message)
    ops += re.findall(r"'([\w.]+)' op is neither a custom op nor a flex op", message)
    ops += re.findall(r"No (?:op|converter) (?:registered )?for (?:op )?'?(\w+)'?", message)
    ops += re.findall(r"Unsupported ops?: ([\w, ]+)", message)
    return sorted(set(ops))


def _failed(fmt: str, model: keras.Model, e: Exception) -> ExportError:
    msg = str(e)
    ops = _op_names(msg)
    what = f"op {', '.join(ops)}" if ops else "an op (see the converter's message below)"
    tail = msg.strip().splitlines()[-1][:500] if msg.strip() else type(e).__name__
    return ExportError(f"{fmt} cannot take {what} of model {model.name!r}: {tail}")


def export_tflite(model: keras.Model, path: str | os.PathLike[str], batch: int | None = 1) -> Path:
    """Write ``model`` (inference mode) as a TFLite file with a fixed ``batch`` (None: dynamic,
    which DeepConvLSTM's LSTM cannot take)."""
    import keras

    _check_batch(batch)

    tf = _need_tensorflow("tflite")
    path = Path(path)
    b = None if batch is None else int(batch)
    spec = [tf.TensorSpec([b, *model.input_shape[1:]], tf.float32, name=INPUT_NAME)]
    with tempfile.TemporaryDirectory() as d:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint("serve", lambda x: model(x, training=False), input_signature=spec)
        archive.write_out(d, verbose=False)
        conv = tf.lite.TFLiteConverter.from_saved_model(d)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        try:
            data = conv.convert()
        except Exception as e:  # the converter raises ConverterError with MLIR diagnostics
            raise _failed("tflite", model, e) from e
    write_atomic(path, data)
    return path


def export_onnx(
    model: keras.Model,
    path: str | os.PathLike[str],
    opset: int | None = None,
    card: dict[str, Any] | None = None,
):
    """Write ``model`` (inference mode) as an ONNX file with a dynamic batch; ``card`` goes
    into its metadata (:data:`METADATA_KEYS`)."""
    tf = _need_tensorflow("onnx")
    _need("tf2onnx", "onnx")
    onnx = _need("onnx", "onnx")
    path = Path(path)
    spec = [tf.TensorSpec([None, *model.input_shape[1:]], tf.float32, name=INPUT_NAME)]
    tmp = path.with_name(f".tmp{os.getpid()}-{path.name}")
    kwargs = {} if opset is None else {"opset_version": int(opset)}
    try:
        model.export(str(tmp), format="onnx", verbose=False, input_signature=spec, **kwargs)
        if card is not None:
            proto = onnx.load(str(tmp))
            onnx.helper.set_model_props(proto, card_metadata(card))
            onnx.save(proto, str(tmp))
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if not isinstance(e, Exception):  # KeyboardInterrupt: no partial file, no rewording
            raise
        raise _failed("onnx", model, e) from e
    os.replace(tmp, path)
    return path


def card_metadata(card: dict[str, Any]) -> dict[str, str]:
    """The ONNX metadata of a card: all of it, and its classes and normalisation apart."""
    norm = card.get("preprocessing", {}).get("normalisation", {})
    return {
        "harnb_card": json.dumps(card, default=str),
        "classes": json.dumps(list(card.get("classes", []))),
        "normalisation": json.dumps(norm, default=str),
    }


def onnx_card(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The card an ONNX file carries in its metadata, or None."""
    onnx = _need("onnx", "onnx")
    props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    return json.loads(props["harnb_card"]) if "harnb_card" in props else None


def card_path(path: str | os.PathLike[str]) -> Path:
    """Where the card of an exported file lies: ``<file>.card.json`` beside it."""
    p = Path(path)
    return p.with_name(p.name + CARD_SUFFIX)


def write_card(path: str | os.PathLike[str], card: dict[str, Any], fmt: str) -> Path:
    """Write ``card`` beside the exported ``path``, with an ``export`` entry; returns it."""
    doc = dict(card)
    doc["export"] = {
        "file": Path(path).name,
        "format": fmt,
        "input": INPUT_NAME,
        "output": f"probabilities over the {len(card.get('classes', []))} classes, in the "
        "order of 'classes'",
    }
    out = card_path(path)
    tmp = out.with_name(f".tmp{os.getpid()}-{out.name}")
    tmp.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    os.replace(tmp, out)
    return out


def load_keras(src: str | os.PathLike[str]) -> keras.Model:
    """A ``.keras`` file, or the folder ``harnb finetune --out`` wrote; the card saved beside a
    fine-tuned ``model.keras`` (``card.json``) is attached as ``model.card``."""
    import keras

    import harnb.models  # noqa: F401  (registers the custom layers)

    p = Path(src).expanduser()
    if p.is_dir():
        p = p / "model.keras"
    m = keras.saving.load_model(p, compile=False)
    card = p.with_name("card.json")
    if p.name == "model.keras" and card.is_file():
        m.card = json.loads(card.read_text())
    return m


def write_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` under a temporary name beside ``path``, then rename: a failed or
    interrupted write never leaves a partial file under the name the user asked for."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp{os.getpid()}-{path.name}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def export_model(
    model: keras.Model, path: str | os.PathLike[str], fmt: str, batch: int | None = 1
) -> Path:
    """Write ``model`` to ``path`` in format ``fmt`` (``tflite`` or ``onnx``); a model with a
    card (``model.card``) gets it beside the file (:func:`card_path`) and, in ONNX, inside."""
    _check_format(fmt)
    _check_batch(batch)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    card = getattr(model, "card", None)
    card = dict(card) if card is not None else None
    if fmt == "tflite":
        out = export_tflite(model, path, batch=batch)
    else:
        out = export_onnx(model, path, card=card)
    if card is not None:
        write_card(out, card, fmt)
    return out


def runner(path: str | os.PathLike[str]) -> Callable[[np.ndarray], np.ndarray]:
    """A function windows → outputs that runs an exported file in its mobile runtime.

    ``.tflite`` files run in ``ai_edge_litert``'s Interpreter (windows go through in chunks of
    the file's fixed batch, the last one padded), ``.onnx`` files in onnxruntime.
    """
    path = Path(path)
    if path.suffix == ".tflite":
        litert = _need("ai_edge_litert.interpreter", "tflite")
        it = litert.Interpreter(model_path=str(path))
        it.allocate_tensors()
        inp, out = it.get_input_details()[0], it.get_output_details()[0]
        dynamic = int(inp["shape_signature"][0]) == -1
        b = int(inp["shape"][0])

        def run_tflite(X: np.ndarray) -> np.ndarray:
            nonlocal b
            X = np.asarray(X, np.float32)
            if dynamic and len(X) != b:
                b = len(X)
                it.resize_tensor_input(inp["index"], [b, *X.shape[1:]])
                it.allocate_tensors()
            res = []
            for i in range(0, len(X), b):
                chunk = X[i : i + b]
                k = len(chunk)
                if k < b:
                    chunk = np.concatenate([chunk, np.zeros((b - k, *X.shape[1:]), np.float32)])
                it.set_tensor(inp["index"], chunk)
                it.invoke()
                res.append(np.array(it.get_tensor(out["index"]))[:k])
            return np.concatenate(res)

        return run_tflite
    if path.suffix == ".onnx":
        ort = _need("onnxruntime", "onnx")
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name

        def run_onnx(X: np.ndarray) -> np.ndarray:
            return np.asarray(sess.run(None, {name: np.asarray(X, np.float32)})[0])

        return run_onnx
    raise ValueError(f"{path}: not an exported model (.tflite or .onnx)")


def keras_runner(model: keras.Model) -> Callable[[np.ndarray], np.ndarray]:
    """Keras inference on a batch of windows (compiled predict step, no progress bar)."""

    def run(X: np.ndarray) -> np.ndarray:
        return np.asarray(model.predict_on_batch(np.asarray(X, np.float32)))

    return run


def median_latency(run: Callable[[np.ndarray], Any], window: np.ndarray, n: int = 50) -> float:
    """Median seconds of ``n`` single-window calls, after 3 warm-up calls."""
    x = np.asarray(window, np.float32)[None]
    for _ in range(3):
        run(x)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def keras_file_size(model: keras.Model) -> int:
    """Bytes of the model saved as a ``.keras`` file (the size a Keras user ships)."""
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "model.keras"
        model.save(p)
        return p.stat().st_size


def compare(
    model: keras.Model,
    path: str | os.PathLike[str],
    X: np.ndarray,
    n_latency: int = 50,
) -> dict[str, Any]:
    """Exported outputs vs Keras on windows ``X``: max abs difference, sizes, latencies."""
    X = np.asarray(X, np.float32)
    k_run, e_run = keras_runner(model), runner(path)
    ref = k_run(X)
    got = e_run(X)
    return {
        "file": str(path),
        "windows": len(X),
        "max_abs_diff": float(np.max(np.abs(ref - got))),
        "same_argmax": float(np.mean(ref.argmax(-1) == got.argmax(-1))),
        "bytes": Path(path).stat().st_size,
        "keras_bytes": keras_file_size(model),
        "latency_s": median_latency(e_run, X[0], n_latency),
        "keras_latency_s": median_latency(k_run, X[0], n_latency),
    }


def format_report(fmt: str, rep: dict[str, Any]) -> str:
    """Lines for the terminal: the match, sizes and latencies beside Keras'."""
    return (
        f"{fmt}: {rep['file']}\n"
        f"  max |{fmt} - keras| over {rep['windows']} windows: {rep['max_abs_diff']:.2e} "
        f"(same class on {rep['same_argmax']:.1%})\n"
        f"  size: {rep['bytes'] / 1e6:.2f} MB ({fmt}) vs {rep['keras_bytes'] / 1e6:.2f} MB "
        "(.keras)\n"
        f"  single-window latency (median): {rep['latency_s'] * 1e3:.2f} ms ({fmt}) vs "
        f"{rep['keras_latency_s'] * 1e3:.2f} ms (keras predict_on_batch)"
    )
