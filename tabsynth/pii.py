"""Find personal data in a column from its values and its header; map each PII kind to Faker.

Detection looks at a sample of values first (an email address is an email address whatever
the header says) and uses the header as a second signal. Results carry a human-readable reason
that never quotes a value.
"""

from __future__ import annotations

import importlib
import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

# PII kind -> Faker provider method that regenerates it.
FAKER_PROVIDERS: dict[str, str] = {
    "person_name": "name",
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "phone": "phone_number",
    "address": "address",
    "ssn": "ssn",
    "national_id": "ssn",
    "credit_card": "credit_card_number",
    "iban": "iban",
    "ip_address": "ipv4",
    "date_of_birth": "date_of_birth",
    "url": "url",
    "username": "user_name",
    "postcode": "postcode",
    "free_text": "sentence",
}
PII_KINDS = tuple(FAKER_PROVIDERS)

_EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_URL = re.compile(r"^(https?://|www\.)[^\s]+$", re.IGNORECASE)
_SSN = re.compile(r"^(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}$")
_NINO = re.compile(r"^[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]$", re.IGNORECASE)
_CARD = re.compile(r"^\d[\d -]{11,22}\d$")
_IBAN = re.compile(r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$")
_PHONE = re.compile(r"^(\+|00)?[\d\s().\-/x]{7,24}$")
_NAME_TOKEN = re.compile(r"^[A-Z][a-zA-Z'\-]+\.?$|^(Mr|Mrs|Ms|Miss|Dr|Prof)\.?$|^[A-Z]\.$")

_HEADER_HINTS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"e[-_ ]?mail|^mail$", re.I)),
    ("first_name", re.compile(r"^(first|given|fore)[-_ ]?name$", re.I)),
    ("last_name", re.compile(r"^(last|family|sur)[-_ ]?name$|^surname$", re.I)),
    ("person_name", re.compile(r"^(full[-_ ]?)?name$|^(patient|customer|client|person|"
                               r"employee|contact)[-_ ]?name$", re.I)),
    ("phone", re.compile(r"phone|^tel(ephone)?$|mobile|^cell$|^fax$", re.I)),
    ("address", re.compile(r"address|^street|^addr$", re.I)),
    ("ssn", re.compile(r"^ssn$|social[-_ ]?security", re.I)),
    ("national_id", re.compile(r"national[-_ ]?id|passport|^nin[o]?$|tax[-_ ]?id", re.I)),
    ("credit_card", re.compile(r"credit[-_ ]?card|card[-_ ]?(number|no|num)|^cc[-_ ]?num", re.I)),
    ("iban", re.compile(r"^iban$|bank[-_ ]?account", re.I)),
    ("ip_address", re.compile(r"^ip([-_ ]?(address|addr))?$", re.I)),
    ("date_of_birth", re.compile(r"^dob$|birth|^born", re.I)),
    ("url", re.compile(r"^url$|website|homepage|^web$", re.I)),
    ("username", re.compile(r"user[-_ ]?name|^login$|^handle$", re.I)),
    ("postcode", re.compile(r"^(zip|postcode|postal[-_ ]?code|zip[-_ ]?code)$", re.I)),
]
_NAME_LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "pl_PL")


@dataclass(frozen=True)
class PiiFinding:
    kind: str
    reason: str


