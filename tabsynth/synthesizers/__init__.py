"""Synthesizers behind one interface; `make_synthesizer` builds one by method name from the
registry (`registry.py`)."""

from __future__ import annotations

from typing import Any

from tabsynth.synthesizers.base import Synthesizer
from tabsynth.synthesizers.registry import METHODS, MethodInfo, method_info

__all__ = ["METHODS", "MethodInfo", "Synthesizer", "make_synthesizer", "method_info"]


def make_synthesizer(method: str, **options: Any) -> Synthesizer:
    """Build a synthesizer; options that a method does not take are ignored, and those not
    given (None) take the method's defaults."""
    return method_info(method).build(**options)
