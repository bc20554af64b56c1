"""Import rules between tabsynth's packages, read from the files with ast (nothing imported).

Imports go down the layout (docs: DESIGN "Layout"): progress.py is the ground floor; dp/ holds
all shared DP machinery and never reaches up to a model, a synthesizer or a front end; each
model package (dpgan/, autoregressive/) uses only dp/ and lower-level modules, never
synthesizers/ nor the other model. `python scripts/import_graph.py` prints the whole graph.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("import_graph", ROOT / "scripts/import_graph.py")
import_graph = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(import_graph)

DP_NEVER_IMPORTS = {"dpgan", "autoregressive", "synthesizers", "evaluation", "pipeline", "cli",
                    "jobs", "report", "release"}
# what a model package may import besides itself: lower-level modules only
MODEL_PACKAGES = ("dpgan", "autoregressive")
MODELS_MAY_IMPORT = {"dp", "progress", "schema", "errors", "device", "capacity", "constraints",
                     "parallel"}


def imports_of(package: str) -> dict[str, set[str]]:
    """{module of `package`: packages it imports (itself left out)}."""
    found = {}
    for module, targets in import_graph.module_imports(ROOT).items():
        if import_graph.package_of(module) == package and module != "tabsynth":
            found[module] = {import_graph.package_of(t) for t in targets} - {package}
    return found


def test_the_reader_sees_module_and_function_level_imports() -> None:
    modules = import_graph.module_imports(ROOT)
    assert "tabsynth.dp.noise" in modules["tabsynth.dpgan.trainer"]  # module level
    assert "tabsynth.autoregressive.private" in modules["tabsynth.synthesizers.autoregressive"]
    assert ("dp", "errors") in import_graph.package_graph(ROOT)


def test_progress_is_the_ground_floor() -> None:
    assert imports_of("progress") == {"tabsynth.progress": set()}


def test_dp_reaches_no_model_synthesizer_or_front_end() -> None:
    modules = imports_of("dp")
    assert "tabsynth.dp.start" in modules
    wrong = {m: sorted(t & DP_NEVER_IMPORTS) for m, t in modules.items() if t & DP_NEVER_IMPORTS}
    assert not wrong, wrong


@pytest.mark.parametrize("package", MODEL_PACKAGES)
def test_a_model_package_uses_only_dp_and_lower_levels(package: str) -> None:
    modules = imports_of(package)
    assert modules, package
    wrong = {m: sorted(t - MODELS_MAY_IMPORT) for m, t in modules.items()
             if t - MODELS_MAY_IMPORT}
    assert not wrong, wrong  # never synthesizers/, never the other model


def test_nothing_below_synthesizers_imports_them() -> None:
    for package in ("dp", *MODEL_PACKAGES, "progress"):
        assert not any("synthesizers" in t for t in imports_of(package).values()), package


def test_public_schema_parsing_needs_neither_torch_nor_opacus() -> None:
    check = ("import sys, tabsynth.dp.public; "
             "assert 'torch' not in sys.modules and 'opacus' not in sys.modules")
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    subprocess.run([sys.executable, "-c", check], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": path})


def test_the_pages_imports_load_no_model_library() -> None:
    """What app.py imports (pipeline, jobs, export, charts, report, the registry) must not
    load torch, Opacus or SDV: the page only lays out widgets; models load in the worker."""
    page = ast_imports_of_app()
    check = ("import sys; " + "; ".join(f"import {m}" for m in page)
             + "; loaded = [m for m in ('torch', 'opacus', 'sdv') if m in sys.modules]; "
             "assert not loaded, loaded")
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    subprocess.run([sys.executable, "-c", check], check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": path})


def ast_imports_of_app() -> list[str]:
    """The tabsynth modules app.py imports at module level."""
    import ast

    tree = ast.parse((ROOT / "app.py").read_text(encoding="utf-8"))
    found = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tabsynth"):
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("tabsynth")]
    assert "tabsynth.pipeline" in found
    return found


def documented_layers() -> list[set[str]]:
    """The layer table of ARCHITECTURE.md: packages per layer, bottom first."""
    layers = []
    for line in (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            assert int(cells[0]) == len(layers), line
            layers.append({p.strip() for p in cells[1].split(",")})
    return layers


def test_every_import_goes_down_the_documented_layers() -> None:
    layers = documented_layers()
    layer_of = {package: i for i, packages in enumerate(layers) for package in packages}
    modules = import_graph.module_imports(ROOT)
    packages = {import_graph.package_of(m) for m in modules}
    assert packages <= set(layer_of), f"not in ARCHITECTURE.md: {packages - set(layer_of)}"
    upward = sorted(
        f"{module} -> {target}" for module, targets in modules.items() for target in targets
        if (source := import_graph.package_of(module)) != (to := import_graph.package_of(target))
        and layer_of[to] >= layer_of[source])
    assert not upward, upward
