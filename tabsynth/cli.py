"""`tabsynth` command line: synthesize a table, or print its inferred schema."""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabsynth.errors import TabsynthError
from tabsynth.progress import Cancelled, ProgressEvent
from tabsynth.settings import DRAW_FORMATS as FORMATS
from tabsynth.settings import MAX_TRAIN_ROWS, SHARD_ROWS
from tabsynth.synthesizers import METHODS
from tabsynth.synthesizers.registry import DEFAULT_METHOD, methods_taking

if TYPE_CHECKING:
    import pandas as pd

    from tabsynth.generate import Constraints
    from tabsynth.synthesizers import Synthesizer

EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 1
EXIT_INTERRUPTED = 130
EXIT_GATE = 3  # --fail-on: the privacy verdict reached the given level
VERDICT_LEVELS = ("low", "inconclusive", "medium", "high")
ROLE_HELP = {
    "--quasi-identifiers": "comma-separated columns the attacker knows about a person "
                           "(default: suggested from the column names, e.g. age, sex, zip)",
    "--secrets": "comma-separated columns the attacker tries to infer (default: the target "
                 "and columns whose names look sensitive, e.g. income, diagnosis)",
}
GATE_HELP = ("exit 3 when the privacy verdict is at or above this level (inconclusive counts "
             "as medium: it cannot rule medium out)")
NO_HEADER_HELP = ("the file has no header row: every row is data and the columns are named "
                  "column_1, column_2, …")
SAVE_MODEL_HELP = ("also save the fitted model to PATH (weights and a JSON description, no real "
                   "value of the made-up columns, nothing that runs code when opened), to draw "
                   "more rows later with `tabsynth generate`; a model fitted without "
                   "differential privacy can hold rare real rows: keep it as you keep the data")
