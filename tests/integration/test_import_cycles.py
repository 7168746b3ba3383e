"""No module of ours imports itself back through others.

The import graph of ``ui``, ``sync``, ``storage`` and ``mar_desktop`` (built by grimp, the
library behind import-linter) counts every import: at module level, inside functions (the lazy
imports kept for start-up speed) and for type checking only. A loop among them must not exist,
whatever keeps it from failing at run time. Layers keep loops between packages out already
(``lint-imports``); this check covers the modules within one package.
"""

from __future__ import annotations

import grimp

PACKAGES = ("ui", "sync", "storage", "mar_desktop")


def import_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """One loop per import that closes one: ``[a, b, …, a]`` where ``a`` imports ``b``."""
    loops: list[list[str]] = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                loops.append([importer, *back])
    return loops


def test_no_module_of_ours_imports_itself_back() -> None:
    graph = grimp.build_graph(*PACKAGES)
    assert {m.split(".")[0] for m in graph.modules} == set(PACKAGES)
    assert len(graph.modules) > 150, "the graph lost most of the tree"
    assert import_cycles(graph) == []


def test_a_loop_through_a_lazy_import_is_found() -> None:
    """The check itself: a loop closed by any import is reported with its whole path."""
    graph = grimp.ImportGraph()
    for module in ("ui", "ui.app", "ui.startup", "ui.demo", "ui.theme"):
        graph.add_module(module)
    graph.add_import(importer="ui.app", imported="ui.startup")
    graph.add_import(importer="ui.startup", imported="ui.demo")
    graph.add_import(importer="ui.startup", imported="ui.theme")
    assert import_cycles(graph) == []
    graph.add_import(importer="ui.demo", imported="ui.app")  # e.g. inside a function
    assert ["ui.app", "ui.startup", "ui.demo", "ui.app"] in import_cycles(graph)
