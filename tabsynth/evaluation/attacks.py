"""anonymeter's three attacks, run with the whole synthetic table as the attacker's data.

The methods, the success criteria and the risk are anonymeter 1.1.0's (risk = (main - control) /
(1 - control) with Wilson intervals, from its EvaluationResults); what differs is the engine.
anonymeter evaluates singling-out queries one polars expression each and searches neighbours by
brute force (a full argsort per target), which takes minutes on a 39k-row synthetic table; here
queries are counted and neighbours found by compiled code (_kernels, neighbors) that finds the
same counts and neighbours (checked against anonymeter and brute force in tests/test_attacks.py).
Stated differences: a singling-out risk is counted over the queries actually found (anonymeter
divides by the number asked for), numbers are scaled by their range over the synthetic, training
and holdout rows together (anonymeter: over the synthetic rows and the targets), dates are
numbers, a number missing on one side adds 1 to the distance (anonymeter's turns NaN), ties
between equally near synthetic rows go to a shuffled (seeded) order, and all draws are seeded.
Singling-out queries are tried on every training row, dealt into folds of as many rows as the
holdout rows they are compared with, and the risk adds up each fold's excess over the holdout's
rate (anonymeter cuts the training rows to the holdout's number, which dilutes the risk by about
holdout / training rows; with equally many rows, one fold, the two agree). On a cluster, large
folds are counted side by side by its workers, and the neighbour searches are cut into parts
(neighbors.py).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from tabsynth import cluster
from tabsynth.evaluation.common import as_float, is_numeric
from tabsynth.evaluation.neighbors import MixedIndex, encode_tables

CONFIDENCE = 0.95
CLUSTER_FOLD_ROWS = 40_000  # training rows from which a cluster counts the folds side by side
# the report's note on how the attacks were run, in plain words (the docstring above is the
# developers' version of it)
METHOD_NOTE = (
    "The methods, the success criteria and the risk are those of anonymeter 1.1.0 (risk = "
    "(main − control) / (1 − control), with Wilson intervals). tabsynth runs them with its own "
    "faster counting and neighbour search, which finds the same counts and neighbours as "
    "anonymeter and as a brute-force search. Where it differs: a singling-out risk is counted "
    "over the queries actually found (anonymeter divides by the number asked for); numbers "
    "are scaled by their range over the synthetic, training and holdout rows together "
    "(anonymeter: over the synthetic rows and the targets); dates are numbers; a number "
    "missing on one side adds 1 to the distance; ties between equally near synthetic rows are "
    "broken in a shuffled order; every random draw is seeded. Singling-out queries are tried "
    "on every training row, dealt into groups as large as the holdout, and the risk adds up "
    "each group's excess over the holdout's rate (anonymeter keeps only as many training rows "
    "as the holdout has, which dilutes the risk by about holdout / training rows).")
OPS = {"==": 0, "!=": 1, ">=": 2, "<=": 3, ">": 4, "<": 5, "is null": 6, "is not null": 7}


def attack_result(name: str, n_attacks: int, n_success: int, n_baseline: int,
                  n_control: int | None, n_control_attacks: int | None = None,
                  **details: Any) -> dict[str, Any]:
    """anonymeter's risk and rates for counted successes (n_control_attacks: control targets,
    where they differ in number from the main ones)."""
    from anonymeter.stats.confidence import EvaluationResults

    counts = (n_attacks if n_control_attacks is None
              else (n_attacks, n_attacks, n_control_attacks))
    with warnings.catch_warnings():  # "attack as good as baseline": reported as a field
        warnings.simplefilter("ignore")
        results = EvaluationResults(n_attacks=counts, n_success=n_success,
                                    n_baseline=n_baseline, n_control=n_control,
                                    confidence_level=CONFIDENCE)
        risk = results.risk()
    control = None if results.control_rate is None else float(results.control_rate.value)
    return {"name": name, "risk": float(risk.value), "ci": [float(risk.ci[0]), float(risk.ci[1])],
            "main_rate": float(results.attack_rate.value),
            "baseline_rate": float(results.baseline_rate.value), "control_rate": control,
            "n_attacks": int(n_attacks),
            "n_control_attacks": int(n_attacks if n_control_attacks is None
                                     else n_control_attacks),
            "successes": int(n_success),
            "baseline_successes": int(n_baseline),
            "control_successes": None if n_control is None else int(n_control),
            "baseline_beats_attack": bool(results.baseline_rate.value
                                          >= results.attack_rate.value),
            **details}


def failed(name: str, exc: Exception, **details: Any) -> dict[str, Any]:
    return {"name": name, "risk": None, "ci": None, "error": type(exc).__name__, **details}


# ---------------------------------------------------------------- singling out

@dataclass
class Coded:
    """A table as integer codes per column (missing: -1; numbers by rank, so order holds),
    with each column's codes sorted and the rows in that order, for counting queries."""

    codes: np.ndarray
    sorted_codes: np.ndarray
    order: np.ndarray

    @classmethod
    def of(cls, codes: np.ndarray) -> Coded:
        order = np.argsort(codes, axis=0, kind="stable").T.copy()
        sorted_codes = np.take_along_axis(codes, order.T, axis=0).T.copy()
        return cls(np.ascontiguousarray(codes, dtype=np.int32), sorted_codes.astype(np.int32),
                   order.astype(np.int64))

    def count(self, columns: np.ndarray, ops: np.ndarray, values: np.ndarray,
              cap: int = 2) -> np.ndarray:
        from tabsynth.evaluation._kernels import count_matches

        if not len(columns):
            return np.zeros(0, np.int64)
        return count_matches(self.codes, self.sorted_codes, self.order,
                             np.ascontiguousarray(columns, dtype=np.int64),
                             np.ascontiguousarray(ops, dtype=np.int64),
                             np.ascontiguousarray(values, dtype=np.int64), cap)