NO_PDF_HELP = ("skip report.pdf (WeasyPrint takes a few seconds, more on wide tables); "
               "report.html holds the same page")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        _fail(f"{message} (see `{self.prog} --help`)")
        raise SystemExit(EXIT_BAD_INPUT)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tabsynth", description="Privacy-preserving synthetic tables with review reports.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    synth = commands.add_parser("synthesize", help="fit a synthesizer and write synthetic data")
    synth.add_argument("input", help="CSV (optionally .gz), Parquet or .xlsx file")
    synth.add_argument("--method", choices=METHODS, default=DEFAULT_METHOD,
                       help=f"the synthesizer (default {DEFAULT_METHOD}, as on the page)")
    synth.add_argument("--rows", type=int, default=None,
                       help="rows to generate (default: as many as the train split)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--out", required=True, help="output folder")
    synth.add_argument("--epochs", type=int, default=None,
                       help=f"training epochs ({_listed('epochs')}); for autoregressive without "
                       "DP the most epochs (it stops when the validation likelihood stops "
                       "improving)")
    synth.add_argument("--batch-size", type=int, default=None,
                       help=f"rows per training step ({_listed('batch_size')}; with DP the "
                       "expected Poisson batch)")
    synth.add_argument("--epsilon", type=float, default=None,
                       help=f"privacy budget: {_epsilon_defaults()}")
    synth.add_argument("--delta", type=float, default=None,
                       help=f"{_listed('delta', ' / ')} delta (default min(1e-6, "
                       "1/(n*sqrt(n))), n the noisy row count)")
    synth.add_argument("--public-schema", default=None,
                       help=f"{_listed('public', ' / ')}: JSON "
                       '{"col": {"categories": [...]} | {"bounds": [lo, hi]}}')
    synth.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    synth.add_argument("--holdout-fraction", type=float, default=0.2)
    synth.add_argument("--target", default=None, help="column to stratify on and predict")
    synth.add_argument("--schema", default=None, help="edited schema JSON (from `tabsynth schema`)")
    synth.add_argument("--sheet", default=None, help="Excel sheet to read")
    synth.add_argument("--no-header", action="store_true", help=NO_HEADER_HELP)
    synth.add_argument("--no-escape-formulas", action="store_true",
                       help="write cells starting with = + - @ as they are (unsafe)")
    synth.add_argument("--quiet", action="store_true", help="no progress bar")
    synth.add_argument("--no-pdf", action="store_true", help=NO_PDF_HELP)
    synth.add_argument("--no-evaluate", action="store_true",
                       help="skip the fidelity / utility / privacy reports")
    synth.add_argument("--fail-on", choices=("medium", "high"), default=None, help=GATE_HELP)
    synth.add_argument("--save-model", default=None, metavar="PATH", help=SAVE_MODEL_HELP)
    synth.add_argument("--max-train-rows", type=int, default=MAX_TRAIN_ROWS, metavar="N",
                       help=f"without DP, fit on a uniform sample of N rows of a larger train "
                       f"split, said in the report (default {MAX_TRAIN_ROWS:,}; a DP run "
                       "trains on every row)")
    synth.add_argument("--sample-rate", type=float, default=None, metavar="P",
                       help="read the input as a sample, keeping each row with probability P "
                       "(0 < P <= 1) while streaming through it. Without it, an input over the "
                       "reading limits (2,000,000 rows, 50,000,000 cells, 200 MiB) is read as "
                       "a uniform sample of 2,000,000 rows; a DP run needs P for such an input "
                       "(one of 1, 0.5, 0.2, 0.1, ... 0.001), its coin flips secret")
    synth.add_argument("--rules", default=None, metavar="FILE", help=RULES_HELP + " (the "
                       "autoregressive method; the share of real rows breaking each is in the "
                       "review report)")
    for flag, text in ROLE_HELP.items():
        synth.add_argument(flag, default=None, help=text)
    add_cluster_options(synth, workers=True)

    generate = commands.add_parser(
        "generate", help="draw rows from a model saved with `synthesize --save-model`")
    generate.add_argument("model", help="the model file")
    generate.add_argument("--rows", type=int, default=None,
                          help="rows to draw (with --partial-rows: as many as the file has)")
    generate.add_argument("--out", required=True, help="output folder")
    generate.add_argument("--seed", type=int, default=0,
                          help="the same seed (and shard size) draws the same rows")
    generate.add_argument("--format", choices=FORMATS, default="csv")
    generate.add_argument("--shard-rows", type=int, default=SHARD_ROWS,
                          help=f"rows per shard, each with its own seed derived from --seed "
                          f"(default {SHARD_ROWS:,}); memory holds one shard at a time")
    generate.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    generate.add_argument("--no-escape-formulas", action="store_true",
                          help="write cells starting with = + - @ as they are (unsafe)")
    generate.add_argument("--quiet", action="store_true", help="no progress bar")
    generate.add_argument("--where", default=None,
                          help="only rows that meet these conditions, e.g. 'age>=65, sex=F' "
                          "(autoregressive models; the other columns follow the model given "
                          "them)")
    generate.add_argument("--rules", default=None, metavar="FILE", help=RULES_HELP)
    generate.add_argument("--partial-rows", default=None, metavar="FILE",
                          help="a CSV, Parquet or Excel table of some of the model's columns: "
                          "one row is drawn per row of it, keeping its filled cells and "
                          "drawing the empty ones given them (autoregressive models)")
    shares = generate.add_mutually_exclusive_group()
    shares.add_argument("--shares", default=None,
                        help="rebalance one column: 'readmitted: true=0.5, false=0.5'")
    shares.add_argument("--balance", default=None, metavar="COLUMN",
                        help="rebalance one column of categories to equal shares")

    evaluate = commands.add_parser("evaluate", help="report on an existing train/holdout/synthetic")
    evaluate.add_argument("--train", required=True)
    evaluate.add_argument("--holdout", required=True)
    evaluate.add_argument("--synthetic", required=True)
    evaluate.add_argument("--target", default=None)
    evaluate.add_argument("--out", required=True)
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--no-pdf", action="store_true", help=NO_PDF_HELP)
    evaluate.add_argument("--fail-on", choices=("medium", "high"), default=None, help=GATE_HELP)
    for flag, text in ROLE_HELP.items():
        evaluate.add_argument(flag, default=None, help=text)
    add_cluster_options(evaluate)
    add_cluster_options(generate)

    schema = commands.add_parser("schema", help="print the inferred schema as editable JSON")
    schema.add_argument("input")
    schema.add_argument("--target", default=None)
    schema.add_argument("--sheet", default=None)
    schema.add_argument("--no-header", action="store_true", help=NO_HEADER_HELP)
    return parser


