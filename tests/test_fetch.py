"""Acquisition: mirror or URL, verification, safe and atomic extraction, the manifest, the CLI.

Uses tiny archives built from published-format files, so it runs in about a second.
"""

from __future__ import annotations

import dataclasses
import json
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from published_formats import MS_EXCERPT, pamap2_row, write_motionsense, write_uci_hapt, zip_bytes

from harnb.data import datasets as D
from harnb.data import fetch as F
from harnb.data.datasets import REGISTRY, DatasetError, DatasetMissing


def _zip_dir(src: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(src.rglob("*")):
            zf.write(p, p.relative_to(src).as_posix())
    return dest


@pytest.fixture
def mirror(tmp_path: Path) -> Path:
    """A mirror folder with a tiny UCI HAPT archive and a tiny MotionSense one (+ its CSV)."""
    m = tmp_path / "mirror"
    m.mkdir()
    s = tmp_path / "stage-uci"
    write_uci_hapt(s, 1, 1, np.tile([1.0, 0, 0], (200, 1)), np.zeros((200, 3)), [(5, 1, 200)])
    _zip_dir(s, m / "uci-hapt-v2.1.zip")
    s = tmp_path / "stage-ms"
    write_motionsense(s, "std_6", 1, MS_EXCERPT)
    _zip_dir(s, m / "A_DeviceMotion_data.zip")
    (m / "motionsense_data_subjects_info.csv").write_text("code,weight\n1,102\n")
    return m


def _leftovers(raw: Path) -> list[str]:
    return sorted(p.name for p in raw.iterdir() if p.name.startswith("."))


def test_fetch_from_mirror_writes_manifest_and_reuses(mirror: Path, data: Path) -> None:
    got = F.fetch(["uci", "MotionSense"], mirror=mirror, progress=False)
    raw = data / "raw"
    assert got == {"UCI": raw / "UCI", "MotionSense": raw / "MotionSense"}
    doc = json.loads((raw / "UCI" / ".harnb-manifest.json").read_text())
    assert doc["complete"] is True and doc["source"]["archive"] == "uci-hapt-v2.1.zip"
    assert "HAPT Data Set/RawData/labels.txt" in doc["files"]
    assert len(doc["source"]["sha256"]) == 64 and len(doc["content_sha256"]) == 64
    assert (raw / "MotionSense" / "motionsense_data_subjects_info.csv").is_file()
    assert D.locate("UCI") == raw / "UCI"
    (rec,) = D.load("UCI")
    assert rec.subject == "1" and len(rec.acc.t) == 200
    assert _leftovers(raw) == []
    # reused without re-extraction; force re-extracts
    m_time = (raw / "UCI" / ".harnb-manifest.json").stat().st_mtime_ns
    F.fetch(["UCI"], mirror=mirror, progress=False)
    assert (raw / "UCI" / ".harnb-manifest.json").stat().st_mtime_ns == m_time
    fp = D.fingerprint("UCI")
    (raw / "UCI" / "stray.txt").write_text("x")
    F.fetch(["UCI"], mirror=mirror, progress=False, force=True)
    assert not (raw / "UCI" / "stray.txt").exists() and D.fingerprint("UCI") == fp
    assert set(D.available()) == {"UCI", "MotionSense"}


def test_env_mirror_and_available(
    mirror: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNB_MIRROR", str(mirror))
    assert D.available() == ["MotionSense", "UCI"]  # fetchable, in config.DATASETS order
    with pytest.warns(UserWarning, match="skipped"):
        got = F.fetch(progress=False)  # all datasets: the ones not obtainable are skipped
    assert set(got) == {"UCI", "MotionSense"}


def test_half_extracted_dest_is_replaced(mirror: Path, data: Path) -> None:
    stale = data / "raw" / "UCI" / "HAPT Data Set"
    stale.mkdir(parents=True)
    (stale / "partial.txt").write_text("crashed here")
    with pytest.raises(DatasetMissing, match="manifest"):
        D.locate("UCI")
    F.fetch(["UCI"], mirror=mirror, progress=False)
    assert not (stale / "partial.txt").exists() and D.locate("UCI")


def test_crash_during_extraction_leaves_nothing(
    mirror: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = F._extract_zip

    def crash(*a: object, **k: object) -> None:
        real(*a, **k)  # type: ignore[arg-type]
        raise KeyboardInterrupt

    monkeypatch.setattr(F, "_extract_zip", crash)
    with pytest.raises(KeyboardInterrupt):
        F.fetch(["UCI"], mirror=mirror, progress=False)
    raw = data / "raw"
    assert not (raw / "UCI").exists() and _leftovers(raw) == []


def test_truncated_archive_named(mirror: Path, data: Path) -> None:
    z = mirror / "uci-hapt-v2.1.zip"
    z.write_bytes(z.read_bytes()[: z.stat().st_size // 2])
    with pytest.raises(DatasetError, match=r"uci-hapt-v2\.1\.zip.*(truncated|corrupt)"):
        F.fetch(["UCI"], mirror=mirror, progress=False)
    assert not (data / "raw" / "UCI").exists() and _leftovers(data / "raw") == []


def test_corrupt_member_crc_named(tmp_path: Path, data: Path) -> None:
    m = tmp_path / "m"
    m.mkdir()
    payload = b"0.1 0.2 0.3\n" * 1000
    with zipfile.ZipFile(m / "uci-hapt-v2.1.zip", "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("HAPT Data Set/RawData/acc_exp01_user01.txt", payload)
    raw = bytearray((m / "uci-hapt-v2.1.zip").read_bytes())
    i = raw.find(payload)
    raw[i + 100] ^= 0x01  # flip one bit inside the stored member: its CRC no longer matches
    (m / "uci-hapt-v2.1.zip").write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match=r"uci-hapt-v2\.1\.zip.*acc_exp01_user01\.txt.*corrupt"):
        F.fetch(["UCI"], mirror=m, progress=False)
    assert not (data / "raw" / "UCI").exists()


@pytest.mark.parametrize(
    ("member", "why"),
    [
        ("../evil.txt", "traversal"),
        ("HAPT/../../evil.txt", "traversal"),
        ("/tmp/evil.txt", "absolute"),
    ],
)
def test_unsafe_members_rejected(tmp_path: Path, data: Path, member: str, why: str) -> None:
    m = tmp_path / "m"
    m.mkdir()
    (m / "uci-hapt-v2.1.zip").write_bytes(
        zip_bytes({"HAPT Data Set/README.txt": "ok", member: "pwned"})
    )
    with pytest.raises(DatasetError, match=why):
        F.fetch(["UCI"], mirror=m, progress=False)
    assert not (tmp_path / "evil.txt").exists() and not (data / "evil.txt").exists()
    assert not (data / "raw" / "UCI").exists()


def test_symlink_member_rejected(tmp_path: Path, data: Path) -> None:
    m = tmp_path / "m"
    m.mkdir()
    with zipfile.ZipFile(m / "uci-hapt-v2.1.zip", "w") as zf:
        info = zipfile.ZipInfo("HAPT Data Set/link")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(DatasetError, match="symbolic link"):
        F.fetch(["UCI"], mirror=m, progress=False)


def test_known_checksum_mismatch(mirror: Path, data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    z = mirror / "uci-hapt-v2.1.zip"
    bad = {z.name: ((z.stat().st_size, "0" * 64),)}
    monkeypatch.setitem(REGISTRY, "UCI", dataclasses.replace(REGISTRY["UCI"], known_archives=bad))
    with pytest.raises(DatasetError, match="sha256"):
        F.fetch(["UCI"], mirror=mirror, progress=False)


def test_download_nested_archive_by_url(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PAMAP2 ships a zip in a zip; file:// stands in for the original https URL."""
    rows = "".join(pamap2_row(1.0 + 0.01 * k, 4) + "\n" for k in range(30))
    inner = zip_bytes(
        {"PAMAP2_Dataset/Protocol/subject101.dat": rows, "PAMAP2_Dataset/readme.pdf": "%PDF"}
    )
    outer = tmp_path / "served" / "pamap2+physical+activity+monitoring.zip"
    outer.parent.mkdir()
    outer.write_bytes(zip_bytes({"PAMAP2_Dataset.zip": inner, "readme.pdf": "%PDF"}))
    info = dataclasses.replace(
        REGISTRY["PAMAP2"], downloads=((outer.as_uri(), "pamap2+physical+activity+monitoring.zip"),)
    )
    monkeypatch.setitem(REGISTRY, "PAMAP2", info)
    got = F.fetch(["PAMAP2"], mirror=None, progress=False)
    root = got["PAMAP2"]
    assert (root / "PAMAP2_Dataset" / "Protocol" / "subject101.dat").is_file()
    assert not (root / "PAMAP2_Dataset.zip").exists()
    doc = json.loads((root / ".harnb-manifest.json").read_text())
    assert "PAMAP2_Dataset/Protocol/subject101.dat" in doc["files"]
    assert (data / "raw" / "_downloads" / outer.name).is_file()
    (rec,) = D.load("PAMAP2")
    assert rec.subject == "101" and len(rec.acc.t) == 30


def test_offline_download_fails_clearly(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = (tmp_path / "nowhere" / "x.zip").as_uri()
    info = dataclasses.replace(
        REGISTRY["HHAR"], downloads=((gone, "Activity recognition exp.zip"),)
    )
    monkeypatch.setitem(REGISTRY, "HHAR", info)
    with pytest.raises(DatasetMissing, match=r"(?s)download failed.*harnb data fetch HHAR"):
        F.fetch(["HHAR"], mirror=tmp_path, progress=False)
    assert not (data / "raw" / "_downloads" / "Activity recognition exp.zip").exists()


def test_mobiact_has_no_public_url(tmp_path: Path, data: Path) -> None:
    with pytest.raises(
        DatasetMissing, match="(?s)no public download URL.*by request to its authors"
    ):
        F.fetch(["MobiAct"], mirror=tmp_path, progress=False)


def test_fetch_cli(mirror: Path, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert F.fetch_cli(["UCI", "--mirror", str(mirror), "--quiet"]) == 0
    assert "UCI:" in capsys.readouterr().out
    assert F.fetch_cli(["MobiAct", "--mirror", str(mirror), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("harnb data fetch: error: MobiAct") and "by request" in err
    assert F.fetch_cli(["--mirror", str(mirror), "--quiet"]) == 0  # all: the rest is skipped
    assert "MotionSense:" in capsys.readouterr().out
    assert F.fetch_cli(["Nope", "--quiet"]) == 2
    assert "valid choices" in capsys.readouterr().err


def test_first_use_fetches_from_the_mirror(
    mirror: Path, data: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A fresh data folder with HARNB_MIRROR set: `harnb data windows` fetches, not fails."""
    from harnb.cli import main

    monkeypatch.setenv("HARNB_MIRROR", str(mirror))
    assert main(["data", "windows", "UCI"]) == 0
    assert "fetching it from" in capsys.readouterr().err
    assert (data / "raw" / "UCI" / ".harnb-manifest.json").is_file()
    with pytest.raises(DatasetMissing, match="no folder"):
        D.locate("MotionSense", fetch=False)  # only on use: nothing else was fetched
    assert D.locate("MotionSense") == data / "raw" / "MotionSense"


def test_changed_file_is_named(mirror: Path, data: Path) -> None:
    F.fetch(["UCI"], mirror=mirror, progress=False)
    f = data / "raw" / "UCI" / "HAPT Data Set" / "RawData" / "labels.txt"
    f.write_text(f.read_text() + "1 1 5 1 2\n")
    with pytest.raises(DatasetMissing, match="labels.txt changed since extraction") as e:
        D.locate("UCI")
    assert "half-finished" not in str(e.value) and "harnb data fetch --force UCI" in str(e.value)