@lru_cache(maxsize=1)
def known_name_tokens() -> frozenset[str]:
    """First and last names from Faker's locale data (lower-case), used as a name dictionary."""
    tokens: set[str] = set()
    for locale in _NAME_LOCALES:
        try:
            provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
        except ImportError:
            continue
        for attribute in ("first_names", "first_names_male", "first_names_female", "last_names"):
            values = getattr(provider, attribute, ())
            names = values.keys() if isinstance(values, dict) else values
            tokens.update(str(n).lower() for n in names)
    return frozenset(tokens)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _is_card(text: str) -> bool:
    if not _CARD.match(text):
        return False
    digits = re.sub(r"[ -]", "", text)
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def _is_iban(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    if not _IBAN.match(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return "." in text or ":" in text


def _is_phone(text: str) -> bool:
    if not _PHONE.match(text):
        return False
    digits = re.sub(r"\D", "", text.split("x")[0])
    if not 7 <= len(digits) <= 15:
        return False
    has_format = any(ch in text for ch in "+()- .")
    return has_format or len(digits) in (10, 11)


def _is_person_name(text: str) -> bool:
    tokens = text.replace(",", " ").split()
    if not 2 <= len(tokens) <= 5 or not all(_NAME_TOKEN.match(t) for t in tokens):
        return False
    known = known_name_tokens()
    return any(t.strip(".").lower() in known for t in tokens)


def _is_single_name(text: str) -> bool:
    return bool(_NAME_TOKEN.match(text)) and text.lower() in known_name_tokens()


@lru_cache(maxsize=1)
def street_words() -> frozenset[str]:
    """Street suffixes (Faker's en_US list plus common European ones), lower-case."""
    words = {"street", "st", "avenue", "ave", "road", "rd", "lane", "ln", "drive", "dr", "way",
             "boulevard", "blvd", "court", "ct", "place", "pl", "square", "sq", "terrace",
             "suite", "apt", "unit", "box", "psc", "strasse", "straße", "rue", "via", "calle",
             "weg", "gasse", "platz", "laan", "straat"}
    try:
        provider = importlib.import_module("faker.providers.address.en_US").Provider
        words.update(str(w).lower() for w in getattr(provider, "street_suffixes", ()))
    except ImportError:
        pass
    return frozenset(words)


def _is_address(text: str) -> bool:
    words = re.findall(r"[A-Za-zÀ-ÿß]+", text)
    if len(text.split()) < 3 or not re.search(r"\d", text):
        return False
    return any(w.lower() in street_words() for w in words)


_VALUE_CHECKS: list[tuple[str, object, float, str]] = [
    ("email", _EMAIL.match, 0.8, "values look like email addresses"),
    ("url", _URL.match, 0.8, "values look like web addresses"),
    ("ip_address", _is_ip, 0.8, "values are IP addresses"),
    ("credit_card", _is_card, 0.8, "values are card numbers that pass the Luhn check"),
    ("iban", _is_iban, 0.8, "values are IBANs with a valid checksum"),
    ("ssn", _SSN.match, 0.8, "values have the US social security number format"),
    ("national_id", _NINO.match, 0.8, "values have the UK national insurance number format"),
    ("address", _is_address, 0.6, "values look like street addresses (number + street word)"),
    ("phone", _is_phone, 0.8, "values look like phone numbers"),
    ("person_name", _is_person_name, 0.6,
     "values look like person names (capitalised words, known first/last names)"),
]


SINGLE_NAME = "single_name"  # a value that is one known first or last name
SINGLE_NAME_SHARE = 0.7
VALUE_PII_KINDS = (*(kind for kind, *_ in _VALUE_CHECKS), SINGLE_NAME)


def value_pii_kind(text: str) -> str | None:
    """The first PII kind one text looks like (in the order columns are checked), or None."""
    if len(text) > MAX_PII_CHARS:
        return None
    for kind, check, _, _ in _VALUE_CHECKS:
        if check(text):
            return kind
    return SINGLE_NAME if _is_single_name(text) else None


def value_check(kind: str) -> tuple[float, str]:
    """(share of a column's values needed, reason) for a value-based PII kind."""
    for name, _, threshold, reason in _VALUE_CHECKS:
        if name == kind:
            return threshold, reason
    raise KeyError(kind)


MAX_PII_CHARS = 320  # longer than any email, phone, card, name or street address


def _sample_texts(values: pd.Series, limit: int = 400) -> list[str]:
    """Up to `limit` values as text; a value too long to be any PII kind checked becomes ""."""
    present = values.dropna()
    if len(present) > limit:
        present = present.sample(limit, random_state=0)
    texts = (_as_text(v) for v in present)
    return [t if len(t) <= MAX_PII_CHARS else "" for t in texts]


def looks_like_pii_value(text: str) -> bool:
    """One text that looks like a personal value (an email, a phone number, an address, a
    person's name...), whatever its column."""
    return any(check(text) for _, check, _, _ in _VALUE_CHECKS)


def _as_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def header_hint(column: str) -> str | None:
    """PII kind that a column name suggests, if any."""
    normalized = re.sub(r"([a-z])([A-Z])", r"\1_\2", str(column)).strip()
    for kind, pattern in _HEADER_HINTS:
        if pattern.search(normalized):
            return kind
    return None


def detect_pii(values: pd.Series, column: str, is_datetime: bool = False,
               looks_like_birth_dates: bool = False) -> PiiFinding | None:
    """Return the PII kind of a column, or None. Values are checked first, then the header."""
    texts = _sample_texts(values)
    hint = header_hint(column)
    if texts and not is_datetime:
        for kind, check, threshold, reason in _VALUE_CHECKS:
            if kind == "phone" and pd.api.types.is_numeric_dtype(values) and hint != "phone":
                continue  # plain numbers are phone numbers only when the header says so
            share = sum(1 for t in texts if check(t)) / len(texts)
            if share >= threshold:
                return PiiFinding(kind, f"{reason} ({share:.0%} of sampled values)")
        if not pd.api.types.is_numeric_dtype(values) and not is_datetime:
            unique_share = values.nunique() / max(1, values.notna().sum())
            share = sum(1 for t in texts if _is_single_name(t)) / len(texts)
            if share >= SINGLE_NAME_SHARE and unique_share > 0.02 and values.nunique() > 20:
                kind = hint if hint in ("first_name", "last_name") else "first_name"
                return PiiFinding(kind, f"values are known first or last names ({share:.0%})")
    if is_datetime and (hint == "date_of_birth" or looks_like_birth_dates):
        why = "column name suggests a date of birth" if hint == "date_of_birth" else \
            "dates spread over decades in the past, like dates of birth"
        return PiiFinding("date_of_birth", why)
    varied = values.nunique() > min(20, max(2, values.notna().sum() // 2))
    if hint and hint != "date_of_birth" and (hint == "postcode" or varied):
        return PiiFinding(hint, f"column name suggests {hint.replace('_', ' ')}")
    return None
