"""The pieces of a model's description shared by several methods, as plain data and back:
column domains, declared public columns, the privacy claim and a network's weights.

Each `*_from_*` builds objects of known classes from data only; a key the class does not take
raises TypeError, which `Synthesizer.load` reports as a damaged file.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from tabsynth.dp.claim import PrivacyClaim
from tabsynth.dp.domain import ColumnDomain, Domain
from tabsynth.dp.public import PublicColumn

if TYPE_CHECKING:
    import torch


def domain_to_dict(domain: Domain) -> dict[str, Any]:
    return asdict(domain)


def domain_from_dict(data: dict[str, Any]) -> Domain:
    values = dict(data)
    columns = [ColumnDomain(**column) for column in values.pop("columns")]
    return Domain(columns=columns, **values)


def public_to_dict(public: dict[str, PublicColumn]) -> dict[str, Any]:
    return {name: asdict(column) for name, column in public.items()}


def public_from_dict(data: dict[str, Any] | None) -> dict[str, PublicColumn]:
    public = {}
    for name, entry in (data or {}).items():
        column = PublicColumn(**entry)
        if column.bounds is not None:
            column.bounds = (float(column.bounds[0]), float(column.bounds[1]))
        public[name] = column
    return public


def claim_to_dict(claim: PrivacyClaim | None) -> dict[str, Any] | None:
    return None if claim is None else {f.name: getattr(claim, f.name) for f in fields(claim)}


def claim_from_dict(data: dict[str, Any] | None) -> PrivacyClaim | None:
    if data is None:
        return None
    values = dict(data)
    for item in fields(PrivacyClaim):  # the JSON's lists back to the claim's tuples
        if isinstance(values.get(item.name), list):
            values[item.name] = tuple(values[item.name])
    known = {item.name for item in fields(PrivacyClaim)}
    return PrivacyClaim(**{k: v for k, v in values.items() if k in known})


def module_tensors(module: torch.nn.Module, prefix: str) -> dict[str, np.ndarray]:
    """A network's state (weights, and buffers such as batch-norm statistics) as CPU arrays."""
    return {f"{prefix}.{name}": value.detach().cpu().numpy()
            for name, value in module.state_dict().items()}


def load_module_tensors(module: torch.nn.Module, tensors: dict[str, np.ndarray],
                        prefix: str) -> None:
    """Load `module`'s state from the file's tensors under `prefix`; every tensor must match
    (RuntimeError otherwise)."""
    import torch

    start = prefix + "."
    state = {name[len(start):]: torch.from_numpy(np.array(value))
             for name, value in tensors.items() if name.startswith(start)}
    module.load_state_dict(state, strict=True)
