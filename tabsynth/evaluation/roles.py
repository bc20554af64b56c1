"""Which columns an attacker knows (quasi-identifiers) and which they want (secrets).

The user names them; where they do not, tabsynth suggests them from the column names (and date
types) and says so: quasi-identifiers are demographic and location columns (age, sex, postcode,
dates, place, race, marital status, nationality, education, occupation); secrets are the
utility target and columns whose names look sensitive (health, income, ...).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from tabsynth.errors import ConfigError

CHOSEN = "chosen by you"
MAX_SUGGESTED_SECRETS = 8
# fewer quasi-identifiers than this suggested from the names: the attacker knows every column
# but the secrets (linkability splits the known columns between two parties)
MIN_SUGGESTED_QUASI_IDENTIFIERS = 2

# what a quasi-identifier is, by the words of its name (after splitting camelCase, _ - . and
# spaces): a word of the set, or a pattern on the whole name
_QI_WORDS: dict[str, set[str]] = {
    "age": {"age", "ages", "yob", "dob", "birth", "birthday", "birthdate", "born"},
    "sex or gender": {"sex", "gender"},
    "postcode": {"zip", "zipcode", "postcode", "postal", "plz", "postalcode"},
    "date": {"date", "dt", "datetime", "timestamp"},
    "location": {"city", "town", "village", "state", "county", "region", "province",
                 "district", "country", "address", "location", "lat", "latitude", "lon", "lng",
                 "longitude", "geo", "municipality", "neighborhood", "neighbourhood", "borough",
                 "residence", "zone"},
    "race or ethnicity": {"race", "ethnicity", "ethnic", "ancestry"},
    "marital status": {"marital", "married", "marriage", "spouse", "civil"},
    "nationality": {"nationality", "citizenship", "citizen", "native", "nation", "birthplace"},
    "education": {"education", "degree", "schooling"},
    "occupation": {"occupation", "job", "profession", "employment", "occupational"},
}
_SENSITIVE_WORDS: dict[str, set[str]] = {
    "health": {"health", "diagnosis", "diagnoses", "disease", "illness", "medical", "medication",
               "medicine", "drug", "drugs", "treatment", "icd", "hiv", "cancer", "diabetes",
               "diabetic", "pregnant", "pregnancy", "disability", "mental", "symptom", "symptoms",
               "clinical", "therapy", "readmitted", "readmission", "bmi", "blood", "cholesterol",
               "condition", "smoker", "smoking", "alcohol"},
    "income or wealth": {"income", "salary", "salaries", "wage", "wages", "earnings", "pay",
                         "payroll", "wealth", "debt", "debts", "loan", "loans", "credit",
                         "savings", "revenue"},
    "beliefs, sexuality or record": {"religion", "religious", "sexual", "orientation",
                                     "criminal", "conviction", "convictions", "arrest",
                                     "political", "union", "genetic", "biometric"},
}


@dataclass
class Roles:
    """The attacker's known columns and the secrets they try to infer, with where they came
    from ("chosen by you" or "suggested: ...")."""

    quasi_identifiers: list[str]
    secrets: list[str]
    quasi_identifiers_origin: str
    secrets_origin: str
    why: dict[str, str] = field(default_factory=dict)  # column -> what its name suggested

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name))
    return [w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w]


def _kind(name: str, table: dict[str, set[str]]) -> str | None:
    found = set(words(name))
    return next((kind for kind, vocabulary in table.items() if found & vocabulary), None)


def quasi_identifier_kind(name: str, values: pd.Series | None = None) -> str | None:
    """What a column's name (or its date type) says it is, if it is a quasi-identifier."""
    if values is not None and pd.api.types.is_datetime64_any_dtype(values):
        return "date"
    return _kind(name, _QI_WORDS)


def sensitive_kind(name: str) -> str | None:
    return _kind(name, _SENSITIVE_WORDS)


