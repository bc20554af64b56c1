"""The model file: one safetensors file holding a fitted model's weights as tensors and, in its
metadata, a JSON description (format version, method, schema, settings, learned parameters).

Why one safetensors file: safetensors holds raw little-endian arrays behind a JSON header of
bounded size, and its reader only parses; nothing in the file is ever run. Its metadata maps
names to strings, so the description travels in the same file as the weights: one file to
copy to a worker, no archive to unpack. The description is JSON, read with `json.loads`; the
values it holds are plain data (numbers, text, lists, objects and two tagged kinds: non-finite
floats and timestamps). Names in it are never imported: the method is looked up in the method
registry by its name, and an unknown one is refused.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tabsynth import __version__
from tabsynth.errors import ConfigError
from tabsynth.io import write_bytes_atomic

FORMAT = "tabsynth-model"
FORMAT_VERSION = 1  # bump when the description's layout changes; older files are refused
REFIT = "fit the model again with this version of tabsynth and save it anew"
_PICKLE_START = b"\x80"  # every pickle of protocol 2 or later starts with PROTO
_ZIP_START = b"PK\x03\x04"
_FLOAT_TAG, _TIME_TAG = "$float", "$timestamp"
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def write_model_file(path: str | Path, description: dict[str, Any],
                     tensors: dict[str, np.ndarray]) -> Path:
    """Write the description (plain data: see `plain`) and the tensors to `path` atomically."""
    path = Path(path)
    payload = model_file_bytes(description, tensors)
    try:
        write_bytes_atomic(path, payload)
    except OSError as exc:
        raise ConfigError(f"cannot write the model file {path}: "
                          f"{exc.strerror or type(exc).__name__}") from None
    return path


def model_file_bytes(description: dict[str, Any], tensors: dict[str, np.ndarray]) -> bytes:
    """A model file's bytes (what write_model_file writes)."""
    from safetensors.numpy import save

    header = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
              "tabsynth_version": __version__,
              "description": json.dumps(plain(description), allow_nan=False,
                                        ensure_ascii=False)}
    arrays = {name: np.ascontiguousarray(array) for name, array in tensors.items()}
    return save(arrays, metadata=header)


def read_model_file(path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(description, tensors) of a model file, after checking it is one, in this format."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"model file not found: {path}")
    with path.open("rb") as handle:
        start = handle.read(8)
    try:  # the safetensors reader only parses (its header is JSON): safe on any file
        with safe_open(str(path), framework="np") as opened:
            header = opened.metadata() or {}
            tensors = {name: opened.get_tensor(name) for name in opened.keys()}  # noqa: SIM118
    except (SafetensorError, OSError, ValueError):  # their text may quote the file
        # named only once the file is not a model: a model's first byte (its header's
        # length) can be a pickle's first byte too
        if start.startswith(_PICKLE_START):
            raise ConfigError(f"{path} is a model saved by an earlier tabsynth as a pickle, "
                              f"which is never opened (loading a pickle can run code): "
                              f"{REFIT}") from None
        if start.startswith(_ZIP_START):
            raise ConfigError(f"{path} is a ZIP archive, not a tabsynth model file (an export "
                              "bundle, perhaps?); give the model file a run saved") from None
        raise ConfigError(f"{path} is not a tabsynth model file") from None
    return _checked(header, tensors, path)


def read_model_bytes(data: bytes, name: str = "the model") -> tuple[dict[str, Any],
                                                                       dict[str, np.ndarray]]:
    """(description, tensors) of a model file's bytes (a worker's copy: no file written)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load

    try:
        size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + size]).get("__metadata__") or {}
        tensors = load(data)
    except (SafetensorError, ValueError, TypeError, AttributeError):
        raise ConfigError(f"{name} is not a tabsynth model file") from None
    return _checked(header, tensors, name)


def _checked(header: dict[str, Any], tensors: dict[str, np.ndarray],
             path: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The description of a model file's metadata, after checking its format and version."""
    if header.get("format") != FORMAT:
        raise ConfigError(f"{path} holds tensors but no tabsynth model (a model file of "
                          "another program?)")
    found = header.get("format_version")
    if found != str(FORMAT_VERSION):
        raise ConfigError(f"{path} holds a model in format {_short(found)} (saved by tabsynth "
                          f"{_short(header.get('tabsynth_version'))}); this version of tabsynth "
                          f"reads format {FORMAT_VERSION}: {REFIT}")
    try:
        description = restored(json.loads(header.get("description", "")))
    except (json.JSONDecodeError, ValueError, TypeError, RecursionError):
        raise ConfigError(f"{path} is damaged: its description is not readable JSON; "
                          f"{REFIT}") from None
    if not isinstance(description, dict):
        raise ConfigError(f"{path} is damaged: its description is not an object; {REFIT}")
    return description, tensors


def _short(text: object) -> str:
    """A version string from the file, shown only when it looks like one."""
    words = str(text) if text is not None else "unknown"
    return words if len(words) <= 12 and all(c.isalnum() or c in ".-+" for c in words) \
        else "unknown"


def plain(value: Any) -> Any:
    """`value` as JSON data: numpy scalars and arrays as numbers and lists, tuples as lists,
    non-finite floats and timestamps tagged; anything else is refused (TypeError)."""
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("a saved mapping needs text keys")
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return {_FLOAT_TAG: "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"}
    if isinstance(value, pd.Timestamp):
        return {_TIME_TAG: value.isoformat()}
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise TypeError(f"a value of type {type(value).__name__} cannot be saved in a model file")


def restored(value: Any) -> Any:
    """The inverse of `plain`: tagged objects back to floats and timestamps (data only)."""
    if isinstance(value, dict):
        if len(value) == 1:
            (key, inner), = value.items()
            if key == _FLOAT_TAG and inner in _NON_FINITE:
                return _NON_FINITE[inner]
            if key == _TIME_TAG and isinstance(inner, str):
                return pd.Timestamp(inner)
        return {k: restored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [restored(v) for v in value]
    return value
