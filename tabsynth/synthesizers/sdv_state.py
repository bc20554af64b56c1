"""A fitted SDV model (Gaussian copula, CTGAN) as plain data and named arrays, and back, for the
model file: never a pickle.

SDV saves its models only with (cloud)pickle, and loading a pickle can run any code. Here the
model's object graph is written out as JSON-ready data instead: every object's attributes as
tagged values, numeric arrays and network weights as separate tensors, an object met twice as a
reference to its first writing. Loading rebuilds the graph under rules checked in beside it
(`sdv_classes.py`, generated from fits of both methods): only the classes listed there, and
each attribute of each class may hold only the objects, classes and named tuples it held in
those fits; any other attribute holds plain data (numbers, text, arrays, dates, lists and
mappings of them). No attribute may be a double-underscore name (numpy and pandas read array
and type protocols from an instance's own attributes) or shadow a method or property of its
class, except the four copulas itself replaces on a constant column, which are written as
"this object's constant counterpart". Nothing the file names is imported or called beyond the
listed classes' own `__setstate__` (as unpickling does); no other module is imported. The
libraries' versions are recorded and checked on load: their objects' attributes change between
versions, so another version is refused with the advice to fit again.

Left out of the file (None after loading; only fitting uses them): the default transformers
SDV keeps for columns it has not seen (they hold Faker providers), CTGAN's lists of
training-row numbers per category (its conditional sampler), its training losses, and the
column means RDT keeps to fill missing values before fitting.
"""

from __future__ import annotations

import collections
import importlib
import math
import re
import sys
from typing import Any

import numpy as np
import pandas as pd

from tabsynth.synthesizers.sdv_classes import ALLOWED, ATTRIBUTES, TOP_LEVEL

LIBRARIES = ("sdv", "rdt", "copulas", "ctgan", "scikit-learn", "torch")

# attributes only fitting uses, whose values cannot or must not be saved (see the docstring)
_LEFT_OUT = {"sdv.data_processing.data_processor.DataProcessor": {"_transformers_by_sdtype"},
             "ctgan.data_sampler.DataSampler": {"_rid_by_cat_cols"},
             "ctgan.synthesizers.ctgan.CTGAN": {"loss_values"},
             "rdt.transformers.null.NullTransformer": {"_missing_value_replacement"}}
# attributes not written at all: CTGAN's random states, which its own __setstate__ would hand
# unchecked to numpy and torch (a draw reads the state's position); a draw seeds anew
_DROPPED = {"ctgan.synthesizers.ctgan.CTGAN": {"_numpy_random_state", "_torch_random_state"}}
# attributes in which copulas names distributions by class path, imported when it fits (never
# when it samples); a loaded file may name only allowed classes there all the same
_CLASS_PATH_KEYS = {"distribution", "_default_distribution", "__kwargs__", "candidates"}
# the double-underscore attributes copulas keeps (its constructor's arguments)
_DUNDER_KEYS = {"__kwargs__", "__args__"}
# the methods copulas replaces on a constant column by `_constant_<name>` of the same object
CONSTANT_METHODS = {"cumulative_distribution", "percent_point", "probability_density", "sample"}
_PLAIN = (str, bool, int, float, type(None))
_TENSOR_DTYPES = {"float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8",
                  "uint16", "uint32", "uint64", "bool"}
# what may stand where an object, a class or a named tuple does (kinds of `_Writer.value`)
_RICH = {"object", "ref", "class", "named"}


def versions() -> dict[str, str]:
    """The installed versions of the libraries a saved SDV model's objects come from."""
    from importlib.metadata import version

    return {name: version(name) for name in LIBRARIES}


def _qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


