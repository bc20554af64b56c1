"""The export bundle: synthetic data + release report, signed off by the reviewer.

The internal review (report.json / report.html) holds statistics of the real data: it joins the
bundle only when the reviewer asks for it, and the sign-off records that choice.

The sign-off record (signoff.json) names the reviewer, the verdict they signed off and, when
that verdict is not low, their written justification (required then). The same record is
written into release.json's `signoff` and shown in release.html (and in the review, when it
ships), so the justification travels with the data. The record hashes synthetic.csv
(`synthetic_sha256`); nothing hashes the release report itself.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tabsynth.errors import ConfigError
from tabsynth.release import render_release_html, with_signoff
from tabsynth.report import render_html

RELEASE_FILES = ("synthetic.csv", "release.json", "release.html", "signoff.json")
REVIEW_FILES = ("report.json", "report.html", "report.pdf")
MIN_JUSTIFICATION_WORDS = 5  # a sentence, not a tick


def needs_justification(verdict: str | None) -> bool:
    """Whether signing off this verdict asks for a written justification: every verdict but
    low (inconclusive, medium, high, and a run whose privacy was not evaluated)."""
    return verdict != "low"


def release_verdict(release: dict[str, Any]) -> str | None:
    """The privacy verdict a release report states (None: not evaluated)."""
    return (release.get("privacy") or {}).get("verdict")


@dataclass(frozen=True)
class SignOff:
    name: str
    role: str
    reviewed_privacy_report: bool
    include_review_report: bool = False  # also ship the internal review (real statistics)
    justification: str = ""  # why the table may be released although the verdict is not low

    def validate(self, verdict: str | None) -> None:
        """Refuse a sign-off that is not complete for this verdict (`verdict`: the release's;
        None: not evaluated)."""
        if not self.reviewed_privacy_report:
            raise ConfigError("confirm that you reviewed the privacy report before exporting")
        if not self.name.strip() or not self.role.strip():
            raise ConfigError("enter your name and role to sign off the export")
        if (needs_justification(verdict)
                and len(self.justification.split()) < MIN_JUSTIFICATION_WORDS):
            raise ConfigError(
                f"the privacy verdict is {verdict or 'not evaluated'}: write why this table "
                f"may be released anyway (at least {MIN_JUSTIFICATION_WORDS} words)")

    def record(self, verdict: str | None, synthetic: bytes | None = None) -> dict[str, Any]:
        """The sign-off as written into the bundle, with the verdict signed off, the
        justification (when written) and the time (UTC); validated first."""
        self.validate(verdict)
        record: dict[str, Any] = {
            "name": self.name.strip(), "role": self.role.strip(),
            "reviewed_privacy_report": True,
            "included_review_report": bool(self.include_review_report),
            "verdict": verdict or "not evaluated"}
        if self.justification.strip():
            record["justification"] = self.justification.strip()
        record["signed_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        if synthetic is not None:
            record["synthetic_sha256"] = hashlib.sha256(synthetic).hexdigest()
        return record


def export_files(folder: str | Path, signoff: SignOff) -> dict[str, bytes]:
    """The bundle's files by name: synthetic.csv, release.json and release.html (signed),
    signoff.json, and report.json / report.html (signed) and report.pdf only when the sign-off
    asks for them. The verdict signed off is the release's own."""
    folder = Path(folder)
    synthetic = (folder / "synthetic.csv").read_bytes()
    release = _read_json(folder / "release.json")
    record = signoff.record(release_verdict(release), synthetic)
    release = with_signoff(release, record)
    files = {"synthetic.csv": synthetic,
             "release.json": _dumps(release),
             "release.html": render_release_html(release).encode("utf-8"),
             "signoff.json": _dumps(record)}
    if signoff.include_review_report:
        review = dict(_read_json(folder / "report.json"), signoff=record)
        files["report.json"] = _dumps(review)
        files["report.html"] = render_html(review).encode("utf-8")
        pdf = folder / "report.pdf"
        if pdf.is_file():  # as the run wrote it; the sign-off travels in signoff.json
            files["report.pdf"] = pdf.read_bytes()
    return files