def add_cluster_options(command: argparse.ArgumentParser, workers: bool = False) -> None:
    """--ray-address (every command that runs a job) and --workers (training commands)."""
    command.add_argument("--ray-address", default=None, metavar="HOST:PORT",
                         help="run the job on this Ray cluster (needs pip install "
                         "'tabsynth[ray]'; default: $TABSYNTH_RAY_ADDRESS, else this machine)")
    if workers:
        command.add_argument("--workers", type=int, default=1,
                             help=f"train on this many workers of the Ray cluster "
                             f"({_listed('workers')}; default 1)")


def _cluster_address(args: argparse.Namespace) -> str | None:
    """The Ray cluster a command runs on (None: this machine), checked before any work."""
    from tabsynth.cluster import ADDRESS_ENV, chosen_address, connect

    address = chosen_address(args.ray_address)
    if address is None:
        if getattr(args, "workers", 1) > 1:
            raise TabsynthError(f"--workers {args.workers} trains on a Ray cluster: give "
                                f"--ray-address (or set {ADDRESS_ENV})")
        return None
    connect(address)
    return address


RULES_HELP = ("a text file of rules every row must meet, one per line: 'date_of_birth < "
              "admitted_at', 'if diagnosis = flu then symptom in fever|cough', 'age >= 0'")


def _listed(option: str, separator: str = ", ") -> str:
    return separator.join(methods_taking(option))


def _epsilon_defaults() -> str:
    """Each DP-capable method with what it does when no epsilon is given."""
    parts = []
    for name in methods_taking("epsilon"):
        info = METHODS[name]
        default = info.defaults.get("epsilon")
        parts.append(f"{name} (default {default:g}; inf = no DP)" if default is not None
                     else f"{name} (default: no DP)")
    return ", ".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    try:
        if args.command == "schema":
            return _schema(args)
        if args.command == "evaluate":
            return _evaluate(args)
        if args.command == "generate":
            return _generate(args)
        return _synthesize(args)
    except TabsynthError as exc:
        _fail(str(exc))
        return EXIT_BAD_INPUT
    except Cancelled:
        _fail("cancelled")
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        _fail("interrupted")
        return EXIT_INTERRUPTED
    except MemoryError:
        _fail("out of memory: use fewer rows or columns, or fewer categories per column")
        return EXIT_BAD_INPUT
    except Exception as exc:
        if args.debug:
            raise
        if type(exc).__name__ == "ClusterJobError":  # in words; the traceback stays there
            _fail(str(exc))
        else:
            _fail(f"internal error ({type(exc).__name__}); rerun with --debug for details")
        return EXIT_INTERNAL


def _fail(message: str) -> None:
    one_line = " ".join(message.split())
    print(f"tabsynth: error: {one_line}", file=sys.stderr)


def _schema(args: argparse.Namespace) -> int:
    from tabsynth.pipeline import load_table
    from tabsynth.sampled_read import RowSampling
    from tabsynth.schema import infer_schema

    # a proposal for you to review: a table over the reading limits is proposed from a uniform
    # sample of it (seeded, so the same file gives the same proposal)
    table = load_table(args.input, sheet=args.sheet, header=not args.no_header,
                       sampling=RowSampling(seed=0))
    print(infer_schema(table.frame, target=args.target).to_json())
    return 0