class _Writer:
    """Turns an object graph into tagged plain data, collecting arrays as named tensors."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.tensors: dict[str, np.ndarray] = {}
        self.written: dict[int, int] = {}  # id of an object -> its number in the file
        self.alive: list[Any] = []  # the objects written (their ids stay theirs)

    def value(self, item: Any) -> Any:
        if type(item) in _PLAIN:
            return item
        if isinstance(item, np.generic):
            return {"t": "scalar", "dtype": item.dtype.str, "v": item.item()
                    if item.dtype.kind not in "mM" else int(item.view("i8"))}
        if isinstance(item, np.dtype):
            return self._dtype(item)
        if isinstance(item, np.ndarray):
            return self._array(item)
        if isinstance(item, collections.OrderedDict):
            return {"t": "odict", "v": [[self.value(k), self.value(v)] for k, v in item.items()]}
        if type(item) is dict:
            return {"t": "dict", "v": [[self.value(k), self.value(v)] for k, v in item.items()]}
        if type(item) is list:
            return {"t": "list", "v": [self.value(v) for v in item]}
        if type(item) in (set, frozenset):
            return {"t": "set", "v": [self.value(v) for v in sorted(item, key=repr)]}
        if type(item) is tuple:
            return {"t": "tuple", "v": [self.value(v) for v in item]}
        if isinstance(item, tuple) and hasattr(item, "_fields"):  # a named tuple
            return {"t": "named", "class": _allowed_name(type(item)),
                    "v": [[field, self.value(v)] for field, v in zip(item._fields, item,
                                                                      strict=True)]}
        if type(item) is pd.Timestamp:
            return {"t": "timestamp", "v": item.isoformat()}
        if type(item) is pd.DataFrame:
            return {"t": "frame", "index": self.value(item.index),
                    "columns": self.value(item.columns),
                    "data": [self.value(item.iloc[:, i]) for i in range(item.shape[1])]}
        if type(item) is pd.Series:
            return {"t": "series", "name": self.value(item.name), "index": self.value(item.index),
                    "dtype": self._dtype(item.dtype), "v": self._array(item.to_numpy())}
        if type(item) is pd.RangeIndex:
            return {"t": "range", "v": [item.start, item.stop, item.step],
                    "name": self.value(item.name)}
        if type(item) is pd.Index:
            return {"t": "index", "name": self.value(item.name), "dtype": self._dtype(item.dtype),
                    "v": self._array(item.to_numpy())}
        if type(item) is np.random.RandomState:
            return {"t": "random_state", "v": self.value(item.get_state())}
        if isinstance(item, type):
            return {"t": "class", "v": _allowed_name(item)}
        torch = sys.modules.get("torch")
        if torch is not None and type(item) is torch.device:
            return {"t": "device", "v": str(item)}
        if torch is not None and type(item) in (torch.Tensor, torch.nn.Parameter):
            return {"t": "parameter" if isinstance(item, torch.nn.Parameter) else "tensor",
                    "grad": bool(item.requires_grad),
                    "v": self._array(item.detach().cpu().numpy())}
        return self._object(item)

    @staticmethod
    def _dtype(dtype: Any) -> dict[str, Any]:
        if not isinstance(dtype, np.dtype):
            raise TypeError(f"a column of {dtype} cannot be saved")
        return {"t": "dtype", "v": dtype.str if dtype.kind != "O" else "object"}

    def _array(self, array: np.ndarray) -> dict[str, Any]:
        if array.dtype.kind in "mM":  # dates and durations: as their int64 counts
            return {"t": "array", "as": array.dtype.str, "v": self._tensor(array.view("i8"))}
        if array.dtype.name in _TENSOR_DTYPES:
            return {"t": "array", "v": self._tensor(array)}
        if array.dtype.kind in "OUS":
            return {"t": "objects", "shape": list(array.shape),
                    "v": [self.value(v) for v in array.ravel().tolist()]}
        raise TypeError(f"an array of {array.dtype} cannot be saved")

    def _tensor(self, array: np.ndarray) -> str:
        name = f"{self.prefix}.{len(self.tensors)}"
        self.tensors[name] = np.ascontiguousarray(array)
        return name

    def _object(self, item: Any) -> dict[str, Any]:
        if id(item) in self.written:
            return {"t": "ref", "v": self.written[id(item)]}
        name = _allowed_name(type(item))
        state = item.__getstate__() or {}
        if not isinstance(state, dict):
            raise TypeError(f"a {type(item).__name__} object cannot be saved")
        number = self.written[id(item)] = len(self.written)
        self.alive.append(item)
        left_out, dropped = _LEFT_OUT.get(name, set()), _DROPPED.get(name, set())
        return {"t": "object", "class": name, "id": number,
                "v": [[key, None if key in left_out else self._attribute(item, key, value)]
                      for key, value in state.items() if key not in dropped]}

    def _attribute(self, owner: Any, key: str, value: Any) -> Any:
        if key in CONSTANT_METHODS and getattr(value, "__self__", None) is owner and \
                getattr(value, "__name__", "") == f"_constant_{key}":
            return {"t": "constant"}  # copulas' constant column: its own counterpart method
        return self.value(value)


def to_plain(model: Any, prefix: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(plain data, named tensors) of a fitted SDV model; TypeError for anything not allowed."""
    writer = _Writer(prefix)
    data = {"versions": versions(), "model": writer.value(model)}
    return data, writer.tensors


