"""Public-schema parsing: column domains the user declares public knowledge (no budget spent).

Importable without torch or Opacus, so the page and the CLI can check a declaration cheaply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tabsynth.errors import ConfigError
from tabsynth.schema import Schema


@dataclass
class PublicColumn:
    """A user's declaration that a column's domain is public knowledge (costs no budget)."""

    categories: list[object] | None = None
    bounds: tuple[float, float] | None = None
    nullable: bool = False  # whether the column may be missing


def load_public_schema(path: str | Path) -> dict[str, PublicColumn]:
    """Read {"column": {"categories": [...]} | {"bounds": [low, high]}, "nullable": bool}."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"public schema file not found: {path}") from None
    return parse_public_schema(text)


def parse_public_schema(text: str) -> dict[str, PublicColumn]:
    """Parse the public-domain JSON (see load_public_schema); empty text declares nothing."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"public schema is not valid JSON (line {exc.lineno}): "
                          f"{exc.msg}") from None
    columns = data.get("columns", data) if isinstance(data, dict) else None
    if not isinstance(columns, dict):
        raise ConfigError('public schema must map column names to {"categories": [...]} or '
                          '{"bounds": [low, high]}')
    public = {}
    for name, entry in columns.items():
        if not isinstance(entry, dict) or not ("categories" in entry or "bounds" in entry):
            raise ConfigError(f"public schema, column {name!r}: give categories or bounds")
        bounds = entry.get("bounds")
        if bounds is not None and (len(bounds) != 2 or not bounds[0] < bounds[1]):
            raise ConfigError(f"public schema, column {name!r}: bounds must be [low, high]")
        public[name] = PublicColumn(categories=entry.get("categories"),
                                    bounds=tuple(bounds) if bounds is not None else None,
                                    nullable=bool(entry.get("nullable", False)))
    return public


def with_public_kinds(schema: Schema, public: dict[str, PublicColumn]) -> Schema:
    """A column whose domain is declared public takes the kind its declaration gives, learned
    from nothing: categories make it categorical (a yes/no column stays yes/no), bounds make
    it numeric unless it was read as whole numbers or dates; it is not personal data. On a
    small table the noise can read a label column as numbers or text; the declaration, public
    knowledge, settles it at no cost."""
    names = {spec.name for spec in schema.columns}
    for name, declared in public.items():
        if name not in names:
            continue
        spec = schema[name]
        if declared.categories is not None and spec.kind not in ("categorical", "boolean"):
            spec.kind, spec.dtype = "categorical", "object"
        elif declared.bounds is not None and spec.kind not in ("numeric", "integer",
                                                                 "datetime"):
            spec.kind, spec.dtype = "numeric", "float64"
        else:
            continue
        spec.pii = None
        spec.decimals = spec.datetime_format = spec.bool_tokens = spec.date_unit = None
        spec.id_prefix = spec.id_width = None
        spec.reason = "kind from the domain you declared public"
    return schema
