"""Print which tabsynth packages import which: one "a -> b  count" line per pair.

Usage: python scripts/import_graph.py [ROOT]   (ROOT: a checkout holding tabsynth/; default:
this one). Reads the files with ast, so nothing is imported; function-level imports count too.
A package is a folder under tabsynth/ (dp, dpgan, ...) or a top-level module (cli, progress).
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

PACKAGE = "tabsynth"


def module_name(path: Path, root: Path) -> str:
    """tabsynth/dp/start.py -> tabsynth.dp.start; tabsynth/dp/__init__.py -> tabsynth.dp."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path) -> list[str]:
    """Every tabsynth module `path` imports, at module level or inside functions."""
    name = module_name(path, root)
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = name.split(".")
                anchor = anchor[:len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            # "from tabsynth.dp import start" imports the module tabsynth.dp.start
            submodules = [f"{base}.{alias.name}" for alias in node.names
                          if _is_module(root, f"{base}.{alias.name}")]
            found += submodules if len(submodules) == len(node.names) else [base, *submodules]
    return [m for m in found if m == PACKAGE or m.startswith(PACKAGE + ".")]


def _is_module(root: Path, module: str) -> bool:
    path = root / Path(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def module_imports(root: Path) -> dict[str, list[str]]:
    """{module: [tabsynth modules it imports]} for every module under root/tabsynth."""
    return {module_name(path, root): imported_modules(path, root)
            for path in sorted((root / PACKAGE).rglob("*.py"))}


def package_of(module: str) -> str:
    """tabsynth.dp.start -> dp; tabsynth.cli -> cli; tabsynth -> tabsynth."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_graph(root: Path) -> Counter[tuple[str, str]]:
    """(importing package, imported package) -> number of import lines, self-imports left out."""
    graph: Counter[tuple[str, str]] = Counter()
    for module, targets in module_imports(root).items():
        for target in targets:
            pair = (package_of(module), package_of(target))
            if pair[0] != pair[1]:
                graph[pair] += 1
    return graph


def main(argv: list[str]) -> None:
    root = Path(argv[1]) if len(argv) > 1 else Path(__file__).resolve().parent.parent
    for (source, target), count in sorted(package_graph(root).items()):
        print(f"{source} -> {target}  {count}")


if __name__ == "__main__":
    main(sys.argv)