def suggest_roles(columns: list[str], target: str | None = None,
                  frame: pd.DataFrame | None = None, secrets: list[str] | None = None,
                  dates: set[str] | None = None) -> Roles:
    """tabsynth's suggestion, with the reason for each column it picked; with `secrets` given,
    only the quasi-identifiers are suggested (never one of the secrets). Date columns (typed
    in `frame`, or named in `dates`) are quasi-identifiers."""
    why: dict[str, str] = {}
    if secrets is None:
        secrets, secrets_origin = _suggest_secrets(columns, target, why)
    else:
        secrets_origin = CHOSEN
    qis = []
    for column in columns:
        kind = ("date" if column in (dates or set()) else
                quasi_identifier_kind(column, None if frame is None else frame.get(column)))
        if kind and column not in secrets:
            qis.append(column)
            why[column] = kind
    if len(qis) >= MIN_SUGGESTED_QUASI_IDENTIFIERS:
        qi_origin = ("suggested: column names that look demographic or geographic ("
                     + ", ".join(f"{c}: {why[c]}" for c in qis) + ")")
    else:
        found = (f"only {qis[0]} ({why[qis[0]]}) looks like one" if qis
                 else "no column name looks like one")
        qis = [c for c in columns if c not in secrets]
        qi_origin = (f"suggested: {found}, too few for the linkability attack (two parties "
                     "need a column each), so the attacker is assumed to know every column but "
                     "the secrets")
    return Roles(qis, list(secrets), qi_origin, secrets_origin, why)


def _suggest_secrets(columns: list[str], target: str | None,
                     why: dict[str, str]) -> tuple[list[str], str]:
    sensitive = []
    for column in columns:
        kind = sensitive_kind(column)
        if kind:
            sensitive.append(column)
            why[column] = kind
    secrets = ([target] if target in columns else []) + [c for c in sensitive if c != target]
    secrets = secrets[:MAX_SUGGESTED_SECRETS]
    parts = []
    if target in secrets:
        parts.append(f"the utility target ({target})")
        why.setdefault(target, "utility target")
    named = [c for c in secrets if c != target]
    if named:
        parts.append(f"columns whose names look sensitive ({', '.join(named)})")
    if not secrets:
        secrets = [c for c in columns if quasi_identifier_kind(c) is None][-1:] or columns[-1:]
        parts.append("no target and no sensitive-looking name: the last column that is no "
                     f"quasi-identifier ({', '.join(secrets)})")
    return secrets, "suggested: " + " and ".join(parts)


def resolve_roles(columns: list[str], target: str | None = None,
                  quasi_identifiers: list[str] | None = None, secrets: list[str] | None = None,
                  frame: pd.DataFrame | None = None,
                  unavailable: dict[str, str] | None = None) -> Roles:
    """The user's choice where given (checked: a bad name is a ConfigError naming it), else
    tabsynth's suggestion. `unavailable`: columns that exist but cannot take part (why)."""
    check_choice(columns, quasi_identifiers, secrets, unavailable)
    chosen_secrets = None if secrets is None else list(dict.fromkeys(secrets))
    roles = suggest_roles(columns, target, frame, chosen_secrets)
    if quasi_identifiers is not None:
        roles.quasi_identifiers = list(dict.fromkeys(quasi_identifiers))
        roles.quasi_identifiers_origin = CHOSEN
    return roles


def check_names(flag: str, names: list[str] | None, columns: list[str],
                unavailable: dict[str, str] | None = None) -> None:
    """A one-line ConfigError for the first name that is no usable column."""
    for name in names or []:
        if unavailable and name in unavailable:
            raise ConfigError(f"{flag}: column {name!r} {unavailable[name]}")
        if name not in columns:
            raise ConfigError(f"{flag}: no column named {name!r}; the columns are "
                              f"{', '.join(map(repr, columns[:30]))}"
                              + (" …" if len(columns) > 30 else ""))


def check_choice(columns: list[str], quasi_identifiers: list[str] | None,
                 secrets: list[str] | None, unavailable: dict[str, str] | None = None) -> None:
    """Both flags checked up front (before any fitting): a ConfigError names a bad column."""
    check_names("--quasi-identifiers", quasi_identifiers, columns, unavailable)
    check_names("--secrets", secrets, columns, unavailable)


def parse_names(text: str | None) -> list[str] | None:
    """'A, B,C' -> ['A', 'B', 'C']; None stays None (let tabsynth suggest)."""
    if text is None:
        return None
    return [part.strip() for part in text.split(",") if part.strip()]


def split_for_linkability(quasi_identifiers: list[str],
                          train: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Two parties that each hold about half of the identifying information: columns by
    entropy in the training data, each given to the party holding less so far."""
    entropy = {c: _entropy(train[c]) for c in quasi_identifiers}
    halves: tuple[list[str], list[str]] = ([], [])
    totals = [0.0, 0.0]
    for column in sorted(quasi_identifiers, key=lambda c: (-entropy[c], c)):
        side = 0 if totals[0] <= totals[1] else 1
        halves[side].append(column)
        totals[side] += entropy[column]
    return halves


def _entropy(values: pd.Series) -> float:
    shares = values.astype(str).where(values.notna(), "").value_counts(normalize=True)
    return float(-(shares * shares.map(math.log2)).sum())
