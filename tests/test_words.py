"""Plain words: nothing a user reads names a source file, a test, a module, a benchmark table, a
command-line flag or "the design"; and the claim says what the code does."""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from test_report import _wide_report

from tabsynth import ui_support
from tabsynth.dp import claim
from tabsynth.estimate import estimate_run
from tabsynth.evaluation import guidance
from tabsynth.evaluation import privacy as privacy_module
from tabsynth.evaluation.verdict import TEMPLATES
from tabsynth.jobs import Job
from tabsynth.regenerate import CollisionGuard
from tabsynth.release import PII_HANDLING, RELEASE_ABOUT, release_report, render_release_html
from tabsynth.report import ATTACK_REASON, PLAIN_REASONS, REVIEW_NOTICE, render_html
from tabsynth.synthesizers.registry import METHODS
from tabsynth.ui_support import METHOD_GUIDE

ROOT = Path(__file__).resolve().parents[1]
# what a user should never have to read: source and test files, module names, benchmark
# tables, command-line flags (the page has none), and talk of the design
FORBIDDEN = re.compile(
    r"\bdesign|\.py\b|\.md\b|\.j2\b|\btests?/|\btest_|benchmark|_kernels|\bneighbors\b"
    r"|not installable|\bcensus\b|online_shoppers|acs_income|(?<![\w-])--[a-z]", re.IGNORECASE)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _page_text(html: str) -> str:
    parser = _Text()
    parser.feed(re.sub(r"<svg\b.*?</svg>", "", html, flags=re.DOTALL))
    return " ".join(parser.parts)


def _app_strings() -> list[str]:
    """Every string written in app.py (f-string parts included), docstrings left out."""
    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.FunctionDef | ast.ClassDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


def _texts() -> dict[str, str]:
    report = _wide_report()
    report["privacy"].update(engine=privacy_module.PrivacyResult.engine,
                             threat_model=privacy_module.PrivacyResult.threat_model,
                             rules=privacy_module.rules(privacy_module.PrivacySettings()))
    report["run"]["discloses"] = METHODS["autoregressive"].discloses
    texts = {
        "report.html": _page_text(render_html(report)),
        "release.html": _page_text(render_release_html(release_report(report))),
        "method guide": METHOD_GUIDE,
        "page help": " ".join([ui_support.TARGET_HELP, ui_support.PUBLIC_DOMAIN_HELP,
                               ui_support.run_summary(report)]),
        "verdict sentences": " ".join(TEMPLATES.values()),
        "verdict summaries": " ".join(
            guidance.summarise(dict(report["privacy"], verdict=verdict), 0.2).text
            for verdict in ("low", "inconclusive", "medium", "high", None)),
        "plain reasons": " ".join([*PLAIN_REASONS.values(), ATTACK_REASON, REVIEW_NOTICE]),
        "release notes": RELEASE_ABOUT + " " + PII_HANDLING,
        "claim": " ".join([*claim.residual_risks("prv"), claim.RANDOMNESS,
                           *claim.not_covered({"age": {}}, ["name"], True, ["id"]),
                           *claim.not_covered({}, [], False)]),
        "privacy rules": " ".join([*privacy_module.LABELS.values(),
                                   privacy_module.PrivacyResult.engine,
                                   privacy_module.PrivacyResult.threat_model]),
    }
    for name, info in METHODS.items():
        texts[f"method {name}"] = f"{info.note} {info.discloses}"
    texts["time estimate"] = ui_support.estimate_words(
        estimate_run("autoregressive", 5_000, 12, made_up=3))
    job = Job(id="j", owner="o", folder=ROOT, started_at=0.0, filename="people.csv",
              config={"method": "dp-gan", "epsilon": 1.0},
              estimate=estimate_run("dp-gan", 5_000, 12, private=True).to_dict(),
              progress={"stage": "train", "fraction": 0.5, "message": "epoch 10/20",
                        "metrics": {"epsilon": 0.5, "generator_loss": 0.7,
                                    "discriminator_loss": 1.2, "validation_nll": 30.0}},
              stage_started={"read": 1.0, "train": 10.0},
              stage_ended={"train": "stopped at epoch 29: no improvement for 3 epochs"})
    panel = ui_support.panel_words(job, now=60.0)
    texts["running panel"] = " ".join([panel.headline, panel.running, panel.bar,
                                       panel.metrics, panel.stages, panel.ended])
    texts.update({f"app.py string {i}": s for i, s in enumerate(_app_strings())})
    return texts


def test_nothing_a_user_reads_names_files_tests_modules_or_the_design() -> None:
    found = {name: FORBIDDEN.findall(text) for name, text in _texts().items()}
    found = {name: hits for name, hits in found.items() if hits}
    assert not found, found


def test_the_running_panel_names_no_code() -> None:
    """The model's figures in words ('validation loss'), never a key such as validation_nll."""
    texts = _texts()
    for name in ("time estimate", "running panel"):
        assert not re.findall(r"\b[a-z]+_[a-z_]+\b", texts[name]), name
    assert "validation loss 30" in texts["running panel"]


def test_the_scan_catches_what_it_is_for() -> None:
    for text in ("dp-gan is the DP GAN the design asks for", "see tests/test_attacks.py",
                 "compiled code (_kernels, neighbors)", "torchcsprng is not installable here",
                 "on census and online_shoppers", "pass --target to choose",
                 "benchmarks/README.md"):
        assert FORBIDDEN.search(text), text
    for text in ("nearest neighbours", "12,345 / 12,345", "ε = ∞ (no DP)", "report.html",
                 "synthetic.csv", "holdout 2-way TVD", "−0.002"):
        assert not FORBIDDEN.search(text), text


@pytest.mark.parametrize("schema_learned", [True, False])
def test_the_made_up_columns_claim_states_the_guards_real_scope(schema_learned: bool) -> None:
    """The claim says which real values a made-up value is checked against: those of the
    made-up columns in training and holdout rows, no others. The guard must do exactly that."""
    train = pd.DataFrame({"name": ["Ann Lee", "Bo Chan"], "city": ["Oslo", "Rome"]})
    holdout = pd.DataFrame({"name": ["Cy Diaz"], "city": ["Lima"]})
    guard = CollisionGuard.from_frame(pd.concat([train, holdout]), ["name"])
    assert guard.is_real("Ann Lee") and guard.is_real("cy  DIAZ")  # training and holdout rows
    assert not guard.is_real("Oslo")  # a learned column's values are not checked
    words = claim.not_covered({}, ["name"], schema_learned)[-1]
    assert words.startswith("made-up columns (name)")
    assert "a real value of any made-up column (training and holdout rows)" in words
    for promise in ("any real value", "of the upload", "of the table", "any column"):
        assert promise not in words, promise
