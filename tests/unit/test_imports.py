"""The product's import graph, read with `ast`: no cycle between qbsync modules, and no import of
the sandbox.

Every import statement counts: one inside a function, and one under `if TYPE_CHECKING:` too (a
cycle of type names is still two modules that cannot be read apart).
"""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.paths import REPO_ROOT

MIDDLEWARE = REPO_ROOT / "middleware"


def modules(root: Path, package: str) -> dict[str, Path]:
    """Every module of `package` under `root`, by dotted name (a package by its own name)."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imported_names(module: str, path: Path) -> Iterator[str]:
    """The dotted names `module` imports: `import a.b` gives a.b, `from a import b` a.b (a
    submodule, or a name defined in a), relative imports resolved against the module."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Each module of `package` → the modules of `package` it imports."""
    known = modules(root, package)
    return {
        module: {name for name in imported_names(module, path) if name in known} - {module}
        for module, path in known.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (first module repeated at the end), or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return list(reversed(error.args[1]))
    return None


def test_qbsync_has_no_import_cycle() -> None:
    graph = import_graph(MIDDLEWARE, "qbsync")
    # The graph holds what the modules import, also inside functions (services builds lazily).
    assert {"qbsync.services", "qbsync.webhooks.views"} <= graph["qbsync.app"]
    assert {"qbsync.store", "qbsync.salesforce.client"} <= graph["qbsync.services"]
    assert find_cycle(graph) is None, " → ".join(find_cycle(graph) or [])


def test_no_qbsync_module_imports_the_sandbox() -> None:
    offenders = sorted(
        f"{module} imports {name}"
        for module, path in modules(MIDDLEWARE, "qbsync").items()
        for name in imported_names(module, path)
        if name.split(".")[0] == "qbsync_sandbox" or name.startswith("qbsync.sandbox")
    )
    assert offenders == []


# --- the checks can fail ----------------------------------------------------------------------


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


@pytest.mark.parametrize(
    "b_imports_a",
    [
        "import cyclic.a\n",
        "def late():\n    from cyclic import a\n",  # inside a function
        "from .. import a\n",  # relative, the module from its package
        "from ..a import helper\n",  # relative, a name from the module
    ],
    ids=["absolute", "in-a-function", "relative-package", "relative-name"],
)
def test_a_cycle_is_found(tmp_path: Path, b_imports_a: str) -> None:
    root = write(
        tmp_path,
        {
            "cyclic/__init__.py": "",
            "cyclic/a.py": "from cyclic.sub import b\n\ndef helper():\n    pass\n",
            "cyclic/sub/__init__.py": "",
            "cyclic/sub/b.py": b_imports_a,
        },
    )
    cycle = find_cycle(import_graph(root, "cyclic"))
    assert cycle is not None
    assert set(cycle) == {"cyclic.a", "cyclic.sub.b"} and cycle[0] == cycle[-1]


def test_a_cycle_through_type_checking_imports_is_found(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "typed/__init__.py": "",
            "typed/a.py": "import typed.b\n",
            "typed/b.py": (
                "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import typed.a\n"
            ),
        },
    )
    assert import_graph(root, "typed")["typed.b"] == {"typed.a"}
    assert set(find_cycle(import_graph(root, "typed")) or ()) == {"typed.a", "typed.b"}


def test_an_import_of_the_sandbox_is_found(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "product/__init__.py": "",
            "product/cli.py": "def demo():\n    from qbsync_sandbox.stack import Stack\n",
        },
    )
    names = set(imported_names("product.cli", root / "product" / "cli.py"))
    assert "qbsync_sandbox.stack" in names
