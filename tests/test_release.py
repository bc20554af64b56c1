"""The release report travels with synthetic.csv and holds no real statistic; the review report
says what it is; a rare real label is printed in neither; the export ships the review on request."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import math
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import PII_COLUMNS, make_pii_table, run_cli

from tabsynth.errors import TabsynthError
from tabsynth.evaluation.common import MIN_LABEL_ROWS, MISSING, RARE_LABEL, label_shares
from tabsynth.evaluation.run import nothing_learned
from tabsynth.evaluation.verdict import FiredRule
from tabsynth.export import SignOff, build_zip
from tabsynth.external import evaluate_files
from tabsynth.release import WITHHELD_REASON, release_report, render_release_html
from tabsynth.report import REVIEW_NOTICE

RARE = "Tier-Rare"  # held by 6 rows of the table: fewer than MIN_LABEL_ROWS in any split
COMMON = "Tier-Alpha"
FORBIDDEN_KEYS = {"sha256", "filename", "train_rows", "holdout_rows", "rows", "notes", "input",
                  "schema", "distributions", "labels", "edges", "pairs", "correlation",
                  "dcr_histogram", "reason", "training", "threat_model", "models"}
RELEASE_FILES = {"synthetic.csv", "release.json", "release.html", "signoff.json"}


def _table() -> pd.DataFrame:
    frame = make_pii_table(rows=300, seed=5)
    tier = np.array([COMMON] * 200 + ["Tier-Beta"] * 94 + [RARE] * 6)
    frame["tier"] = np.random.default_rng(5).permutation(tier)
    return frame


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return _table()


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory, table: pd.DataFrame) -> Iterator[Any]:
    folder = tmp_path_factory.mktemp("release")
    table.to_csv(folder / "people.csv", index=False)
    done = run_cli("synthesize", str(folder / "people.csv"), "--method", "gaussian-copula",
                   "--seed", "2", "--out", str(folder / "out"))
    assert done.returncode == 0, done.stderr
    assert json.loads(_read(folder / "out", "report.json"))["privacy"]["dp"] is None  # added
    yield folder / "out", done.stderr


def _read(folder: Path, name: str) -> str:
    return (folder / name).read_text(encoding="utf-8")


def _leaves(value: Any, keys: set[str] | None = None) -> Iterator[Any]:
    """Every scalar inside nested dicts / lists; collects the keys met into `keys`."""
    if isinstance(value, dict):
        for key, item in value.items():
            if keys is not None:
                keys.add(key)
            yield from _leaves(item, keys)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, keys)
    else:
        yield value


def _real_labels(table: pd.DataFrame) -> set[str]:
    learned = [c for c in table.columns if c not in PII_COLUMNS and table[c].dtype == object]
    return {str(v) for c in learned for v in table[c].unique()}


def _pii_values(table: pd.DataFrame) -> set[str]:
    return {str(v) for c in PII_COLUMNS for v in table[c]}


def _bin_labels(review: dict) -> list[str]:
    return [label for d in review["fidelity"]["distributions"].values()
            for label in d["labels"] if "–" in label]


def test_synthesize_writes_release_and_review(synthesized) -> None:
    out, stderr = synthesized
    assert {p.name for p in out.iterdir()} == {"synthetic.csv", "synthetic.parquet",
                                                 "release.json", "release.html",
                                                 "report.json", "report.html", "report.pdf"}
    for name in ("synthetic.csv", "synthetic.parquet", "release.json", "release.html",
                 "report.json", "report.html", "report.pdf"):
        assert name in stderr
    review = json.loads(_read(out, "report.json"))
    assert review["notice"] == REVIEW_NOTICE
    assert len(review["input"]["sha256"]) == 64 and review["run"]["train_rows"] > 0
    page = _read(out, "report.html")
    assert REVIEW_NOTICE in page and page.index(REVIEW_NOTICE) < page.index("<h1>")
    assert REVIEW_NOTICE not in _read(out, "release.html")
    release = json.loads(_read(out, "release.json"))
    assert release["run"]["method"] == "gaussian-copula" and release["run"]["seed"] == 2
    assert release["fidelity"]["score"] == round(review["fidelity"]["score"], 2), \
        "scores travel rounded to two decimals, never exact"
    assert release["privacy"]["verdict"] == review["privacy"]["verdict"]
    assert set(release["pii"]["columns"]) == set(PII_COLUMNS)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_release_holds_no_real_statistic(synthesized, table: pd.DataFrame) -> None:
    out, _ = synthesized
    release = json.loads(_read(out, "release.json"))
    keys: set[str] = set()
    leaves = list(_leaves(release, keys))
    assert not keys & FORBIDDEN_KEYS
    review = json.loads(_read(out, "report.json"))
    texts = [leaf for leaf in leaves if isinstance(leaf, str)]
    forbidden = (_real_labels(table) | _pii_values(table) | set(_bin_labels(review))
                 | {review["input"]["sha256"], review["input"]["filename"]})
    assert not set(texts) & forbidden
    for page in (_read(out, "release.json"), _read(out, "release.html")):
        for value in [*_pii_values(table), *_bin_labels(review), "Tier-", "retail", "corporate",
                      review["input"]["sha256"], review["input"]["filename"]]:
            assert value not in page, value
    edges = {float(x) for label in _bin_labels(review) for x in label.split("–")
             if _is_number(x)}  # date edges are checked as text above
    assert edges, "the review has quantile bins to compare against"
    floats = [leaf for leaf in leaves if isinstance(leaf, float)]
    assert not {f"{x:.4g}" for x in floats} & {f"{e:.4g}" for e in edges}


def test_rare_label_is_printed_in_neither_report(synthesized, table: pd.DataFrame) -> None:
    out, _ = synthesized
    review = json.loads(_read(out, "report.json"))
    tier = review["fidelity"]["distributions"]["tier"]
    assert COMMON in tier["labels"] and RARE_LABEL in tier["labels"]
    assert tier["real"][tier["labels"].index(RARE_LABEL)] > 0  # the rare rows were in train
    assert COMMON in _read(out, "report.html")
    for name in ("report.json", "report.html", "release.json", "release.html"):
        assert RARE not in _read(out, name), name
    counts = table["visits"].value_counts()
    rare_visits = {f"{v:g}" for v, n in counts.items() if n < MIN_LABEL_ROWS}
    assert rare_visits, "the table has rare discrete values to check"
    assert not rare_visits & set(review["fidelity"]["distributions"]["visits"]["labels"])


def _review_with_leaks(review: dict) -> dict:
    leak = "LEAK-SENTINEL"
    report = copy.deepcopy(review)
    report["new_section"] = {"value": leak}
    report["run"]["new_setting"] = leak
    report["run"]["seed"] = leak  # a text where a number belongs
    report["fidelity"]["score"] = leak
    report["fidelity"]["new_score"] = leak
    report["utility"]["tstr"]["new_metric"] = leak
    report["privacy"]["new_check"] = leak
    report["privacy"]["membership_inference"]["members_list"] = [leak]
    report["privacy"]["linkability"]["details"] = {"rows": [leak]}
    report["pii"]["details"][0]["reason"] = leak
    checks = {c["label"]: c for c in report["privacy"]["checks"]}
    checks["membership inference AUC"].update(band="high", template="mia_auc", figures={
        "auc": {"value": 0.7012, "kind": "score"}, "band": {"value": "high", "kind": "text"},
        "threshold": {"value": 0.65, "kind": "score"}})
    checks["DCR share"].update(band="high", template="attack", figures={
        "attack": {"value": leak, "kind": "text"}, "risk": {"value": 0.2, "kind": "score"},
        "low": {"value": 0.1, "kind": "score"}, "high": {"value": 0.3, "kind": "score"},
        "n": {"value": 400, "kind": "count"}, "band": {"value": "high", "kind": "text"},
        "threshold": {"value": 0.15, "kind": "score"}})
    report["privacy"]["verdict_reasons"] = [
        FiredRule.of_check(checks["membership inference AUC"]).sentence(),
        f"the category {leak!r} of tier is held by one row",
        FiredRule.of_check(checks["DCR share"]).sentence(),
    ]
    report["privacy"]["dp"] = {
        "epsilon": 1.0, "delta": 1e-6, "accountant": "rdp", "unit": "one row",
        "group_privacy": "a group of k rows: (k ε, k e^((k-1)ε) δ)",
        "not_covered": ["the schema", "<script>alert(1)</script>"],
        "randomness": {"source": "os.urandom"}}
    return report


def test_release_is_an_allow_list(synthesized) -> None:
    out, _ = synthesized
    report = _review_with_leaks(json.loads(_read(out, "report.json")))
    release = release_report(report)
    text = json.dumps(release)
    assert "LEAK-SENTINEL" not in text
    assert release["run"]["seed"] is None and release["fidelity"]["score"] is None
    assert report["privacy"]["verdict_reasons"][0] == (
        "membership inference (density ratio) tells training rows from holdout rows with AUC "
        "0.70 (0.5 is chance); this reaches the high threshold of 0.65")
    assert release["privacy"]["verdict_reasons"] == [
        "membership inference (density ratio) tells training rows from holdout rows with AUC "
        "0.70 (0.5 is chance); this reaches the high threshold of 0.65",
        WITHHELD_REASON, WITHHELD_REASON]
    assert release["privacy"]["dp"] == report["privacy"]["dp"]
    page = render_release_html(release)
    assert "LEAK-SENTINEL" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page
    assert "os.urandom" in page and "not covered" in page
    assert "adding or removing one row" in page and f"e^ε ≈ {math.exp(1.0):.3g}" in page


def test_release_html_is_self_contained_and_escaped(synthesized) -> None:
    out, _ = synthesized
    page = _read(out, "release.html")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    for marker in ("<script", "http://", "https://", "src=", "<link", "url(", "@import",
                   "<iframe", "<object"):
        assert marker not in page, marker
    report = json.loads(_read(out, "report.json"))
    report["pii"]["details"].append({"column": "<img src=x onerror=alert(1)>", "kind": "email",
                                     "faker_provider": "email"})
    report["utility"]["target"] = "<b>target</b>"
    hostile = render_release_html(release_report(report))
    assert "&lt;img src=x onerror=alert(1)&gt;" in hostile and "<img" not in hostile
    assert "&lt;b&gt;target&lt;/b&gt;" in hostile and "<b>target</b>" not in hostile


def test_release_of_unevaluated_and_nothing_learned_runs_says_so() -> None:
    base = {"run": {"method": "faker", "seed": 1, "train_rows": 77, "synthetic_rows": 90},
            "input": {"sha256": "f" * 64}, "pii": {"columns": ["who"]}, "privacy": {"dp": None}}
    skipped = release_report(base)
    assert skipped["privacy"] == {"dp": None, "evaluated": False}
    assert skipped["fidelity"] is None and skipped["utility"] is None
    assert "Not evaluated" in render_release_html(skipped)
    dp = {"epsilon": 2.0, "delta": 1e-6, "unit": "one row", "accountant": "rdp"}
    learned_nothing = nothing_learned()
    learned_nothing["privacy"]["dp"] = dp  # the pipeline adds its claim
    empty = release_report({**base, **learned_nothing})
    assert empty["privacy"]["verdict"] == "low" and empty["privacy"]["dp"] == dp
    assert empty["fidelity"]["not_applicable"] == empty["privacy"]["not_applicable"]
    page = render_release_html(empty)
    assert "Not applicable" in page and f"e^ε ≈ {math.exp(2.0):.3g}" in page
    for release in (skipped, empty):
        assert "77" not in json.dumps(release) and "f" * 64 not in json.dumps(release)


def test_build_zip_ships_the_review_only_when_asked(synthesized) -> None:
    out, _ = synthesized
    with pytest.raises(TabsynthError, match="reviewed"):
        build_zip(out, SignOff("Ann", "steward", False))
    why = "made-up people for the test suite, nobody real"  # the verdict may not be low
    archive = zipfile.ZipFile(io.BytesIO(build_zip(out, SignOff("Ann", "steward", True,
                                                                justification=why))))
    assert set(archive.namelist()) == RELEASE_FILES
    signoff = json.loads(archive.read("signoff.json"))
    assert signoff["name"] == "Ann" and signoff["included_review_report"] is False
    digest = hashlib.sha256((out / "synthetic.csv").read_bytes()).hexdigest()
    assert signoff["synthetic_sha256"] == digest
    release = json.loads(archive.read("release.json"))
    assert release["signoff"] == signoff
    assert "Ann" in archive.read("release.html").decode()
    assert archive.read("synthetic.csv") == (out / "synthetic.csv").read_bytes()

    full = zipfile.ZipFile(io.BytesIO(build_zip(
        out, SignOff("Ann", "steward", True, include_review_report=True,
                     justification=why))))
    assert set(full.namelist()) == RELEASE_FILES | {"report.json", "report.html", "report.pdf"}
    assert full.read("report.pdf") == (out / "report.pdf").read_bytes()
    assert json.loads(full.read("signoff.json"))["included_review_report"] is True
    review = json.loads(full.read("report.json"))
    assert review["notice"] == REVIEW_NOTICE and review["signoff"]["included_review_report"]
    assert REVIEW_NOTICE in full.read("report.html").decode()
    assert json.loads(full.read("release.json"))["signoff"]["included_review_report"] is True


def test_evaluate_writes_only_the_review_with_its_notice(synthesized, table: pd.DataFrame,
                                                         tmp_path: Path) -> None:
    out, _ = synthesized
    table.iloc[:240].to_csv(tmp_path / "train.csv", index=False)
    table.iloc[240:].to_csv(tmp_path / "holdout.csv", index=False)
    report = evaluate_files(tmp_path / "train.csv", tmp_path / "holdout.csv",
                            out / "synthetic.csv", tmp_path / "review")
    assert report["notice"] == REVIEW_NOTICE
    assert {p.name for p in (tmp_path / "review").iterdir()} == {"report.json", "report.html",
                                                                 "report.pdf"}
    assert (tmp_path / "review" / "report.pdf").read_bytes().startswith(b"%PDF-")
    assert json.loads(_read(tmp_path / "review", "report.json"))["notice"] == REVIEW_NOTICE
    assert REVIEW_NOTICE in _read(tmp_path / "review", "report.html")


def test_label_shares_merge_rare_labels_into_one_bucket() -> None:
    rng = np.random.default_rng(0)
    train = pd.Series(rng.choice(["a", "b", "c", "r1", "r2", MISSING], 400,
                                 p=[0.5, 0.3, 0.17, 0.005, 0.005, 0.02]))
    counts = train.value_counts()
    rare = {k for k, n in counts.items() if n < MIN_LABEL_ROWS and k != MISSING}
    assert rare, "the generated series has rare labels"
    other = pd.Series(rng.choice(["a", "b", "r1", "unseen"], 100))
    keys, shares = label_shares(train, {"synthetic": other})
    assert keys[-1] == RARE_LABEL and not rare & set(keys)
    assert (MISSING in keys) == (MISSING in counts.index)
    for name, series in (("real", train), ("synthetic", other)):
        assert sum(shares[name]) == pytest.approx(1.0)
        expected = series.isin([*rare, "unseen"]).mean()
        assert shares[name][-1] == pytest.approx(expected)
    plain_keys, _ = label_shares(pd.Series(["a"] * 20 + ["b"] * 10), {})
    assert plain_keys == ["a", "b"]
