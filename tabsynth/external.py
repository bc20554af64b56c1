"""`tabsynth evaluate`: the internal review of tables made elsewhere (train, holdout and
synthetic files), typed by train's schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tabsynth.errors import TableError
from tabsynth.evaluation.run import evaluate
from tabsynth.outputs import review_files, write_all
from tabsynth.pipeline import load_table
from tabsynth.progress import ProgressCallback
from tabsynth.report_header import report_header
from tabsynth.runs import LoadedTable
from tabsynth.schema import coerce_frame, infer_schema


def evaluate_files(train_path: str | Path, holdout_path: str | Path,
                   synthetic_path: str | Path, out_dir: str | Path, target: str | None = None,
                   seed: int = 0, quasi_identifiers: list[str] | None = None,
                   secrets: list[str] | None = None, pdf: bool = True) -> dict[str, Any]:
    """`tabsynth evaluate`: the internal review of an existing trio of tables, typed by train's
    schema, as report.json / .html / .pdf (no release report: no synthetic data is produced
    here)."""
    tables = {name: load_table(path) for name, path in
              (("train", train_path), ("holdout", holdout_path), ("synthetic", synthetic_path))}
    report = evaluate_tables(tables, target=target, seed=seed,
                             quasi_identifiers=quasi_identifiers, secrets=secrets)
    write_all(Path(out_dir), review_files(report, pdf))
    return report


def evaluate_tables(tables: dict[str, LoadedTable], target: str | None = None, seed: int = 0,
                    quasi_identifiers: list[str] | None = None,
                    secrets: list[str] | None = None,
                    progress: ProgressCallback | None = None) -> dict[str, Any]:
    """The internal review (report.json's content) of loaded train, holdout and synthetic
    tables."""
    schema = infer_schema(tables["train"].frame, target=target)
    typed = {}
    for name, table in tables.items():
        missing = [c for c in schema.names if c not in table.frame.columns]
        if missing:
            raise TableError(f"the {name} table lacks columns of train: {missing}")
        try:
            typed[name] = coerce_frame(table.frame[schema.names], schema)
        except TableError as exc:
            raise TableError(f"{name} table: {exc}") from None
    regenerated = [c.name for c in schema.columns if c.regenerated]
    report = report_header(
        {"method": "external", "seed": seed, "train_rows": len(typed["train"]),
         "holdout_rows": len(typed["holdout"]), "synthetic_rows": len(typed["synthetic"]),
         "target": target},
        {name: {"filename": t.filename, "sha256": t.sha256, "rows": len(t.frame)}
         for name, t in tables.items()})
    report["pii"] = {"columns": schema.pii_columns, "excluded_from_evaluation": regenerated}
    report.update(evaluate(typed["train"], typed["holdout"], typed["synthetic"], target=target,
                           exclude=regenerated, seed=seed, quasi_identifiers=quasi_identifiers,
                           secrets=secrets, kinds={c.name: c.kind for c in schema.columns},
                           progress=progress))
    report["privacy"]["dp"] = None  # tables made elsewhere: no claim
    return report