def from_plain(data: dict[str, Any], tensors: dict[str, np.ndarray]) -> Any:
    """The SDV model `to_plain` wrote. ValueError when the file was written with other versions
    of the libraries, or holds a class or a value that is not allowed where it stands."""
    saved, installed = data.get("versions"), versions()
    if saved != installed:
        differ = ", ".join(name for name in LIBRARIES
                           if not isinstance(saved, dict) or saved.get(name) != installed[name])
        raise VersionMismatch(differ)
    return _Reader(tensors).value(data["model"], TOP_LEVEL)


class VersionMismatch(ValueError):
    """The model was saved with other versions of the libraries it is made of."""

    def __init__(self, libraries: str) -> None:
        super().__init__(libraries)
        self.libraries = libraries


class _Reader:
    """Rebuilds what `_Writer` wrote, creating only allowed classes where they may stand."""

    def __init__(self, tensors: dict[str, np.ndarray]) -> None:
        self.tensors = tensors
        self.made: dict[int, Any] = {}  # objects by their number in the file

    def value(self, item: Any, may_hold: frozenset[str]) -> Any:
        """`item` rebuilt; `may_hold` names the objects, classes and named tuples allowed here
        ("object:<class>", "class:<class>", "named:<class>")."""
        if item is None or type(item) in (str, bool, int, float):
            return item
        if type(item) is not dict or not isinstance(item.get("t"), str):
            raise ValueError("not a saved value")
        tag, inner = item["t"], item.get("v")
        if tag in _RICH:
            return self._rich(tag, item, may_hold)

        def each(values: Any) -> list[Any]:
            return [self.value(v, may_hold) for v in values]

        simple = {"list": lambda: each(inner),
                  "tuple": lambda: tuple(each(inner)),
                  "set": lambda: set(each(inner)),
                  "dict": lambda: {self.value(k, _NOTHING): self.value(v, may_hold)
                                   for k, v in inner},
                  "odict": lambda: collections.OrderedDict(
                      (self.value(k, _NOTHING), self.value(v, may_hold)) for k, v in inner),
                  "timestamp": lambda: pd.Timestamp(str(inner)),
                  "dtype": lambda: _dtype(item),
                  "array": lambda: self._array(item),
                  "objects": lambda: self._objects(item, may_hold),
                  "range": lambda: _range(inner, self.value(item["name"], _NOTHING)),
                  "index": lambda: pd.Index(self._plain_array(inner), dtype=_dtype(item["dtype"]),
                                            name=self.value(item["name"], _NOTHING)),
                  "series": lambda: pd.Series(self._plain_array(inner, may_hold),
                                              index=self.value(item["index"], _NOTHING),
                                              dtype=_dtype(item["dtype"]),
                                              name=self.value(item["name"], _NOTHING)),
                  "frame": lambda: self._frame(item),
                  "scalar": lambda: self._scalar(item),
                  "random_state": lambda: _random_state(self.value(inner, _NOTHING)),
                  "device": lambda: _torch().device(_device_text(inner)),
                  "tensor": lambda: self._tensor(item, parameter=False),
                  "parameter": lambda: self._tensor(item, parameter=True)}
        if tag not in simple:
            raise ValueError("not a saved value")
        return simple[tag]()

    def _rich(self, tag: str, item: dict[str, Any], may_hold: frozenset[str]) -> Any:
        """An object, a reference to one, a class or a named tuple, where `may_hold` allows."""
        if tag == "ref":
            made = self.made.get(int(item["v"]))
            if made is None:
                raise ValueError("a reference to an object not read yet")
            _check_place(f"object:{_qualified(type(made))}", may_hold)
            return made
        if tag == "class":
            _check_place(f"class:{item['v']}", may_hold)
            return _allowed_class(item["v"])
        name = item["class"]
        _check_place(f"{tag}:{name}", may_hold)
        cls = _allowed_class(name)
        rules = ATTRIBUTES.get(name, {})
        if tag == "named":
            if not (issubclass(cls, tuple) and hasattr(cls, "_fields")):
                raise ValueError("not a named tuple")
            fields = dict(item["v"])
            return cls(*[self.value(_checked_kind(rules, field, fields[field]),
                                    rules.get(field, _NOTHING)) for field in cls._fields])
        made = cls.__new__(cls)
        number = int(item["id"])
        if number in self.made:
            raise ValueError("an object numbered twice")
        self.made[number] = made
        state = {}
        for key, value in item["v"]:
            key = _checked_key(cls, str(key), value)
            state[key] = getattr(made, f"_constant_{key}") if value == {"t": "constant"} \
                else self.value(_checked_kind(rules, key, value), rules.get(key, _NOTHING))
            if key in _CLASS_PATH_KEYS:
                _check_class_paths(state[key])
        setstate = getattr(cls, "__setstate__", None)
        if setstate is not None:
            setstate(made, state)
        else:
            made.__dict__.update(state)
        return made

    def _array(self, item: dict[str, Any]) -> np.ndarray:
        array = np.array(self.tensors[str(item["v"])])
        kind = item.get("as")
        return array.view(np.dtype(_dtype_text(kind))) if kind is not None else array

    def _plain_array(self, item: Any, may_hold: frozenset[str] = frozenset()) -> np.ndarray:
        if type(item) is not dict or item.get("t") not in ("array", "objects"):
            raise ValueError("not a saved array")
        return self.value(item, may_hold)

    def _objects(self, item: dict[str, Any], may_hold: frozenset[str]) -> np.ndarray:
        values = [self.value(v, may_hold) for v in item["v"]]
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array.reshape([int(n) for n in item["shape"]])

    def _scalar(self, item: dict[str, Any]) -> np.generic:
        dtype = np.dtype(_dtype_text(item["dtype"]))
        if dtype.kind in "mM":
            return np.int64(item["v"]).view(dtype)
        if dtype.kind not in "biufc" or type(item["v"]) not in (bool, int, float):
            raise ValueError("not a saved number")
        try:
            return dtype.type(item["v"])
        except OverflowError:
            raise ValueError("a number out of its type's range") from None

    def _frame(self, item: dict[str, Any]) -> pd.DataFrame:
        columns = self.value(item["columns"], _NOTHING)
        data = [self.value(v, _NOTHING) for v in item["data"]]
        if not all(type(column) is pd.Series for column in data):
            raise ValueError("not a saved table")
        frame = pd.concat(data, axis=1) if data else \
            pd.DataFrame(index=self.value(item["index"], _NOTHING))
        frame.columns = columns
        return frame

    def _tensor(self, item: dict[str, Any], parameter: bool) -> Any:
        torch = _torch()
        tensor = torch.from_numpy(self._array(item["v"]))
        if parameter:
            return torch.nn.Parameter(tensor, requires_grad=bool(item["grad"]))
        return tensor.requires_grad_(bool(item["grad"]))