def _synthesize(args: argparse.Namespace) -> int:
    from tabsynth.evaluation.roles import parse_names
    from tabsynth.pipeline import OutputSettings, ReadSettings, RunConfig, synthesize
    from tabsynth.schema import Schema

    config = RunConfig(
        method=args.method, rows=args.rows, seed=args.seed, epochs=args.epochs,
        batch_size=args.batch_size, device=args.device, holdout_fraction=args.holdout_fraction,
        target=args.target, epsilon=args.epsilon, delta=args.delta,
        evaluate=not args.no_evaluate, quasi_identifiers=parse_names(args.quasi_identifiers),
        secrets=parse_names(args.secrets), workers=args.workers, rules=_rules_text(args),
        max_train_rows=args.max_train_rows)
    config.validate()
    _check_out_dir(Path(args.out))
    if args.save_model:
        _check_model_path(Path(args.save_model))
    address = _cluster_address(args)
    schema = None
    if args.schema:
        schema_path = Path(args.schema)
        if not schema_path.is_file():
            raise TabsynthError(f"schema file not found: {schema_path}")
        schema = Schema.from_json(schema_path.read_text(encoding="utf-8"))
    if args.public_schema:
        from tabsynth.dp.public import load_public_schema

        config.public_schema = load_public_schema(args.public_schema)
    bar = ProgressBar(enabled=not args.quiet)
    read = ReadSettings(sheet=args.sheet, header=not args.no_header,
                        sample_rate=args.sample_rate)
    output = OutputSettings(escape_formulas=not args.no_escape_formulas, pdf=not args.no_pdf)
    if address is not None:
        report, paths = _synthesize_on_cluster(args, address, config, schema, read, output,
                                               bar)
    else:
        result = synthesize(args.input, config, schema=schema, read=read, out_dir=args.out,
                            progress=bar, output=output)
        report, paths = result.report, dict(result.paths)
        if args.save_model:
            paths["model"] = result.synthesizer.save(args.save_model)
    bar.close()
    lines = summary_lines(report, paths)
    if args.save_model:
        saved = paths["model"]
        lines.append(f"model saved to {saved} (more rows: tabsynth generate {saved} --rows N "
                     "--out DIR)")
    lines += _rule_hints(report, args)
    for line in lines:
        print(line, file=sys.stderr)
    return _gate(report, args.fail_on)


def _rule_hints(report: dict, args: argparse.Namespace) -> list[str]:
    """A hint when the run's table calls for a rule it was not given (a made-up date of birth
    beside a learned age), for methods that enforce rules."""
    from tabsynth.constraints.rules import suggested_rules
    from tabsynth.schema import Schema
    from tabsynth.synthesizers import method_info

    if args.rules or not report.get("schema") or not method_info(args.method).load().conditional:
        return []
    suggested = suggested_rules(Schema.from_dict(report["schema"]))
    if not suggested:
        return []
    return ["hint: a made-up column is drawn apart from the learned ones; a rules file with "
            f"'{suggested[0]}' (--rules FILE) ties them, in this run or in "
            "`tabsynth generate --rules`"]


MODEL_FILE_NAME = "model.safetensors"


