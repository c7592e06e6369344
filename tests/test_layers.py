"""The layout is the architecture: each layer of acams_db imports only the layers below it (README, How it works)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import REPOSITORY

PACKAGE = REPOSITORY / "acams_db"
# Higher numbers sit above; a package imports its own modules and those of lower layers only.
LAYERS = {"cli": 5, "operations": 4, "migrations": 3, "questions": 3, "sql": 2, "runtime": 1}
FOUNDATION = 0  # settings.py, database_url.py, errors.py, contract.py, caller.py


def layer_of(module: str) -> tuple[str, int]:
    """The package (or foundation module) of `acams_db.x.y`, and its layer."""
    part = module.split(".")[1] if module.count(".") else ""
    return (part, LAYERS[part]) if part in LAYERS else (part, FOUNDATION)


def imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("acams_db"):
            found += [node.module] if node.module != "acams_db" else [f"acams_db.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("acams_db.")]
    return found


def test_no_module_imports_a_layer_above_its_own_or_a_sibling_package() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__main__.py":  # `python -m acams_db`, the program itself, above every layer
            continue
        module = ".".join(path.relative_to(REPOSITORY).with_suffix("").parts)
        package, level = layer_of(module)
        for imported in imports(path):
            other, other_level = layer_of(imported)
            if other != package and (other_level > level or (other_level == level and level != FOUNDATION)):
                wrong.append(f"{module} imports {imported}")
    assert wrong == []


def test_no_module_is_longer_than_400_lines() -> None:
    long = {
        str(p.relative_to(REPOSITORY)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


def test_environment_names_are_spelled_only_in_the_policy() -> None:
    """What an environment allows is a capability of settings.Environment; no code elsewhere names one."""
    names = {"development", "staging", "production"}
    spelled = [
        f"{path.relative_to(REPOSITORY)}:{node.lineno}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.name != "settings.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value in names
    ]
    assert spelled == []