_NOTHING: frozenset[str] = frozenset()
_DTYPE_TEXT = re.compile(r"object|[<>|=](?:[iuf][1248]|b1|[Mm]8\[(?:ns|us|ms|s|D)\])")
_LONGEST_RANGE = 10**6  # a saved RangeIndex longer than this is refused


def _checked_kind(rules: dict[str, frozenset[str]], key: str, raw: Any) -> Any:
    """`raw`, when the fits held this kind of plain value under `key` (an attribute the fits
    never set is refused)."""
    if key not in rules:
        raise ValueError("an attribute the model does not have")
    kind = plain_kind(raw)
    if kind is not None and kind not in rules[key]:
        raise ValueError("a value of another kind than the model holds there")
    return raw


def _check_place(kind: str, may_hold: frozenset[str]) -> None:
    if kind not in may_hold:
        raise ValueError("an object where the model holds none of its kind")


def _checked_key(cls: type, key: str, value: Any) -> str:
    """An attribute name a file may set on `cls`: no double-underscore protocol names, nothing
    that shadows a method, property or class-level value of the class (copulas' constant-column
    methods excepted, and only as "constant")."""
    if (key.startswith("__") and key not in _DUNDER_KEYS) or key == "_typ":
        raise ValueError("a protocol attribute")  # _typ: how pandas tells its own types
    if key in CONSTANT_METHODS and value == {"t": "constant"}:
        if not callable(getattr(cls, f"_constant_{key}", None)):
            raise ValueError("a constant method the class lacks")
        return key
    if hasattr(cls, key) and (callable(getattr(cls, key)) or
                              not isinstance(getattr(cls, key), _PLAIN)):
        raise ValueError("an attribute that shadows the class's own")
    return key


def _dtype(item: Any) -> np.dtype:
    if type(item) is not dict or item.get("t") != "dtype":
        raise ValueError("not a saved dtype")
    return np.dtype(_dtype_text(item["v"]))


