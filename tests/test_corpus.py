"""The hostile-input corpus (tests/corpus/make_corpus.py) through the CLI and the page.

Every case runs through `tabsynth synthesize` with each method it declares, each in its own
process, bounded in time and memory (tests/corpus/matrix.py); the case x method table is written to
test-artifacts/corpus/matrix.md. The same files are then uploaded through the Streamlit page,
and every report the CLI produced is rendered by the page's review step.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from streamlit.testing.v1 import AppTest

sys.path.insert(0, str(ROOT / "tests" / "corpus"))
from make_corpus import CASES, METHODS, READ_REJECTS, build
from matrix import Outcome, markdown, messages, run_matrix

from tabsynth.errors import TabsynthError
from tabsynth.io import excel_sheets
from tabsynth.pipeline import load_table

ARTIFACTS = ROOT / "test-artifacts" / "corpus"
# the matrix (~130 CLI runs, two at a time) is one session fixture: the first test pays for it
pytestmark = pytest.mark.timeout(2100)
NAMES = [case.name for case in CASES]


@pytest.fixture(scope="session")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[tuple[str, str],
                                                                           Outcome]]:
    work = tmp_path_factory.mktemp("corpus")
    outcomes = run_matrix(work)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "matrix.md").write_text(markdown(outcomes) + "\n\n" + messages(outcomes) + "\n")
    return work, {(o.case, o.method): o for o in outcomes}


def test_corpus_is_large_and_varied() -> None:
    assert len(CASES) >= 30
    assert len(set(NAMES)) == len(NAMES)
    expected = {case.expected(m)[0] for case in CASES for m in METHODS}
    assert expected == {"ok", "reject"}


def test_cases_run_with_one_method_are_rejected_while_reading(tmp_path: Path) -> None:
    """READ_REJECTS run one method only: reading the file must reject them, so that no
    method could change their outcome."""
    for case, path in build(tmp_path, sorted(READ_REJECTS)):
        assert case.expect == "reject" and "--target" not in case.args, case.name
        sheet = case.args[case.args.index("--sheet") + 1] if "--sheet" in case.args else None
        with pytest.raises(TabsynthError) as caught:
            load_table(path, sheet=sheet)
        message = case.whole_read_message or case.message
        assert message.lower() in str(caught.value).lower(), (case.name, caught.value)


@pytest.mark.parametrize("case", CASES, ids=NAMES)
def test_cli_survives_and_explains(matrix, case) -> None:
    _, outcomes = matrix
    problems = [f"{method}: {problem}" for method in case.methods
                for problem in outcomes[(case.name, method)].problems]
    assert not problems, problems


def _upload_page(path: Path) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.file_uploader[0].set_value((path.name, path.read_bytes(), "application/octet-stream"))
    at.run()
    return at


@pytest.mark.parametrize("case", CASES, ids=NAMES)
def test_page_upload_shows_the_librarys_message(matrix, case) -> None:
    """What the page shows after upload: the library's own error, or the schema step."""
    work, _ = matrix
    path = work / "corpus" / case.filename
    data = path.read_bytes()
    sheets = excel_sheets(data)
    try:
        load_table(data, filename=path.name, sheet=sheets[0] if sheets else None)
        error = None
    except TabsynthError as exc:
        error = str(exc)
    at = _upload_page(path)
    assert not at.exception, at.exception
    if error is None:
        assert not at.error, [e.value for e in at.error]
        assert any(h.value == "2 · Schema" for h in at.header)
    else:
        assert any(error in e.value for e in at.error), [e.value for e in at.error]
        assert not any(h.value == "2 · Schema" for h in at.header)


def _render_review(root: str, path: str) -> None:
    import json
    import sys

    sys.path.insert(0, root)
    from app import review_step

    with open(path, encoding="utf-8") as handle:
        review_step(json.load(handle))


@pytest.mark.parametrize("case", [c for c in CASES if c.expect == "ok"],
                         ids=[c.name for c in CASES if c.expect == "ok"])
def test_page_renders_every_report_of_the_case(matrix, case) -> None:
    work, outcomes = matrix
    reports = [work / "out" / f"{case.name}-{m}" / "report.json" for m in case.methods
               if outcomes[(case.name, m)].exit_code == 0]
    assert reports
    for path in reports:  # the page shows one report at a time
        json.loads(path.read_text(encoding="utf-8"))
        at = AppTest.from_function(_render_review, args=(str(ROOT), str(path)),
                                   default_timeout=120)
        at.run()
        assert not at.exception, (path, at.exception)
        assert any(h.value == "5 · Review" for h in at.header)