def _synthesize_on_cluster(args: argparse.Namespace, address: str, config: Any,
                           schema: Any, read: Any, output: Any,
                           bar: ProgressBar) -> tuple[dict, dict[str, Path]]:
    """The same run as a task on the Ray cluster; its files are written into --out here."""
    import dataclasses

    from tabsynth.backends.ray_cluster import run_on_cluster
    from tabsynth.backends.tasks import SynthesisPayload, synthesize_task
    from tabsynth.outputs import named_paths
    from tabsynth.pipeline import sampled_table

    source = Path(args.input)
    if not source.is_file():
        raise TabsynthError(f"input file not found: {source}")
    sample = sampled_table(source, read, config)  # a large input: only its sample travels
    payload = SynthesisPayload(
        data=b"" if sample is not None else source.read_bytes(), filename=source.name,
        table=sample,
        config={f.name: getattr(config, f.name) for f in dataclasses.fields(config)},
        schema_json=schema.to_json() if schema is not None else None, sheet=read.sheet,
        header=read.header, escape_formulas=output.escape_formulas, pdf=output.pdf,
        sample_rate=read.sample_rate)
    elsewhere = {}
    if args.save_model:  # the fitted model comes back as bytes too, written where asked
        payload.keep_model_as = MODEL_FILE_NAME
        elsewhere[MODEL_FILE_NAME] = Path(args.save_model)
    bar(ProgressEvent("read", 0.0, f"sending {source.name} to the cluster at {address}"))
    report, written = run_on_cluster(address, synthesize_task, payload, args.out, bar,
                                     workers=config.workers, elsewhere=elsewhere)
    paths = named_paths(written)
    if args.save_model:
        paths["model"] = written[MODEL_FILE_NAME]
    return report, paths


def _check_model_path(path: Path) -> None:
    """Refuse --save-model before any fitting when the path cannot be written."""
    if path.is_dir():
        raise TabsynthError(f"--save-model {path} is a folder; give a file name such as "
                            "model.safetensors")
    folder = path.parent if str(path.parent) else Path(".")
    probe = folder if folder.exists() else next((p for p in folder.parents if p.exists()),
                                                Path("."))
    if not os.access(probe, os.W_OK):
        raise TabsynthError(f"--save-model {path}: folder is not writable")


def _generate(args: argparse.Namespace) -> int:
    from tabsynth.formatting import count, score, seconds, small
    from tabsynth.generate import PARTIAL_ROWS_NOTE, check_draw, draw_to_file
    from tabsynth.synthesizers import Synthesizer

    partial = _partial_rows(args)
    if partial is not None:
        if args.rows is not None and args.rows != len(partial):
            raise TabsynthError(f"--rows {args.rows:,} differs from the {len(partial):,} "
                                "partial rows: leave --rows out to draw one row per partial "
                                "row")
        args.rows = len(partial)
    elif args.rows is None:
        raise TabsynthError("generate needs --rows (how many rows to draw) or --partial-rows "
                            "(a table of rows to complete)")
    check_draw(args.rows, args.seed, args.shard_rows)
    _check_out_dir(Path(args.out))
    model = Synthesizer.load(args.model, device=args.device)
    constraints = _constraints(args, model, partial)
    shards = None
    if _cluster_address(args) is not None:  # the shards drawn by the cluster's workers
        from functools import partial as bind

        from tabsynth.backends.ray_draw import shards_on_cluster

        shards = bind(shards_on_cluster, Path(args.model).read_bytes())
    bar = ProgressBar(enabled=not args.quiet)
    drawn = draw_to_file(model, args.rows, args.seed, args.out, args.format,
                         shard_rows=args.shard_rows, escape=not args.no_escape_formulas,
                         progress=bar, source={"file": Path(args.model).name}, shards=shards,
                         constraints=constraints)
    bar.close()
    claim = model.privacy_claim
    dp = (f"differential privacy: ε = {score(claim.epsilon)}, δ = {small(claim.delta)} (drawing "
          "rows "
          "is post-processing: the guarantee covers them"
          + (PARTIAL_ROWS_NOTE if partial is not None else "") + ")" if claim
          else "differential privacy: none (ε = ∞, no formal guarantee)")
    print(f"wrote {drawn.path}: {count(drawn.rows)} rows from the saved {model.method} model in "
          f"{count(drawn.shards)} shard{'s' if drawn.shards != 1 else ''} of up to "
          f"{count(args.shard_rows)} rows, seed {args.seed}, in {seconds(drawn.seconds)}; "
          f"how to draw them again: {drawn.manifest}", file=sys.stderr)
    print(dp, file=sys.stderr)
    return 0