def zip_name(report: dict[str, Any]) -> str:
    """The bundle's file name, after the input and the run: <input>-<method>-seed<seed>-<when
    the run ended, UTC>.zip, e.g. patients-autoregressive-seed0-20250301-141205.zip (only
    letters, digits, '-', '_' and '.')."""
    source = Path(str((report.get("input") or {}).get("filename") or "table")).name
    stem = source.split(".")[0] if not source.startswith(".") else source.lstrip(".")
    run = report.get("run") or {}
    when = re.sub(r"\D", "", str(report.get("created_at") or ""))[:14]
    parts = [stem or "table", str(run.get("method") or "run"), f"seed{run.get('seed', 0)}"]
    if len(when) == 14:
        parts.append(f"{when[:8]}-{when[8:]}")
    ascii_parts = (unicodedata.normalize("NFKD", part).encode("ascii", "ignore").decode()
                   for part in parts)
    name = "-".join(_SAFE.sub("_", part).strip("._") or "_" for part in ascii_parts)
    return name[:120] + ".zip"


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def zip_files(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def build_zip(folder: str | Path, signoff: SignOff) -> bytes:
    """ZIP of export_files: the release bundle, plus the review only when asked for."""
    return zip_files(export_files(folder, signoff))


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def _dumps(value: dict[str, Any]) -> bytes:
    return json.dumps(value, indent=2).encode("utf-8")


DRAWN_NOTE = ("drawn later from the fitted model of the run this sign-off covers, with the seed "
              "and size given in generation.json; the privacy review measured the run's own "
              "synthetic rows, not these")


def drawn_section(manifest: dict[str, Any]) -> dict[str, Any]:
    """What the release says of rows drawn later: how many, the seed, and what was asked of
    them in words (conditions, rules, shares, partial rows), from generation.json."""
    asked = manifest.get("constraints") or {}
    lines = []
    if asked.get("conditions"):
        lines.append("only rows where " + ", ".join(map(str, asked["conditions"])))
    if asked.get("rules"):
        lines.append("every row meets " + "; ".join(map(str, asked["rules"])))
    shares = asked.get("shares")
    if shares:
        lines.append(f"the values of {shares.get('column')} in set shares")
    partial = asked.get("partial_rows")
    if partial:
        lines.append(f"{partial.get('rows'):,} partial rows completed (filled columns: "
                     f"{', '.join(map(str, partial.get('columns') or []))}); their filled "
                     "cells are the user's own values, copied as given, which no privacy "
                     "guarantee of the model covers")
    return {"rows": manifest.get("rows"), "seed": manifest.get("seed"), "asked": lines}


def drawn_export_files(folder: str | Path, drawn: str | Path,
                       signoff: SignOff) -> dict[str, bytes]:
    """More rows drawn from a run's model, as they may leave after the run's sign-off: the
    rows, generation.json (how they were drawn), the run's release report and a sign-off record
    that hashes these rows and says what the review measured."""
    folder, drawn = Path(folder), Path(drawn)
    manifest = _read_json(drawn / "generation.json")
    name = Path(str(manifest["file"])).name
    rows = (drawn / name).read_bytes()
    release = _read_json(folder / "release.json")
    record = signoff.record(release_verdict(release), rows)
    record["drawn"] = {"file": name, "rows": manifest.get("rows"), "seed": manifest.get("seed"),
                       "note": DRAWN_NOTE}
    release = with_signoff(release, record)
    release["drawn"] = drawn_section(manifest)
    return {name: rows, "generation.json": _dumps(manifest), "release.json": _dumps(release),
            "release.html": render_release_html(release).encode("utf-8"),
            "signoff.json": _dumps(record)}
