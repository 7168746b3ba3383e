"""The import contracts in ``pyproject.toml`` break when they should, and no import runs in a loop.

Each contract test copies the four packages and ``pyproject.toml`` into a temporary folder, adds
one throwaway module there and runs ``lint-imports`` on the copy, so the real tree is never
touched. The cycle test reads the real tree's import graph with grimp (import-linter's engine).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mar_desktop", "storage", "sync", "ui")

SERVER_ALONE = "The server and the wire format import no storage, ui or tablet-side sync"
TABLET_NO_SERVER = "Tablet-side sync never imports the server"
SCREENS_FACADE = "Screens, admin screens and widgets import no storage or sync"

@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the packages and the import-linter configuration, to add violations to."""
    root = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


_LINT = "from importlinter.cli import lint_imports_command as c; c()"


def _lint(tree: Path) -> tuple[int, dict[str, str]]:
    """Runs lint-imports on ``tree``: its exit status and each contract's KEPT/BROKEN."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    done = subprocess.run(
        [sys.executable, "-c", _LINT, "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    status: dict[str, str] = {}
    for line in done.stdout.splitlines():
        for word in ("KEPT", "BROKEN"):
            if f" {word}" in line:
                status[line.split(f" {word}")[0].strip()] = word
    return done.returncode, status


@pytest.fixture
def throwaway(tree: Path) -> Iterator[dict[str, str]]:
    """Write modules (path under the copy -> source) into the copy; removed afterwards."""
    written: dict[str, str] = {}
    yield written
    for relative in written:
        (tree / relative).unlink(missing_ok=True)


def _write(tree: Path, throwaway: dict[str, str], modules: dict[str, str]) -> None:
    for relative, source in modules.items():
        (tree / relative).write_text(source)
        throwaway[relative] = source


def test_the_copy_keeps_every_contract(tree: Path) -> None:
    code, status = _lint(tree)
    assert code == 0, status
    assert status[SERVER_ALONE] == status[TABLET_NO_SERVER] == status[SCREENS_FACADE] == "KEPT"


@pytest.mark.parametrize(
    "modules",
    [
        pytest.param({"sync/server/_throwaway.py": "import storage.database\n"}, id="storage"),
        pytest.param({"sync/server/_throwaway.py": "import ui.theme\n"}, id="ui"),
        pytest.param({"sync/server/_throwaway.py": "import sync.client\n"}, id="tablet-sync"),
        pytest.param(
            {
                "sync/_throwaway_tablet.py": "X = 1\n",
                "sync/server/_throwaway.py": "import sync._throwaway_tablet\n",
            },
            id="a-new-tablet-module",
        ),
        pytest.param(
            {"sync/_throwaway.py": "import storage.database\n"}
            | {"sync/server/_throwaway.py": "import sync._throwaway\n"},
            id="storage-through-a-tablet-module",
        ),
        pytest.param(
            {"sync/protocol.py": (ROOT / "sync/protocol.py").read_text() + "import storage\n"},
            id="the-shared-protocol-importing-storage",
        ),
    ],
)
def test_the_server_importing_outside_the_core_and_the_wire_format_breaks_its_contract(
    tree: Path, throwaway: dict[str, str], modules: dict[str, str]
) -> None:
    originals = {r: (tree / r).read_text() for r in modules if (tree / r).exists()}
    _write(tree, throwaway, modules)
    try:
        code, status = _lint(tree)
    finally:
        for relative, text in originals.items():
            (tree / relative).write_text(text)
            throwaway.pop(relative)
    assert code != 0
    assert status[SERVER_ALONE] == "BROKEN"


@pytest.mark.parametrize(
    "importer", ["sync/_throwaway.py", "sync/_throwaway_pkg/__init__.py"], ids=["module", "package"]
)
def test_tablet_side_sync_importing_the_server_breaks_its_contract(
    tree: Path, throwaway: dict[str, str], importer: str
) -> None:
    (tree / importer).parent.mkdir(exist_ok=True)
    _write(tree, throwaway, {importer: "from sync.server import core\n"})
    code, status = _lint(tree)
    assert code != 0
    assert status[TABLET_NO_SERVER] == "BROKEN"
    assert status[SERVER_ALONE] == "KEPT"


@pytest.mark.parametrize(
    ("importer", "source"),
    [
        pytest.param("ui/screens/_throwaway.py", "from storage import local_store\n",
                     id="screen-storage"),
        pytest.param("ui/admin/_throwaway.py", "import storage.report_queries\n",
                     id="admin-storage"),
        pytest.param("ui/widgets/_throwaway.py", "from sync import engine\n", id="widget-sync"),
        pytest.param("ui/screens/_throwaway.py", "import ui.app\n",
                     id="screen-through-the-composition-root"),
    ],
)
def test_a_screen_reaching_storage_or_sync_breaks_its_contract(
    tree: Path, throwaway: dict[str, str], importer: str, source: str
) -> None:
    _write(tree, throwaway, {importer: source})
    code, status = _lint(tree)
    assert code != 0
    assert status[SCREENS_FACADE] == "BROKEN"


def test_the_ui_may_still_import_the_server(tree: Path, throwaway: dict[str, str]) -> None:
    """The demo's embedded server is started from ui: that import is allowed."""
    _write(tree, throwaway, {"ui/_throwaway.py": "from sync.server import core\n"})
    code, status = _lint(tree)
    assert code == 0, status


def test_the_layers_contract_ignores_no_import() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = [c for c in contracts if c["type"] == "layers"]
    assert layers
    assert all(not c.get("ignore_imports") for c in layers)


def _cycles(graph: grimp.ImportGraph) -> set[frozenset[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: set[frozenset[str]] = set()
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append(
                        (child, iter(sorted(graph.find_modules_directly_imported_by(child))))
                    )
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.add(frozenset(component))
    return found


def test_the_cycle_finder_finds_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "loop_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from loop_probe import b\n")
    (package / "b.py").write_text("from loop_probe import c\n")
    (package / "c.py").write_text("def f() -> None:\n    from loop_probe import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = grimp.build_graph("loop_probe", cache_dir=None)
    assert _cycles(graph) == {frozenset({"loop_probe.a", "loop_probe.b", "loop_probe.c"})}


def test_no_module_imports_itself_through_others() -> None:
    """Every import counts, also one inside a function or under TYPE_CHECKING."""
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    assert len(graph.modules) > 150, "the graph lost most of the tree"
    cycles = _cycles(graph)
    assert not cycles, f"import cycles: {sorted(sorted(c) for c in cycles)}"
