"""A fitted SDV model (Gaussian copula, CTGAN) as plain data and named arrays, and back, for the
model file: never a pickle.

SDV saves its models only with (cloud)pickle, and loading a pickle can run any code. Here the
model's object graph is written out as JSON-ready data instead: every object's attributes as
tagged values, numeric arrays and network weights as separate tensors. Loading rebuilds only
classes named in `ALLOWED` (exact names, from the installed libraries' own modules; no other
module is imported and nothing the file names is called), fills in their attributes the way
unpickling does (the class's own `__setstate__`, where it has one) and calls nothing else;
functions, generators and classes outside the list can be neither written nor read. The
libraries' versions are recorded and checked on load: their objects' attributes change between
versions, so another version is refused with the advice to fit again.

Left out of the file (None after loading; only fitting uses them): the default transformers
SDV keeps for columns it has not seen (they hold Faker providers) and CTGAN's lists of
training-row numbers per category (its conditional sampler, used during training only).
"""

from __future__ import annotations

import collections
import importlib
import random
import sys
from typing import Any

import numpy as np
import pandas as pd

LIBRARIES = ("sdv", "rdt", "copulas", "ctgan", "scikit-learn", "torch")

# the classes a saved SDV model may hold, by module and name: nothing else is rebuilt
_CLASSES = {
    "sdv.single_table.copulas": ["GaussianCopulaSynthesizer"],
    "sdv.single_table.ctgan": ["CTGANSynthesizer"],
    "sdv.data_processing.data_processor": ["DataProcessor"],
    "sdv.data_processing.numerical_formatter": ["NumericalFormatter"],
    "sdv.data_processing.datetime_formatter": ["DatetimeFormatter"],
    "sdv.metadata.metadata": ["Metadata"],
    "sdv.metadata._single_table": ["_SingleTableMetadata"],
    "rdt.hyper_transformer": ["HyperTransformer"],
    "rdt.transformers.categorical": ["UniformEncoder", "OneHotEncoder", "LabelEncoder",
                                     "FrequencyEncoder", "OrderedUniformEncoder",
                                     "OrderedLabelEncoder"],
    "rdt.transformers.ordinal": ["OrderedUniformEncoder"],
    "rdt.transformers.boolean": ["BinaryEncoder"],
    "rdt.transformers.datetime": ["UnixTimestampEncoder", "OptimizedTimestampEncoder"],
    "rdt.transformers.null": ["NullTransformer"],
    "rdt.transformers.numerical": ["FloatFormatter", "ClusterBasedNormalizer",
                                   "GaussianNormalizer"],
    "copulas.multivariate.gaussian": ["GaussianMultivariate"],
    "copulas.univariate.beta": ["BetaUnivariate"],
    "copulas.univariate.gamma": ["GammaUnivariate"],
    "copulas.univariate.gaussian": ["GaussianUnivariate"],
    "copulas.univariate.gaussian_kde": ["GaussianKDE"],
    "copulas.univariate.log_laplace": ["LogLaplace"],
    "copulas.univariate.student_t": ["StudentTUnivariate"],
    "copulas.univariate.truncated_gaussian": ["TruncatedGaussian"],
    "copulas.univariate.uniform": ["UniformUnivariate"],
    "copulas.univariate.base": ["Univariate"],
    "ctgan.synthesizers.ctgan": ["CTGAN", "Generator", "Residual"],
    "ctgan.data_sampler": ["DataSampler"],
    "ctgan.data_transformer": ["DataTransformer", "ColumnTransformInfo", "SpanInfo"],
    "sklearn.mixture._bayesian_mixture": ["BayesianGaussianMixture"],
    "torch.nn.modules.container": ["Sequential"],
    "torch.nn.modules.linear": ["Linear"],
    "torch.nn.modules.batchnorm": ["BatchNorm1d"],
    "torch.nn.modules.activation": ["ReLU", "LeakyReLU"],
    "torch.nn.modules.dropout": ["Dropout"],
}
ALLOWED = frozenset(f"{module}.{name}" for module, names in _CLASSES.items() for name in names)

# attributes only fitting uses, whose values cannot or must not be saved (see the docstring)
_LEFT_OUT = {"sdv.data_processing.data_processor.DataProcessor": {"_transformers_by_sdtype"},
             "ctgan.data_sampler.DataSampler": {"_rid_by_cat_cols"}}
