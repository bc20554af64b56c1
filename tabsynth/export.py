"""The export bundle: synthetic data + report, with the reviewer's sign-off in the audit record."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tabsynth.errors import ConfigError
from tabsynth.report import render_html


@dataclass(frozen=True)
class SignOff:
    name: str
    role: str
    reviewed_privacy_report: bool

    def validate(self) -> None:
        if not self.reviewed_privacy_report:
            raise ConfigError("confirm that you reviewed the privacy report before exporting")
        if not self.name.strip() or not self.role.strip():
            raise ConfigError("enter your name and role to sign off the export")


def signed_report(report: dict[str, Any], signoff: SignOff) -> dict[str, Any]:
    """A copy of the report whose audit record carries the sign-off and its time (UTC)."""
    signoff.validate()
    signed = dict(report)
    signed["signoff"] = {"name": signoff.name.strip(), "role": signoff.role.strip(),
                         "reviewed_privacy_report": True,
                         "signed_at": datetime.now(UTC).isoformat(timespec="seconds")}
    return signed


def build_zip(folder: str | Path, signoff: SignOff) -> bytes:
    """ZIP with synthetic.csv, report.json and report.html (both signed)."""
    folder = Path(folder)
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    signed = signed_report(report, signoff)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(folder / "synthetic.csv", "synthetic.csv")
        archive.writestr("report.json", json.dumps(signed, indent=2))
        archive.writestr("report.html", render_html(signed))
    return buffer.getvalue()
