"""Import rules between tabsynth's packages (read from the files with ast, nothing imported)."""

from __future__ import annotations

import subprocess
import sys


def test_public_schema_parsing_needs_neither_torch_nor_opacus() -> None:
    check = ("import sys, tabsynth.dp.public; "
             "assert 'torch' not in sys.modules and 'opacus' not in sys.modules")
    subprocess.run([sys.executable, "-c", check], check=True)