# attributes in which copulas names distributions by class path, imported when it fits (never
# when it samples); a loaded file may name only allowed classes there all the same
_CLASS_PATH_KEYS = {"distribution", "_default_distribution", "__kwargs__", "candidates"}
_PLAIN = (str, bool, int, float, type(None))
_TENSOR_DTYPES = {"float64", "float32", "float16", "int64", "int32", "int16", "int8", "uint8",
                  "uint16", "uint32", "uint64", "bool"}


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

    def value(self, item: Any) -> Any:
        if type(item) in _PLAIN:
            return item
        if isinstance(item, np.generic):
            return {"t": "scalar", "dtype": item.dtype.str, "v": item.item()
                    if item.dtype.kind not in "mM" else int(item.view("i8"))}
        if isinstance(item, np.dtype):
            return {"t": "dtype", "v": item.str if item.kind != "O" else "object"}
        if isinstance(item, np.ndarray):
            return self._array(item)
        if isinstance(item, collections.OrderedDict):
            return {"t": "odict", "v": [[self.value(k), self.value(v)] for k, v in item.items()]}
        if isinstance(item, dict) and type(item) is dict:
            return {"t": "dict", "v": [[self.value(k), self.value(v)] for k, v in item.items()]}
        if isinstance(item, list) and type(item) is list:
            return {"t": "list", "v": [self.value(v) for v in item]}
        if isinstance(item, set | frozenset):
            return {"t": "set", "v": [self.value(v) for v in sorted(item, key=repr)]}
        if type(item) is tuple:
            return {"t": "tuple", "v": [self.value(v) for v in item]}
        if isinstance(item, tuple) and hasattr(item, "_fields"):  # a named tuple
            return {"t": "named", "class": self._allowed(type(item)),
                    "v": [self.value(v) for v in item]}
        if isinstance(item, pd.Timestamp):
            return {"t": "timestamp", "v": item.isoformat()}
        if isinstance(item, pd.DataFrame):
            return {"t": "frame", "index": self.value(item.index),
                    "columns": self.value(item.columns),
                    "data": [self.value(item.iloc[:, i]) for i in range(item.shape[1])]}
        if isinstance(item, pd.Series):
            return {"t": "series", "name": self.value(item.name), "index": self.value(item.index),
                    "dtype": self.value(item.dtype), "v": self._array(item.to_numpy())}
        if isinstance(item, pd.RangeIndex):
            return {"t": "range", "v": [item.start, item.stop, item.step],
                    "name": self.value(item.name)}
        if type(item) is pd.Index:
            return {"t": "index", "name": self.value(item.name), "dtype": self.value(item.dtype),
                    "v": self._array(item.to_numpy())}
        if isinstance(item, np.random.RandomState):
            return {"t": "random_state", "v": self.value(item.get_state())}
        if type(item) is random.Random:
            return {"t": "random", "v": self.value(item.getstate())}
        if isinstance(item, type):
            return {"t": "class", "v": self._allowed(item)}
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(item, torch.device):
            return {"t": "device", "v": str(item)}
        if torch is not None and isinstance(item, torch.Tensor):
            return {"t": "parameter" if isinstance(item, torch.nn.Parameter) else "tensor",
                    "grad": bool(item.requires_grad),
                    "v": self._array(item.detach().cpu().numpy())}
        return self._object(item)

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
        name = self._allowed(type(item))
        state = item.__getstate__() or {}
        if not isinstance(state, dict):
            raise TypeError(f"a {type(item).__name__} object cannot be saved")
        left_out = _LEFT_OUT.get(name, set())
        return {"t": "object", "class": name,
                "v": [[key, None if key in left_out else self.value(value)]
                      for key, value in state.items()]}

    @staticmethod
    def _allowed(cls: type) -> str:
        name = _qualified(cls)
        if name not in ALLOWED:
            raise TypeError(f"a {cls.__name__} object cannot be saved")
        return name