def _partial_rows(args: argparse.Namespace) -> pd.DataFrame | None:
    """generate's --partial-rows, read as an upload is (the same limits and messages)."""
    if not args.partial_rows:
        return None
    from tabsynth.io import read_partial_rows

    path = Path(args.partial_rows)
    if not path.is_file():
        raise TabsynthError(f"--partial-rows {path}: no such file")
    try:
        return read_partial_rows(path)
    except TabsynthError as exc:
        raise TabsynthError(f"--partial-rows {path}: {exc}") from None


def _constraints(args: argparse.Namespace, model: Synthesizer,
                 partial: pd.DataFrame | None = None) -> Constraints | None:
    """generate's --where, --rules (a file), --shares / --balance, --partial-rows."""
    from tabsynth.generate import read_constraints

    return read_constraints(model, args.where, _rules_text(args), args.shares, args.balance,
                            partial)


def _rules_text(args: argparse.Namespace) -> str | None:
    """The text of the --rules file, if one is given."""
    if not args.rules:
        return None
    try:
        return Path(args.rules).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        raise TabsynthError(f"--rules {args.rules}: cannot read the file (a UTF-8 text file, "
                            "one rule per line)") from None


def summary_lines(report: dict, paths: dict[str, Path | None]) -> list[str]:
    """The five lines a run ends with: the verdict, what it means and what to do next,
    fidelity beside a fresh real sample, utility beside models trained on real rows, ε if any,
    and where the files are. Figures are written as on the page and in both reports."""
    from tabsynth.evaluation.guidance import summarise
    from tabsynth.evaluation.results import Headline
    from tabsynth.formatting import aggregate, count, score, small

    head, privacy = Headline.from_report(report), report.get("privacy") or {}
    if privacy.get("not_applicable"):
        verdict = f"privacy verdict: not applicable ({privacy['not_applicable']})"
    elif head.verdict is None:
        verdict = "privacy verdict: not evaluated (the run skipped the reports)"
    else:
        summary = summarise(privacy, (report.get("run") or {}).get("holdout_fraction"))
        verdict = (f"privacy verdict: {head.verdict}: {summary.meaning} Next: "
                   f"{summary.next_step} Each check is listed in report.html.")
    fidelity = (f"fidelity: {aggregate(head.fidelity)} (a fresh real sample scores "
                f"{aggregate(head.fidelity_holdout)}; 1 is perfect)"
                if head.fidelity is not None else "fidelity: not computed")
    utility = (f"utility: {head.metric.upper()} {aggregate(head.utility)} for models trained on "
               f"the synthetic rows, {aggregate(head.utility_real)} on the real ones "
               f"(target {head.target})" if head.utility is not None
               else "utility: not computed")
    dp = privacy.get("dp")
    epsilon = (f"differential privacy: ε = {score(dp.get('epsilon'))}, "
               f"δ = {small(dp.get('delta'))}" if dp
               else "differential privacy: none (ε = ∞, no formal guarantee)")
    folder = Path(paths["synthetic"]).parent
    shared = [Path(p).name for key in ("synthetic", "parquet", "release_html", "release_json")
              if (p := paths.get(key))]
    review = [Path(p).name for key in ("report_html", "report_pdf", "report_json")
              if (p := paths.get(key))]
    rows = report.get("run", {}).get("synthetic_rows")
    files = (f"files in {folder}: {', '.join(shared)} ({count(rows)} rows, may be shared "
             f"after review); internal review, do not share: {', '.join(review)}")
    return [verdict, fidelity, utility, epsilon, files]


