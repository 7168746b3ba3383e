"""docs/roles.md prints exactly the role × permission table the tests pin (so the documented
matrix cannot drift from the code)."""

from __future__ import annotations

from pathlib import Path

from mar_desktop.model import Role
from mar_desktop.permissions import Permission
from tests.mar_desktop.test_permissions import GRANTS


def test_the_docs_print_exactly_this_table() -> None:
    text = (Path(__file__).parents[1] / "docs" / "roles.md").read_text(encoding="utf-8")
    table = text.split("<!-- role-matrix:start -->")[1].split("<!-- role-matrix:end -->")[0]
    lines = [line for line in table.strip().splitlines() if line.startswith("| `")]
    header = table.strip().splitlines()[0]
    roles = [Role(cell.strip(" `")) for cell in header.split("|")[2:-1]]
    assert set(roles) == set(Role)
    printed = {}
    for line in lines:
        cells = [c.strip() for c in line.split("|")[1:-1]]
        permission = Permission(cells[0].strip("`"))
        printed[permission] = frozenset(r for r, c in zip(roles, cells[1:], strict=True)
                                        if c == "yes")
    assert printed == GRANTS