def _dtype_text(text: Any) -> str:
    """A dtype's text from the file: numbers, yes/no, dates and durations, or "object", as the
    writer writes them (never a class path, a time zone or a byte width)."""
    if isinstance(text, str) and _DTYPE_TEXT.fullmatch(text):
        return text
    raise ValueError("not a saved dtype")


def _range(bounds: Any, name: Any) -> pd.RangeIndex:
    made = pd.RangeIndex(*[int(v) for v in bounds], name=name)
    if len(made) > _LONGEST_RANGE:
        raise ValueError("a range longer than any a model holds")
    return made


def _device_text(text: Any) -> str:
    if text in ("cpu", "cuda") or (isinstance(text, str) and text.startswith("cuda:")
                                   and text[5:].isdigit()):
        return str(text)
    raise ValueError("not a saved device")


def _check_class_paths(value: Any) -> None:
    """Every text in `value` (a class path, or lists and mappings of them) names an allowed
    class; ValueError otherwise."""
    if isinstance(value, str) and value not in ALLOWED:
        raise ValueError("a class path that is not allowed")
    inner = value.values() if isinstance(value, dict) else value \
        if isinstance(value, list | tuple | set) else ()
    for item in inner:
        _check_class_paths(item)


def _allowed_name(cls: type) -> str:
    name = _qualified(cls)
    if name not in ALLOWED:
        raise TypeError(f"a {cls.__name__} object cannot be saved")
    return name


def _allowed_class(name: Any) -> type:
    """An allowed class by its full name, from a module of the installed libraries."""
    if name not in ALLOWED:
        raise ValueError("a class that is not allowed")
    module, _, qualname = str(name).rpartition(".")
    return getattr(importlib.import_module(module), qualname)


def _random_state(state: Any) -> np.random.RandomState:
    """A numpy random state, once its parts are those of a Mersenne Twister (numpy does not
    check the position, and a draw reads the key at it)."""
    made = np.random.RandomState()
    made.set_state(checked_mt19937(state))
    return made


def checked_mt19937(state: Any) -> tuple[Any, ...]:
    """`state` when it is a legacy numpy Mersenne Twister state; ValueError otherwise."""
    if not (type(state) is tuple and len(state) == 5 and state[0] == "MT19937"):
        raise ValueError("not a random state")
    key, position, has_gauss, gauss = state[1:]
    if not (isinstance(key, np.ndarray) and key.dtype == np.uint32 and key.shape == (624,)
            and type(position) is int and 0 <= position <= 624 and has_gauss in (0, 1)
            and type(gauss) is float and math.isfinite(gauss)):
        raise ValueError("not a random state")
    return state


def _torch() -> Any:
    import torch

    return torch


def plain_kind(raw: Any) -> str | None:
    """The kind of a written attribute's value when it is plain data ("kind:<tag>"; numbers are
    one kind; None for no value, allowed everywhere, and for objects, classes and named tuples,
    which are checked by class)."""
    if raw is None:
        return None
    if type(raw) in (bool, int, float):
        return "kind:number"
    if type(raw) is str:
        return "kind:str"
    tag = raw.get("t") if type(raw) is dict else None
    if tag in _RICH:
        return None
    return f"kind:{tag}"


def attribute_rules(data: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    """Per class and attribute, what a written model holds there: the objects, classes and
    named tuples, and the kind of its value when that is plain data (what
    `sdv_classes.ATTRIBUTES` lists; see scripts/sdv_attribute_rules.py)."""
    numbers: dict[int, str] = {}
    rules: dict[str, dict[str, set[str]]] = {}

    def holds(value: Any, found: set[str]) -> None:
        if type(value) is list:
            for inner in value:
                holds(inner, found)
        elif type(value) is dict:
            tag = value.get("t")
            if tag == "object":
                numbers[value["id"]] = value["class"]
                found.add(f"object:{value['class']}")
                read(value["class"], value["v"])
            elif tag == "ref":
                found.add(f"object:{numbers[value['v']]}")
            elif tag == "class":
                found.add(f"class:{value['v']}")
            elif tag == "named":
                found.add(f"named:{value['class']}")
                read(value["class"], value["v"])
            else:
                for key, inner in value.items():
                    if key != "t":
                        holds(inner, found)

    def read(name: str, pairs: list[list[Any]]) -> None:
        for key, inner in pairs:
            found: set[str] = set()
            holds(inner, found)
            kind = plain_kind(inner)
            if kind is not None:
                found.add(kind)
            rules.setdefault(name, {}).setdefault(key, set()).update(found)

    holds(data["model"], set())
    return rules