def code_tables(frames: list[pd.DataFrame], columns: list[str],
                numeric: list[str]) -> tuple[list[np.ndarray], dict[int, np.ndarray]]:
    """Shared integer codes for the given tables, unique rows only (as anonymeter keeps), and
    the sorted values behind the codes of each numeric column (by column position)."""
    sizes = np.cumsum([0] + [len(f) for f in frames])
    blocks, numbers = [], {}
    for j, column in enumerate(columns):
        if column in numeric:
            values = np.concatenate([as_float(f[column]).to_numpy() for f in frames])
            present = ~np.isnan(values)
            codes = np.full(len(values), -1, np.int64)
            numbers[j], codes[present] = np.unique(values[present], return_inverse=True)
        else:
            values = pd.concat([f[column].astype(object) for f in frames], ignore_index=True)
            labels = values.astype(str).where(values.notna())
            codes = pd.factorize(labels)[0].astype(np.int64)
        blocks.append(codes)
    table = np.column_stack(blocks) if blocks else np.zeros((sizes[-1], 0), np.int64)
    return [pd.DataFrame(table[a:b]).drop_duplicates().to_numpy()
            for a, b in pairwise(sizes)], numbers


def singling_out(syn: pd.DataFrame, ori: pd.DataFrame, control: pd.DataFrame,
                 columns: list[str], numeric: list[str], n_attacks: int, max_attempts: int,
                 seed: int) -> dict[str, dict[str, Any]]:
    """anonymeter's singling-out attack, univariate and multivariate: queries that single out
    one synthetic row, tried on the unique holdout rows (control) and on every unique training
    row, in disjoint folds of as many rows as the control (Folds); with fewer training rows
    than holdout rows, the control is cut to the training rows' number (one fold)."""
    n_cols = min(3, len(columns))
    names = {"univariate": "singling out (univariate)",
             "multivariate": "singling out (multivariate"
                             + (f", {n_cols} columns)" if n_cols > 1 else ")")}
    try:
        rng = np.random.default_rng(seed)
        (syn_codes, ori_codes, control_codes), numbers = code_tables([syn, ori, control],
                                                                      columns, numeric)
        size = min(len(ori_codes), len(control_codes))
        order = rng.permutation(len(ori_codes))
        control_table = Coded.of(control_codes[rng.permutation(len(control_codes))[:size]])
        folds = Folds.split(ori_codes, order, size, rng)
        coded_syn = Coded.of(syn_codes)
    except Exception as exc:  # a failed attack is reported, never hidden
        return {mode: failed(name, exc) for mode, name in names.items()}
    out = {}
    for mode, name in names.items():
        if mode == "multivariate" and n_cols < 2:
            out[mode] = {"name": name, "risk": None, "ci": None,
                         "not_applicable": "needs two columns at least"}
            continue
        try:
            if mode == "univariate":
                queries, tried = _univariate_queries(coded_syn, numbers, n_attacks, rng)
            else:
                queries, tried = _multivariate_queries(coded_syn, numbers, n_cols, n_attacks,
                                                       max_attempts, rng)
            out[mode] = _tried(name, queries, tried, folds, control_table, syn_codes, numbers,
                               n_attacks, rng)
        except Exception as exc:  # a failed attack is reported, never hidden
            out[mode] = failed(name, exc)
    return out