def to_plain(model: Any, prefix: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(plain data, named tensors) of a fitted SDV model; TypeError for anything not allowed."""
    writer = _Writer(prefix)
    data = {"versions": versions(), "model": writer.value(model)}
    return data, writer.tensors


def from_plain(data: dict[str, Any], tensors: dict[str, np.ndarray]) -> Any:
    """The SDV model `to_plain` wrote. ValueError when the file was written with other versions
    of the libraries, or holds a class or a value that is not allowed."""
    saved, installed = data.get("versions"), versions()
    if saved != installed:
        differ = ", ".join(name for name in LIBRARIES
                           if not isinstance(saved, dict) or saved.get(name) != installed[name])
        raise VersionMismatch(differ)
    return _Reader(tensors).value(data["model"])


class VersionMismatch(ValueError):
    """The model was saved with other versions of the libraries it is made of."""

    def __init__(self, libraries: str) -> None:
        super().__init__(libraries)
        self.libraries = libraries


class _Reader:
    """Rebuilds what `_Writer` wrote, creating only allowed classes."""

    def __init__(self, tensors: dict[str, np.ndarray]) -> None:
        self.tensors = tensors

    def value(self, item: Any) -> Any:
        if item is None or isinstance(item, str | bool | int | float):
            return item
        if not isinstance(item, dict):
            raise ValueError("not a saved value")
        tag, inner = item["t"], item.get("v")
        simple = {"list": lambda: [self.value(v) for v in inner],
                  "tuple": lambda: tuple(self.value(v) for v in inner),
                  "set": lambda: {self.value(v) for v in inner},
                  "dict": lambda: {self.value(k): self.value(v) for k, v in inner},
                  "odict": lambda: collections.OrderedDict(
                      (self.value(k), self.value(v)) for k, v in inner),
                  "timestamp": lambda: pd.Timestamp(str(inner)),
                  "dtype": lambda: np.dtype(_dtype_text(inner)),
                  "array": lambda: self._array(item),
                  "objects": lambda: self._objects(item),
                  "range": lambda: pd.RangeIndex(*[int(v) for v in inner],
                                                 name=self.value(item["name"])),
                  "index": lambda: pd.Index(self.value(inner), dtype=self.value(item["dtype"]),
                                            name=self.value(item["name"])),
                  "series": lambda: pd.Series(self.value(inner), index=self.value(item["index"]),
                                              dtype=self.value(item["dtype"]),
                                              name=self.value(item["name"])),
                  "frame": lambda: self._frame(item),
                  "scalar": lambda: self._scalar(item),
                  "random_state": lambda: _random_state(self.value(inner)),
                  "random": lambda: _random(self.value(inner)),
                  "class": lambda: _allowed_class(inner),
                  "named": lambda: _allowed_class(item["class"])(*self.value(
                      {"t": "list", "v": inner})),
                  "device": lambda: _torch().device(str(inner)),
                  "tensor": lambda: self._tensor(item, parameter=False),
                  "parameter": lambda: self._tensor(item, parameter=True),
                  "object": lambda: self._object(item)}
        if tag not in simple:
            raise ValueError("not a saved value")
        return simple[tag]()

    def _array(self, item: dict[str, Any]) -> np.ndarray:
        array = np.array(self.tensors[str(item["v"])])
        kind = item.get("as")
        return array.view(np.dtype(_dtype_text(kind))) if kind is not None else array

    def _objects(self, item: dict[str, Any]) -> np.ndarray:
        values = [self.value(v) for v in item["v"]]
        array = np.empty(len(values), dtype=object)
        array[:] = values
        return array.reshape([int(n) for n in item["shape"]])

    def _scalar(self, item: dict[str, Any]) -> np.generic:
        dtype = np.dtype(_dtype_text(item["dtype"]))
        if dtype.kind in "mM":
            return np.int64(item["v"]).view(dtype)
        return dtype.type(item["v"])

    def _frame(self, item: dict[str, Any]) -> pd.DataFrame:
        columns = self.value(item["columns"])
        data = [self.value(v) for v in item["data"]]
        frame = pd.concat(data, axis=1) if data else pd.DataFrame(index=self.value(item["index"]))
        frame.columns = columns
        return frame

    def _tensor(self, item: dict[str, Any], parameter: bool) -> Any:
        torch = _torch()
        tensor = torch.from_numpy(self._array(item["v"]))
        if parameter:
            return torch.nn.Parameter(tensor, requires_grad=bool(item["grad"]))
        return tensor.requires_grad_(bool(item["grad"]))

    def _object(self, item: dict[str, Any]) -> Any:
        cls = _allowed_class(item["class"])
        state = {str(key): self.value(value) for key, value in item["v"]}
        for key in _CLASS_PATH_KEYS & state.keys():
            _check_class_paths(state[key])
        made = cls.__new__(cls)
        setstate = getattr(cls, "__setstate__", None)
        if setstate is not None:
            setstate(made, state)
        else:
            made.__dict__.update(state)
        return made


def _dtype_text(text: Any) -> str:
    """A dtype's text from the file: plain numpy kinds only (never a class path)."""
    words = str(text)
    if words == "object" or (len(words) <= 24 and words[:1] in "<>|="
                              and all(c.isalnum() or c in "[]" for c in words[1:])):
        return words
    raise ValueError("not a saved dtype")


def _check_class_paths(value: Any) -> None:
    """Every text in `value` (a class path, or lists and mappings of them) names an allowed
    class; ValueError otherwise."""
    if isinstance(value, str) and value not in ALLOWED:
        raise ValueError("a class path that is not allowed")
    inner = value.values() if isinstance(value, dict) else value \
        if isinstance(value, list | tuple | set) else ()
    for item in inner:
        _check_class_paths(item)


def _allowed_class(name: Any) -> type:
    """An allowed class by its full name, from a module of the installed libraries."""
    if name not in ALLOWED:
        raise ValueError("a class that is not allowed")
    module, _, qualname = str(name).rpartition(".")
    return getattr(importlib.import_module(module), qualname)


def _random_state(state: Any) -> np.random.RandomState:
    made = np.random.RandomState()
    made.set_state(state)
    return made


def _random(state: Any) -> random.Random:
    made = random.Random()
    made.setstate(state)
    return made


def _torch() -> Any:
    import torch

    return torch
