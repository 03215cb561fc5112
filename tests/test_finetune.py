"""``harnb finetune`` / ``harnb predict``: a released model fine-tuned on a user's CSV folder.

Small folders with the user's own classes are written in the documented format; the end-to-end
check runs on a real HuGaDB export, a dataset the release never saw (the issue's "done when").
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_train import fake_models  # noqa: F401  (fixture)
from test_user_datasets import HEADER, _meta, _noisy_rows

from harnb.cli import main
from harnb.pretrained import finetune


def own_class_folder(root: Path, n_subjects: int = 4) -> Path:
    """Subjects with two own classes, "jog" (strong motion) and "rest", 600 samples each."""
    subjects = [f"p{i}" for i in range(1, n_subjects + 1)]
    meta = _meta(
        name="MyOwn",
        units={"timestamp": "ms", "acc": "g", "gyro": "rad/s"},
        subjects=subjects,
        classes="own",
        labels={"jog": "jogging", "rest": "resting"},
    )
    root.mkdir(parents=True)
    (root / "harnb-dataset.json").write_text(json.dumps(meta))
    for k, s in enumerate(subjects):
        rng = np.random.default_rng(k)
        t = np.arange(600)
        jog = np.column_stack(
            [np.sin(t / 3 + k), np.cos(t / 4), 1 + np.sin(t / 2), *rng.normal(size=(3, 600))]
        )
        rows = [
            f"{20 * i},{','.join(f'{v:.5f}' for v in jog[i])},jog" for i in range(600)
        ] + _noisy_rows(600, "rest", k, t0=20 * 600)
        (root / s).mkdir()
        (root / s / "rec.csv").write_text("\n".join([HEADER, *rows]) + "\n")
    return root


def test_split_keeps_test_subjects_out_of_training_and_validation(tmp_path: Path) -> None:
    ud = finetune.load_user_windows(own_class_folder(tmp_path / "own", 5))
    assert ud.classes == ("jogging", "resting") and ud.subjects == [f"p{i}" for i in range(1, 6)]
    train_s, test_s = finetune.split_subjects(ud, seed=3)
    assert len(test_s) == 2 and not set(train_s) & set(test_s)  # 30 % of 5, rounded
    assert finetune.split_subjects(ud, seed=3) == (train_s, test_s)  # seeded
    sp = finetune.draw_labelled(ud, train_s, test_s, labels_per_class=3, seed=0)
    sid = ud.subject_ids()
    assert set(sid[sp.labelled]) <= set(train_s) and set(sid[sp.val]) <= set(train_s)
    assert set(sid[sp.test]) == set(test_s)
    assert len(np.intersect1d(sp.labelled, sp.val)) == 0
    # by default early stopping reads only the drawn labels: a quarter of them, per class
    assert np.array_equal(np.sort(np.r_[sp.labelled, sp.val]), sp.drawn)
    assert np.bincount(ud.store.y[sp.drawn]).tolist() == [3, 3]
    assert np.bincount(ud.store.y[sp.val]).tolist() == [1, 1] and sp.validation == "budget"
    assert sp.per_class == {"jogging": 3, "resting": 3}
    rest = finetune.draw_labelled(ud, train_s, test_s, 3, seed=0, validation="rest")
    assert np.array_equal(rest.labelled, rest.drawn) and np.array_equal(rest.drawn, sp.drawn)
    assert len(rest.val) > len(sp.val) and not np.intersect1d(rest.val, rest.drawn).size
    with pytest.raises(ValueError, match="validation must be one of"):
        finetune.draw_labelled(ud, train_s, test_s, 3, validation="oracle")
    by_ratio = finetune.draw_labelled(ud, train_s, test_s, ratio=50, seed=0)
    n_train = np.isin(sid, train_s).sum()
    assert abs(len(by_ratio.drawn) - n_train / 2) <= 2
    # normalisation statistics come from the training subjects only
    X, stats = finetune.normalise_user(ud, train_s)
    tr = np.isin(sid, train_s)
    assert abs(float(X[tr][..., :3].mean())) < 1e-4 and abs(float(X[~tr][..., :3].mean())) > 1e-3
    with pytest.raises(ValueError, match="not in MyOwn"):
        finetune.split_subjects(ud, ["p9"])
    with pytest.raises(ValueError, match="none is left"):
        finetune.split_subjects(ud, ud.subjects)


def test_macro_f1_interval_is_a_subject_bootstrap() -> None:
    y = np.array([0, 0, 1, 1, 0, 1])
    subj = np.array(["a", "a", "a", "b", "b", "b"])
    perfect = finetune.macro_f1_interval(y, y, subj, 2)
    assert perfect == (1.0, 1.0, 1.0)
    f1, lo, hi = finetune.macro_f1_interval(y, np.array([0, 0, 1, 0, 0, 1]), subj, 2)
    assert lo <= f1 <= hi and lo < 1.0


@pytest.mark.slow
def test_own_classes_finetune_save_reload_predict(tmp_path: Path, capsys) -> None:
    """P_F on two own classes: a 2-output head, its card, a reload that predicts the same."""
    root = own_class_folder(tmp_path / "own", 4)
    out = tmp_path / "ft"
    res = finetune.run(root, "hart", labels_per_class=4, strategy="P_F", profile="ci", out=out)
    assert res.model.output_shape[-1] == 2
    assert res.card["classes"] == ["jogging", "resting"]
    assert res.card["finetuning"]["labelled_per_class"] == {"jogging": 4, "resting": 4}
    assert set(res.card["finetuning"]["test_subjects"]).isdisjoint(
        res.card["finetuning"]["train_subjects"]
    )
    assert res.card["warning"] == ""  # not a pre-training dataset
    assert 0.0 <= res.scores["macro_f1_ci95"][0] <= res.scores["macro_f1"]
    assert list(res.scores["confusion"].columns) == ["jogging", "resting"]
    model, card = finetune.load_finetuned(out)
    ud = finetune.load_user_windows(root)
    X = finetune.pretrained_normalise(ud.store.X, card)
    np.testing.assert_allclose(
        model.predict(X, verbose=0), res.model.predict(X, verbose=0), atol=1e-5
    )
    # harnb predict: one row per window, own class names, labels ignored
    pred = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(out), "--data", str(root), "--out", str(pred)]) == 0
    df = pd.read_csv(pred)
    assert list(df.columns) == ["recording", "start_s", "class"]
    assert set(df["class"]) <= {"jogging", "resting"} and set(df["recording"]) == {
        f"p{i}/rec" for i in range(1, 5)
    }
    assert len(df) >= len(ud.store)  # windows may cross the label change when labels are ignored
    assert "windows of 4 recordings" in capsys.readouterr().out


def test_bad_input_is_one_line_status_2(tmp_path: Path, capsys) -> None:
    root = own_class_folder(tmp_path / "own", 2)
    cases = [
        (["finetune", "--data", str(tmp_path / "nowhere")], "no such folder"),
        (["finetune", "--data", str(root), "--labels-per-class", "0"], ">= 1"),
        (["finetune", "--data", str(root), "--test-subjects", "zz"], "not in MyOwn"),
        (["finetune", "--data", str(root), "--model", "nosuch"], "neither a released model"),
        (["predict", "--model", str(tmp_path), "--data", str(root)], "no model.keras"),
    ]
    for argv, msg in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and msg in err, (argv, err)
        assert err.startswith(f"harnb {argv[0]}: error: ")


@pytest.mark.mirror
@pytest.mark.slow
def test_cli_finetune_on_an_unseen_dataset_export(
    mirror: Path, session_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """The issue's check: a HuGaDB export (right thigh, where a trouser-pocket phone sits; the
    release never saw HuGaDB, so no leak warning), 5 labels per class, a subject-wise macro-F1
    with its interval, and the classical baseline on the same windows."""
    from harnb import pretrained

    assert "HuGaDB" not in pretrained.card("hart")["training_data"]["datasets"]  # kept unseen
    monkeypatch.setenv("HARNB_DATA", str(session_data))
    monkeypatch.setenv("HARNB_MIRROR", str(mirror))
    folder = tmp_path / "hugadb-csv"
    assert main(["data", "export-csv", "HuGaDB", str(folder), "--subjects", "11", "18", "8"]) == 0
    capsys.readouterr()
    out = tmp_path / "ft"
    argv = ["finetune", "--model", "hart", "--data", str(folder), "--labels-per-class", "5"]
    argv += ["--profile", "ci", "--test-subjects", "8", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    m = re.search(r"macro-F1 (\d+\.\d) \(95 % CI (\d+\.\d)–(\d+\.\d), bootstrap over 1 test", text)
    assert m, text
    f1, lo, hi = map(float, m.groups())
    assert lo <= f1 <= hi and f1 > 30  # far above chance (16.7) on 6 classes
    assert "Downstairs" in text and "Walking" in text and "pre-trained on" not in text
    assert "no other label was read" in text
    ref = re.search(r"reference: features \+ random forest on the same 30 windows: (\d+\.\d)", text)
    assert ref, text
    card = json.loads((out / "card.json").read_text())
    assert card["finetuning"]["validation"] == "budget"
    assert card["finetuning"]["labelled_windows"] == 30  # 5 per class, 6 classes
    assert card["scores"]["baseline"]["macro_f1"] == pytest.approx(
        float(ref.group(1)) / 100, abs=6e-4
    )
    assert card["finetuning"]["test_subjects"] == ["8"]
    assert card["finetuning"]["train_subjects"] == ["11", "18"]
    assert card["finetuning"]["labelled_per_class"] == dict.fromkeys(card["classes"], 5)
    # the reloaded model reproduces the printed score
    model, card2 = finetune.load_finetuned(out)
    ud = finetune.load_user_windows(folder)
    X = finetune.pretrained_normalise(ud.store.X, card2)
    te = ud.subject_ids() == "8"
    index = {c: i for i, c in enumerate(card2["classes"])}
    y = np.array([index[ud.classes[int(c)]] for c in ud.store.y[te]])
    pred = model.predict(X[te], verbose=0).argmax(-1)
    again = finetune.macro_f1_interval(y, pred, ud.subject_ids()[te], len(index))[0]
    assert again == pytest.approx(card["scores"]["macro_f1"], abs=1e-9)


def _model_folder(out: Path, X: np.ndarray) -> Path:
    """A folder as ``harnb finetune --out`` writes it, without the training: the released HART
    (the 10 union classes), normalised by the statistics of windows ``X``."""
    from harnb import config, pretrained

    stats = pretrained.fit_stats(X)
    card = {"classes": list(config.CLASSES), "preprocessing": {"normalisation": {"stats": stats}}}
    return finetune.save_finetuned(pretrained.load("hart"), card, out)


@pytest.mark.mirror
def test_predict_on_recordings_without_labels(
    mirror: Path, session_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """New recordings have no labels: two MotionSense recordings without the label column and
    the metadata's mapping get the same windows and classes as with them; adding or
    fine-tuning on them still fails, naming the file."""
    from harnb.data.datasets import DataFormatError, csvfolder

    monkeypatch.setenv("HARNB_DATA", str(session_data))
    monkeypatch.setenv("HARNB_MIRROR", str(mirror))
    full = tmp_path / "ms-csv"
    assert main(["data", "export-csv", "MotionSense", str(full), "--subjects", "1"]) == 0
    meta = json.loads((full / csvfolder.META).read_text())
    labelled, new = tmp_path / "labelled", tmp_path / "new"
    for folder in (labelled, new):
        (folder / "1").mkdir(parents=True)
        doc = {k: v for k, v in meta.items() if folder == labelled or k != "labels"}
        (folder / csvfolder.META).write_text(json.dumps(doc, indent=1))
        for name in ("jog_9.csv", "sit_5.csv"):
            lines = (full / "1" / name).read_text().splitlines()
            assert lines[0].endswith(",label")
            if folder == new:
                lines = [s.rsplit(",", 1)[0] for s in lines]
            (folder / "1" / name).write_text("\n".join(lines) + "\n")
    model = _model_folder(tmp_path / "model", finetune.load_user_windows(labelled).store.X)
    capsys.readouterr()
    preds = []
    for folder in (labelled, new):
        out = tmp_path / f"{folder.name}.csv"
        assert (
            main(["predict", "--model", str(model), "--data", str(folder), "--out", str(out)]) == 0
        )
        assert "windows of 2 recordings" in capsys.readouterr().out
        preds.append(pd.read_csv(out))
    assert set(preds[0]["recording"]) == {"1/jog_9", "1/sit_5"} and len(preds[0]) > 20
    assert preds[0]["class"].nunique() > 1  # not one class everywhere: the classes are compared
    pd.testing.assert_frame_equal(preds[1], preds[0])
    # data add and fine-tuning need labels: the metadata's mapping first, then the column
    finetune_argv = ["finetune", "--data", str(new), "--profile", "ci"]
    for argv in (["data", "add", str(new)], finetune_argv):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"error: {new / csvfolder.META}: missing key(s) labels" in err, err
    (new / csvfolder.META).write_text(json.dumps(meta, indent=1))  # the mapping, still no column
    for argv in (["data", "add", str(new)], finetune_argv):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert f"error: {new / '1' / 'jog_9.csv'}, line 1: missing column(s) label" in err, err
    with pytest.raises(DataFormatError, match="line 1: missing column"):
        finetune.load_user_windows(new)


def test_train_finetune_head_size_follows_n_classes(fake_models) -> None:  # noqa: F811
    """Own classes: the fresh head has their number; a pooled 10-class model is not reused."""
    from test_train import toy_data

    from harnb.training import train
    from harnb.training.profiles import get_profile

    prof = get_profile("ci").with_(finetune_budget=train.Budget(max_epochs=1))
    X, y = toy_data(96)
    Xv, yv = toy_data(32, seed=1)
    pre = fake_models.build("tiny", seed=0)
    pool = train.ModelPool()
    m3, _ = train.finetune("P_U", pre, X, y % 3, Xv, yv % 3, prof, pool=pool, n_classes=3)
    m10, _ = train.finetune("P_U", pre, X, y, Xv, yv, prof, pool=pool)
    assert m3.output_shape[-1] == 3 and m10.output_shape[-1] == 10 and m10 is not m3
