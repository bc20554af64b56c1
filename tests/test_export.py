"""The export bundle: synthetic data and the release report, signed off by the reviewer."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import job_spec as _spec
from conftest import make_pii_table, wait_until

from tabsynth.errors import TabsynthError
from tabsynth.export import SignOff, build_zip, zip_name
from tabsynth.jobs import JobRegistry

pytestmark = pytest.mark.usefixtures("spawn_safe_main")  # workers are spawned


def test_build_zip_carries_the_sign_off(tmp_path: Path) -> None:
    registry = JobRegistry(root=tmp_path)
    job = registry.start(_spec("gaussian-copula", "bob"))
    wait_until(lambda: registry.get(job.id, "bob").finished)
    assert job.status == "done", job.message
    with pytest.raises(TabsynthError, match="reviewed"):
        build_zip(job.folder, SignOff("Bob", "analyst", False))
    with pytest.raises(TabsynthError, match="name and role"):
        build_zip(job.folder, SignOff(" ", "analyst", True))
    # 400 rows leave the checks short of power: the verdict is not low, so Bob says why
    why = "a test table of made-up people, for the test suite"
    payload = build_zip(job.folder, SignOff("Bob", "analyst", True, justification=why))
    archive = zipfile.ZipFile(io.BytesIO(payload))
    assert set(archive.namelist()) == {"synthetic.csv", "release.json", "release.html",
                                       "signoff.json"}
    release = json.loads(archive.read("release.json"))
    assert release["signoff"]["name"] == "Bob" and release["signoff"]["signed_at"]
    assert release["signoff"]["included_review_report"] is False
    assert "Bob" in archive.read("release.html").decode()
    full = zipfile.ZipFile(io.BytesIO(build_zip(
        job.folder, SignOff("Bob", "analyst", True, include_review_report=True,
                            justification=why))))
    assert {"report.json", "report.html"} <= set(full.namelist())
    assert json.loads(full.read("report.json"))["signoff"]["included_review_report"] is True
    synthetic = pd.read_csv(io.BytesIO(archive.read("synthetic.csv")))
    real = make_pii_table(rows=400)
    assert not set(synthetic["who"]) & set(real["who"])


def test_the_zip_is_named_after_the_input_and_the_run() -> None:
    report = {"input": {"filename": "patients.csv", "sha256": "0" * 64},
              "run": {"method": "autoregressive", "seed": 3},
              "created_at": "2025-03-01T14:12:05+00:00"}
    assert zip_name(report) == "patients-autoregressive-seed3-20250301-141205.zip"
    odd = dict(report, input={"filename": "../Äpfel & Birnen 2024.tar.gz"})
    assert zip_name(odd) == "Apfel_Birnen_2024-autoregressive-seed3-20250301-141205.zip"
    assert zip_name({}) == "table-run-seed0.zip"
    later = dict(report, created_at="2025-03-01T14:12:06+00:00")
    assert zip_name(later) != zip_name(report)  # two runs on one file: two names


def _run_folder(folder: Path, verdict: str | None) -> Path:
    """A run's output folder, hand-made: synthetic.csv, release.json and report.json."""
    from tabsynth.release import release_report

    privacy = {"verdict": verdict, "verdict_reasons": [], "checks": [],
               "singling_out": {"risk": None}} if verdict else {}
    review = {"run": {"method": "faker", "seed": 0}, "privacy": {"dp": None, **privacy}}
    folder.mkdir()
    (folder / "synthetic.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (folder / "release.json").write_text(json.dumps(release_report(review)), encoding="utf-8")
    (folder / "report.json").write_text(json.dumps(review), encoding="utf-8")
    return folder


@pytest.mark.parametrize("verdict", ["inconclusive", "medium", "high", None])
def test_a_verdict_that_is_not_low_is_signed_off_only_with_a_written_justification(
        tmp_path: Path, verdict: str | None) -> None:
    from tabsynth.export import export_files

    folder = _run_folder(tmp_path / "run", verdict)
    for words in ("", "ok", "fine by me, ship"):  # nothing, a tick, fewer than five words
        with pytest.raises(TabsynthError, match="write why this table may be released"):
            export_files(folder, SignOff("Ann", "steward", True, justification=words))
    why = "Shared only with the trial's statisticians under contract; no linkage data."
    files = export_files(folder, SignOff("Ann", "steward", True, include_review_report=True,
                                         justification=f"  {why}\n"))
    record = json.loads(files["signoff.json"])
    assert record["verdict"] == (verdict or "not evaluated")
    assert record["justification"] == why
    assert json.loads(files["release.json"])["signoff"] == record
    assert json.loads(files["report.json"])["signoff"] == record
    for page in ("release.html", "report.html"):
        text = files[page].decode()
        assert "with this justification" in text and "statisticians under contract" in text


def test_a_low_verdict_needs_no_justification(tmp_path: Path) -> None:
    from tabsynth.export import export_files

    files = export_files(_run_folder(tmp_path / "run", "low"), SignOff("Ann", "steward", True))
    record = json.loads(files["signoff.json"])
    assert record["verdict"] == "low" and "justification" not in record
    assert "with this justification" not in files["release.html"].decode()