def _gate(report: dict, fail_on: str | None) -> int:
    verdict = (report.get("privacy") or {}).get("verdict")
    level = {"inconclusive": "medium"}.get(verdict, verdict)  # it cannot rule medium out
    if fail_on and level in VERDICT_LEVELS and (VERDICT_LEVELS.index(level)
                                                >= VERDICT_LEVELS.index(fail_on)):
        _fail(f"privacy verdict is {verdict} (--fail-on {fail_on}); see report.html")
        return EXIT_GATE
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from tabsynth.evaluation.roles import parse_names
    from tabsynth.external import evaluate_files

    _check_out_dir(Path(args.out))
    address = _cluster_address(args)
    roles = {"quasi_identifiers": parse_names(args.quasi_identifiers),
             "secrets": parse_names(args.secrets)}
    if address is not None:
        report = _evaluate_on_cluster(args, address, roles)
    else:
        report = evaluate_files(args.train, args.holdout, args.synthetic, args.out,
                                target=args.target, seed=args.seed, pdf=not args.no_pdf,
                                **roles)
    names = ["report.json", "report.html"] + ([] if args.no_pdf else ["report.pdf"])
    print(f"privacy verdict: {report['privacy']['verdict']}; wrote the internal review "
          f"(statistics of the real data, do not share) "
          + ", ".join(f"{args.out}/{name}" for name in names), file=sys.stderr)
    return _gate(report, args.fail_on)


def _evaluate_on_cluster(args: argparse.Namespace, address: str,
                         roles: dict[str, list[str] | None]) -> dict:
    """`evaluate` as a task on the Ray cluster; the review's files are written into --out."""
    from tabsynth.backends.ray_cluster import run_on_cluster
    from tabsynth.backends.tasks import EvaluationPayload, evaluate_task

    tables = {}
    for name, given in (("train", args.train), ("holdout", args.holdout),
                        ("synthetic", args.synthetic)):
        path = Path(given)
        if not path.is_file():
            raise TabsynthError(f"input file not found: {path}")
        tables[name] = (path.read_bytes(), path.name)
    payload = EvaluationPayload(tables=tables, target=args.target, seed=args.seed,
                                pdf=not args.no_pdf, **roles)
    return run_on_cluster(address, evaluate_task, payload, args.out, lambda _event: None)[0]


def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise TabsynthError(f"--out {out} exists and is not a folder")
    probe = out if out.exists() else next((p for p in out.parents if p.exists()), Path("."))
    if not os.access(probe, os.W_OK):
        raise TabsynthError(f"--out {out}: folder is not writable")


class ProgressBar:
    """A one-line progress bar on stderr (a line per stage when stderr is not a terminal)."""

    def __init__(self, enabled: bool = True, width: int = 30) -> None:
        self.enabled, self.width = enabled, width
        self.tty = sys.stderr.isatty()
        self.stage: str | None = None
        self.started = time.monotonic()

    def __call__(self, event: ProgressEvent) -> None:
        if not self.enabled:
            return
        filled = round(self.width * min(max(event.fraction, 0.0), 1.0))
        bar = "#" * filled + "-" * (self.width - filled)
        metrics = " ".join(f"{k}={v:.3g}" for k, v in event.metrics.items() if k != "epoch")
        line = f"{event.stage:<10} [{bar}] {event.fraction:4.0%} {event.message} {metrics}".rstrip()
        elapsed = time.monotonic() - self.started
        if self.tty:
            sys.stderr.write(f"\r{line[:110]:<110} {elapsed:6.1f}s")
            sys.stderr.flush()
        elif (event.stage != self.stage and event.fraction > 0) or event.fraction >= 1.0:
            # a stage shows once it has moved: a run that fails while reading prints only
            # its error
            print(f"{line} ({elapsed:.1f}s)", file=sys.stderr)
            self.stage = event.stage

    def close(self) -> None:
        if self.enabled and self.tty:
            sys.stderr.write("\n")


if __name__ == "__main__":
    sys.exit(main())
