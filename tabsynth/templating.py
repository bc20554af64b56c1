"""The one Jinja environment of the internal review and the release report: autoescaped, the
number filters of tabsynth.formatting, direction controls made visible."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from jinja2 import ChainableUndefined, Environment, PackageLoader, Undefined
from markupsafe import Markup

from tabsynth import formatting
from tabsynth.visible import visible


@functools.cache
def environment() -> Environment:
    """The one Jinja environment of both pages: autoescaped, the number filters of
    tabsynth.formatting, direction controls made visible."""
    environment = Environment(loader=PackageLoader("tabsynth", "templates"), autoescape=True,
                              undefined=ChainableUndefined, finalize=_finalize,
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters.update(
        num=_defined(formatting.score), ci=_defined(formatting.interval),
        agg=_defined(formatting.aggregate), aggci=_defined(formatting.aggregate_interval),
        pct=_defined(formatting.percent), pctci=_defined(formatting.percent_interval),
        cell=_defined(formatting.value), small=_defined(formatting.small),
        thousands=_defined(formatting.count))
    environment.filters["apply"] = lambda value, name: environment.filters[name](value)
    return environment


def _finalize(value: Any) -> Any:
    """Every printed text: direction controls made visible (escaping happens after)."""
    if isinstance(value, Markup):
        return value
    return visible(value) if isinstance(value, str) else value


def _defined(write: Callable[[Any], str]) -> Callable[[Any], str]:
    """A formatter as a filter: a key missing from report.json is written as a dash."""
    return lambda value: formatting.MISSING if isinstance(value, Undefined) else write(value)