@dataclass
class Folds:
    """The training rows in disjoint random folds of the control's size, so that a query meets
    as many rows in each fold as in the control. When the rows do not fill the last fold, it is
    topped up with rows lent by the others; a query that matches a lent row there does not
    count (that row is singled out, if at all, in its own fold)."""

    tables: list[Coded]
    lent: Coded | None  # the rows lent to the last fold
    rows: int  # training rows, each in one fold
    size: int  # rows per fold

    @classmethod
    def split(cls, codes: np.ndarray, order: np.ndarray, size: int,
              rng: np.random.Generator) -> Folds:
        """Folds of `size` rows of `codes`, taken in `order` (a permutation of the rows)."""
        rows = len(codes)
        count = max(1, -(-rows // size)) if size else 1
        parts = [order[i * size:(i + 1) * size] for i in range(count)]
        short = size - len(parts[-1])
        lent = None
        if short and count > 1:
            lent = rng.choice(order[:(count - 1) * size], short, replace=False)
            parts[-1] = np.concatenate([parts[-1], lent])
        return cls([Coded.of(codes[part]) for part in parts],
                   None if lent is None else Coded.of(codes[lent]), min(rows, count * size),
                   size)

    @property
    def per_control(self) -> float:
        """Training rows per control row: the folds' expected successes by chance, in units of
        the control's rate (the last fold's lent rows do not count)."""
        return self.rows / self.size if self.size else 1.0

    def singled_out(self, queries: tuple[np.ndarray, ...], own_rows_only: bool = True
                    ) -> np.ndarray:
        """Queries x folds: whether the query matches exactly one row of the fold (and, with
        own_rows_only, not a lent one)."""
        hits = np.column_stack([counts == 1 for counts in fold_counts(self.tables, queries)])
        if own_rows_only and self.lent is not None:
            hits[:, -1] &= self.lent.count(*queries, cap=1) == 0
        return hits


def fold_counts(tables: list[Coded], queries: tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """Each table's matches per query (capped at 2). On a cluster (a job run with a Ray
    address), with several folds of CLUSTER_FOLD_ROWS training rows or more in all, each fold
    is counted by a task of its own; the queries go to the object store once. The answer is
    the same."""
    rows = sum(len(table.codes) for table in tables)
    if min(cluster.query_shards(), len(tables)) < 2 or rows < CLUSTER_FOLD_ROWS:
        return [table.count(*queries) for table in tables]
    import ray

    count = ray.remote(num_cpus=1, max_retries=0)(_count_fold)
    shared = ray.put(queries)
    try:
        return ray.get([count.remote(table, shared) for table in tables])
    finally:
        del shared  # the last reference: the object store frees the queries


def _count_fold(table: Coded, queries: tuple[np.ndarray, ...]) -> np.ndarray:
    """One fold's counts, by a worker of the cluster."""
    return table.count(*queries)


def fold_risk(fold_successes: list[int], n_attacks: int, n_control: int,
              per_control: float) -> tuple[float, list[float], float]:
    """The risk over folds, its interval and the equal-size main rate it implies.

    A query made from a copy of training row r singles r out only in r's fold; in the others
    it succeeds by chance, at the control's rate. So the folds' excesses over chance add up to
    the excess one training table of the control's size would show:
    risk = (sum_j main_j - a * control) / (1 - control), a = training rows / control rows
    (a = 1, one fold: anonymeter's risk). The rates are anonymeter's (Wilson) and their errors
    are propagated as anonymeter does, each fold's as independent: the same queries on every
    fold and on the control make their errors correlate positively, so the interval is, if
    anything, too wide."""
    from anonymeter.stats.confidence import bind_value, success_rate

    mains = [success_rate(n_attacks, s, CONFIDENCE) for s in fold_successes]
    control = success_rate(n_attacks, n_control, CONFIDENCE)
    total = sum(rate.value for rate in mains)
    free = 1.0 - control.value
    value = (total - per_control * control.value) / free
    error = np.sqrt(sum((rate.error / free) ** 2 for rate in mains)
                    + (control.error * (total - per_control) / free ** 2) ** 2)
    risk = bind_value(value, float(error))
    main_rate = min(max(total - (per_control - 1.0) * control.value, 0.0), 1.0)
    return float(risk.value), [float(risk.ci[0]), float(risk.ci[1])], main_rate


def _tried(name: str, queries: tuple[np.ndarray, ...], tried: int, folds: Folds,
           control: Coded, syn_codes: np.ndarray, numbers: dict[int, np.ndarray],
           wanted: int, rng: np.random.Generator) -> dict[str, Any]:
    """Successes of the queries on the training folds and on the holdout rows, and of as many
    random queries on the training folds (anonymeter's baseline)."""
    found = len(queries[0])
    if not found:
        return {"name": name, "risk": None, "ci": None, "n_attacks": 0, "queries_tried": tried,
                "no_queries": True}
    is_number = np.array([j in numbers for j in range(syn_codes.shape[1])], bool)
    baseline = _random_queries(syn_codes, is_number, queries[0].shape[1], found, rng)
    main = folds.singled_out(queries).sum(axis=0)
    guessed = folds.singled_out(baseline, own_rows_only=False).sum(axis=0)
    hits = int((control.count(*queries) == 1).sum())
    details = {"queries_requested": wanted, "queries_tried": tried,
               "target_rows": folds.size, "training_rows": folds.rows,
               "folds": len(folds.tables)}
    if len(folds.tables) == 1:  # equal sizes: anonymeter's numbers
        return attack_result(name, found, int(main[0]), int(guessed[0]), hits, **details)
    return _fold_result(name, found, [int(s) for s in main], int(guessed.sum()), hits,
                        folds.per_control, **details)


def _fold_result(name: str, n_attacks: int, fold_successes: list[int], n_baseline: int,
                 n_control: int, per_control: float, **details: Any) -> dict[str, Any]:
    """attack_result's fields for queries tried on several folds: the risk and main rate are
    fold_risk's, the baseline rate is pooled over the folds."""
    from anonymeter.stats.confidence import success_rate

    risk, ci, main_rate = fold_risk(fold_successes, n_attacks, n_control, per_control)
    baseline_rate = success_rate(n_attacks * len(fold_successes), n_baseline, CONFIDENCE).value
    control_rate = success_rate(n_attacks, n_control, CONFIDENCE).value
    return {"name": name, "risk": risk, "ci": ci, "main_rate": main_rate,
            "baseline_rate": float(baseline_rate), "control_rate": float(control_rate),
            "n_attacks": int(n_attacks), "n_control_attacks": int(n_attacks),
            "successes": int(sum(fold_successes)), "baseline_successes": int(n_baseline),
            "control_successes": int(n_control),
            "baseline_beats_attack": bool(baseline_rate >= main_rate),
            "fold_successes": fold_successes, **details}


def _univariate_queries(syn: Coded, numbers: dict[int, np.ndarray], wanted: int,
                        rng: np.random.Generator) -> tuple[tuple[np.ndarray, ...], int]:
    """anonymeter's univariate queries: a column's only missing value, its minimum or maximum,
    or a value held by one row; kept when one synthetic row matches."""
    cols, ops, values = [], [], []
    for j in range(syn.codes.shape[1]):
        codes = syn.codes[:, j]
        present = codes[codes >= 0]
        if (codes < 0).sum() == 1:
            cols.append(j), ops.append(OPS["is null"]), values.append(0)
        if j in numbers and len(present):
            cols += [j, j]
            ops += [OPS["<="], OPS[">="]]
            values += [int(present.min()), int(present.max())]
        unique, counts = np.unique(present, return_counts=True)
        rare = unique[counts == 1]
        cols += [j] * len(rare)
        ops += [OPS["=="]] * len(rare)
        values += rare.tolist()
    shuffle = rng.permutation(len(cols))
    candidates = [np.asarray(x, np.int64)[shuffle][:, None] for x in (cols, ops, values)]
    counts = syn.count(*candidates)
    keep = np.flatnonzero(counts == 1)[:wanted]
    return tuple(c[keep] for c in candidates), len(cols)


def _multivariate_queries(syn: Coded, numbers: dict[int, np.ndarray], n_cols: int,
                          wanted: int, max_attempts: int,
                          rng: np.random.Generator) -> tuple[tuple[np.ndarray, ...], int]:
    """anonymeter's multivariate queries: a random synthetic row's values in n_cols random
    columns (numbers as >= or <= towards the extreme side of the synthetic median); kept when
    only one synthetic row matches, each distinct query once, until `wanted` or max_attempts."""
    rows, width = syn.codes.shape
    is_number = np.array([j in numbers for j in range(width)], bool)
    above = np.full(width, np.iinfo(np.int64).max)  # codes above this lie above the median
    for j, values in numbers.items():
        present = syn.codes[:, j][syn.codes[:, j] >= 0]
        if len(present):
            median = float(np.median(values[present]))
            above[j] = int(np.searchsorted(values, median, side="right")) - 1
    kept: list[np.ndarray] = []
    seen: set[bytes] = set()
    tried, total = 0, 0
    while total < wanted and tried < max_attempts:
        batch = min(max(1000, 2 * (wanted - total)), max_attempts - tried)
        picked = rng.integers(0, rows, batch)
        cols = np.sort(np.argsort(rng.random((batch, width)), axis=1)[:, :n_cols], axis=1)
        values = syn.codes[picked[:, None], cols].astype(np.int64)
        ops = np.where(is_number[cols], np.where(values > above[cols], OPS[">="], OPS["<="]),
                       OPS["=="])
        ops = np.where(values < 0, OPS["is null"], ops)
        tried += batch
        hits = np.flatnonzero(syn.count(cols, ops, values) == 1)
        for i in hits:
            key = np.concatenate([cols[i], ops[i], values[i]]).tobytes()
            if key not in seen and total < wanted:
                seen.add(key)
                kept.append(np.stack([cols[i], ops[i], values[i]]))
                total += 1
    if not kept:
        empty = np.zeros((0, n_cols), np.int64)
        return (empty, empty, empty), tried
    stacked = np.stack(kept)
    return (stacked[:, 0], stacked[:, 1], stacked[:, 2]), tried


def _random_queries(syn_codes: np.ndarray, is_number: np.ndarray, n_cols: int, count: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """anonymeter's baseline: random columns, a random value of each (from the synthetic
    table), a random operator (==, != for categories; any comparison for numbers)."""
    width = syn_codes.shape[1]
    cols = np.sort(np.argsort(rng.random((count, width)), axis=1)[:, :n_cols], axis=1)
    values = np.zeros((count, n_cols), np.int64)
    for j in range(width):
        choices = np.unique(syn_codes[:, j])
        where = cols == j
        values[where] = rng.choice(choices, int(where.sum()))
    number_ops = np.array([OPS[o] for o in ("==", "!=", ">", "<", ">=", "<=")])
    category_ops = np.array([OPS["=="], OPS["!="]])
    ops = np.where(is_number[cols], rng.choice(number_ops, cols.shape),
                   rng.choice(category_ops, cols.shape))
    ops = np.where(values < 0, np.where(ops == OPS["=="], OPS["is null"], OPS["is not null"]),
                   ops)
    return cols, ops, values


# ---------------------------------------------------------------- linkability, inference

def _targets(train: pd.DataFrame, holdout: pd.DataFrame, n_attacks: int,
             seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """As many training (main) and holdout (control) targets as each has, up to n_attacks
    (anonymeter draws each side up to its own size, too)."""
    return (train.sample(min(n_attacks, len(train)), random_state=seed).reset_index(drop=True),
            holdout.sample(min(n_attacks, len(holdout)), random_state=seed + 1)
            .reset_index(drop=True))


def linkability(syn: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame,
                halves: tuple[list[str], list[str]], n_attacks: int, n_neighbors: int,
                seed: int) -> dict[str, Any]:
    """anonymeter's linkability attack: each party holds one half of the quasi-identifiers of
    a target; the two halves are linked when one synthetic row is among the n_neighbors
    nearest of both."""
    name = "linkability"
    details = {"aux_columns": [list(halves[0]), list(halves[1])], "n_neighbors": n_neighbors}
    try:
        main, control = _targets(train, holdout, n_attacks, seed)
        n = len(main)
        near: dict[str, list[np.ndarray]] = {"main": [], "control": []}
        for half in halves:
            encoded = encode_tables(half, syn, [syn, main, control], scaling="range")
            index = MixedIndex(encoded[0], seed=seed)
            near["main"].append(index.query(encoded[1], k=n_neighbors)[1])
            near["control"].append(index.query(encoded[2], k=n_neighbors)[1])
        rng = np.random.default_rng(seed)
        k = min(n_neighbors, len(syn))
        guesses = [np.stack([rng.choice(len(syn), k, replace=False) for _ in range(n)])
                   for _ in halves]
        return attack_result(name, n, _count_links(*near["main"]), _count_links(*guesses),
                             _count_links(*near["control"]), len(control), **details)
    except Exception as exc:
        return failed(name, exc, **details)


def _count_links(first: np.ndarray, second: np.ndarray) -> int:
    """Targets whose two neighbour lists share a synthetic row."""
    return int((first[:, :, None] == second[:, None, :]).any(axis=(1, 2)).sum())


def inference(syn: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame, aux: list[str],
              secret: str, n_attacks: int, seed: int) -> dict[str, Any]:
    """anonymeter's inference attack: guess a target's secret as the secret of the synthetic
    row nearest on the known (auxiliary) columns; numbers count as guessed within 5 %."""
    from anonymeter.evaluators.inference_evaluator import evaluate_inference_guesses

    regression = is_numeric(train[secret]) and train[secret].nunique() > 20
    name = f"inference of {secret}"
    details = {"secret": secret, "regression": bool(regression), "aux_columns": list(aux)}
    if not aux:
        return {"name": name, "risk": None, "ci": None, "not_applicable":
                "no known column: the attacker needs at least one quasi-identifier besides "
                "the secret", **details}
    try:
        main, control = _targets(train, holdout, n_attacks, seed)
        n = len(main)
        encoded = encode_tables(aux, syn, [syn, main, control], scaling="range")
        index = MixedIndex(encoded[0], seed=seed)
        secrets = syn[secret].reset_index(drop=True)
        hits = {}
        for position, targets in ((1, main), (2, control)):
            nearest = index.query(encoded[position], k=1)[1][:, 0]
            guesses = pd.Series(secrets.to_numpy()[nearest], index=targets.index)
            hits[position] = int(evaluate_inference_guesses(guesses, targets[secret],
                                                            regression).sum())
        rng = np.random.default_rng(seed)
        random_guesses = pd.Series(secrets.to_numpy()[rng.integers(0, len(syn), n)],
                                   index=main.index)
        baseline = int(evaluate_inference_guesses(random_guesses, main[secret],
                                                  regression).sum())
        return attack_result(name, n, hits[1], baseline, hits[2], len(control), **details)
    except Exception as exc:
        return failed(name, exc, **details)

