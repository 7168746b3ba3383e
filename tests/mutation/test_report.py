"""The mutation report's classification: message text, equivalents, identities and scores."""

from __future__ import annotations

import ast
import json
import textwrap
from pathlib import Path

import pytest

from tests.mutation.report import (
    Kind,
    Status,
    change_between,
    classify,
    function_name,
    is_message_only,
    load_equivalents,
    main,
    mutant_identity,
    mutants_of,
    render_table,
    review_notes,
    status_of,
    summarise,
)

ORIGINAL = """
def check(x, limit):
    if x > limit:
        raise RuleViolation("Too many: " + str(limit), code="too_many")
    if not x:
        raise _unreadable("the scan is empty")
    alert = _alert("clock", related=[x], detail=f"about {x} minute(s)")
    return "kept"
"""


def function(source: str) -> ast.FunctionDef:
    node = ast.parse(textwrap.dedent(source)).body[0]
    assert isinstance(node, ast.FunctionDef)
    return node


def mutated(old: str, new: str) -> ast.FunctionDef:
    assert old in ORIGINAL
    return function(ORIGINAL.replace(old, new, 1))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"Too many: "', '"XXToo many: XX"'),  # raised message text
        ('"Too many: "', "None"),
        ("str(limit)", "str(None)"),  # inside the message expression
        ('"Too many: " + str(limit), ', ""),  # message argument dropped
        ('"the scan is empty"', '"XXthe scan is emptyXX"'),  # a MESSAGE_CALLS argument
        ('detail=f"about {x} minute(s)"', 'detail=f"XXabout {x} minute(s)XX"'),
        (', detail=f"about {x} minute(s)"', ""),  # a MESSAGE_KEYWORDS argument dropped
    ],
)
def test_message_text_changes_are_message_only(old: str, new: str) -> None:
    assert is_message_only(function(ORIGINAL), mutated(old, new))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('code="too_many"', 'code="XXtoo_manyXX"'),  # the stable code is behaviour
        ("x > limit", "x >= limit"),
        ("if not x", "if x"),
        ('return "kept"', 'return "XXkeptXX"'),  # a returned string
        ('"clock"', '"XXclockXX"'),  # a positional argument of an ordinary call
        ("related=[x]", "related=None"),
        ("RuleViolation(", "ValueError("),  # another exception type
    ],
)
def test_other_changes_are_behaviour(old: str, new: str) -> None:
    assert not is_message_only(function(ORIGINAL), mutated(old, new))


def test_a_function_without_a_difference_is_not_message_only() -> None:
    assert not is_message_only(function(ORIGINAL), function(ORIGINAL))


def test_change_lists_only_the_changed_lines() -> None:
    change = change_between(function(ORIGINAL), mutated("x > limit", "x >= limit"))
    assert change.removed == ("if x > limit:",)
    assert change.added == ("if x >= limit:",)
    assert change.describe() == "- if x > limit:\n+ if x >= limit:"


def test_identity_depends_on_function_and_change_not_on_position() -> None:
    change = change_between(function(ORIGINAL), mutated("x > limit", "x >= limit"))
    moved = function("\n\n# a comment\n" + ORIGINAL)
    same = change_between(moved, function(ORIGINAL.replace("x > limit", "x >= limit")))
    assert mutant_identity("check", change) == mutant_identity("check", same)
    assert mutant_identity("check", change) != mutant_identity("other", change)
    other = change_between(function(ORIGINAL), mutated("x > limit", "x < limit"))
    assert mutant_identity("check", change) != mutant_identity("check", other)
    assert len(mutant_identity("check", change)) == 12


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (None, Status.NOT_RUN),
        (0, Status.SURVIVED),
        (33, Status.SURVIVED),  # no test reached the mutant
        (5, Status.SURVIVED),
        (1, Status.KILLED),
        (3, Status.KILLED),
        (36, Status.KILLED),  # timeout
        (-11, Status.KILLED),  # the worker crashed
    ],
)
def test_status_of_exit_codes(code: int | None, status: Status) -> None:
    assert status_of(code) is status


def test_function_names_of_functions_and_methods() -> None:
    assert function_name("mar_desktop.permissions.x_allowed__mutmut_3") == "allowed"
    assert function_name("mar_desktop.clinical.rules.x__blank__mutmut_1") == "_blank"
    name = "mar_desktop.permissions.xǁPrincipalǁunit_scope__mutmut_12"
    assert function_name(name) == "Principal.unit_scope"


EQUIVALENT = """
[[equivalent]]
module = "m"
function = "check"
mutant = "{identity}"
change = "- if x > limit:"
reason = "x never equals limit"
"""


def _identity_of(old: str, new: str) -> str:
    return mutant_identity("check", change_between(function(ORIGINAL), mutated(old, new)))


def test_a_listed_mutant_is_equivalent_with_its_reason() -> None:
    listed = load_equivalents(EQUIVALENT.format(identity=_identity_of("x > limit", "x >= limit")))
    kinds = {}
    for module in ("m", "other"):
        mutant = classify(
            module=module,
            name=f"{module}.x_check__mutmut_7",
            exit_code=0,
            original=function(ORIGINAL),
            mutated=mutated("x > limit", "x >= limit"),
            equivalents=listed,
        )
        kinds[module] = (mutant.kind, mutant.status, mutant.reason)
    assert kinds == {
        "m": (Kind.EQUIVALENT, Status.SURVIVED, "x never equals limit"),
        "other": (Kind.BEHAVIOUR, Status.SURVIVED, ""),  # listed for another module only
    }


@pytest.mark.parametrize(
    "text",
    [
        '[[equivalent]]\nmodule = "m"\nfunction = "f"\nmutant = "abc"\n',
        '[[equivalent]]\nmodule = "m"\nfunction = "f"\nmutant = "abc"\nreason = "  "\n',
    ],
)
def test_an_equivalent_without_a_reason_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="reason"):
        load_equivalents(text)


def test_score_leaves_out_message_only_and_equivalent_mutants(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "x_check__mutmut_1": ("x > limit", "x >= limit", 1),  # killed
            "x_check__mutmut_2": ("x > limit", "x < limit", 0),  # behaviour survivor
            "x_check__mutmut_3": ('"Too many: "', '"XX"', 0),  # message only
            "x_check__mutmut_4": ("if not x", "if x", None),  # not run
        },
    )
    found = mutants_of("pkg/mod.py", root, {})
    row = summarise("pkg.mod", found)
    assert (row.mutants, row.killed, row.survived, row.message, row.not_run) == (4, 1, 2, 1, 1)
    assert row.counted == 2
    assert row.score == 50.0
    assert "| `pkg.mod` | 4 (1 not run) | 1 | 2 | 1 | 0 | 50.0 % |" in render_table([row])


def test_check_fails_on_a_behaviour_survivor_only(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"x_check__mutmut_1": ('"Too many: "', '"XX"', 0)})
    assert main(["--check", "--root", str(root)]) == 0
    root = _tree(tmp_path, {"x_check__mutmut_2": ("x > limit", "x < limit", 0)})
    assert main(["--check", "--root", str(root)]) == 1
    assert main(["--root", str(root)]) == 0


def test_a_module_mutmut_has_not_seen_has_no_mutants(tmp_path: Path) -> None:
    assert mutants_of("pkg/none.py", tmp_path, {}) == []
    assert summarise("pkg.none", []).score is None


def _tree(tmp_path: Path, mutants: dict[str, tuple[str, str, int | None]]) -> Path:
    """A repository with ``pkg/mod.py`` as the only core module and mutmut's files for it."""
    root = tmp_path / "repo"
    source = root / "mutants" / "pkg" / "mod.py"
    source.parent.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text('[tool.mutmut]\nonly_mutate = ["pkg/mod.py"]\n')
    parts = [ORIGINAL.replace("def check", "def x_check__mutmut_orig")]
    for name, (old, new, _) in mutants.items():
        parts.append(ORIGINAL.replace(old, new, 1).replace("def check", f"def {name}"))
    source.write_text("\n".join(parts))
    codes = {f"pkg.mod.{name}": code for name, (_, _, code) in mutants.items()}
    meta = source.with_name("mod.py.meta")
    meta.write_text(json.dumps({"exit_code_by_key": codes}))
    return root


def test_identity_tells_apart_the_same_change_in_two_places() -> None:
    source = """
def loop(items):
    for item in items:
        if item is None:
            continue
        if item < 0:
            continue
        use(item)
"""
    first = change_between(function(source), function(source.replace("continue", "break", 1)))
    second = change_between(
        function(source), function(source[::-1].replace("eunitnoc", "kaerb", 1)[::-1])
    )
    assert first.removed == second.removed == ("continue",)
    assert mutant_identity("loop", first) != mutant_identity("loop", second)


def test_an_exception_built_to_be_raised_later_carries_message_text() -> None:
    source = """
def build(detail):
    return RuleViolation(f"could not read: {detail}", code="unreadable")
"""
    changed = source.replace('f"could not read: {detail}"', "None")
    assert is_message_only(function(source), function(changed))
    recoded = source.replace('code="unreadable"', 'code="XX"')
    assert not is_message_only(function(source), function(recoded))


def test_only_limits_the_check_to_matching_mutants(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "x_check__mutmut_1": ("x > limit", "x >= limit", 1),
            "x_check__mutmut_2": ("x > limit", "x < limit", 0),
        },
    )
    assert main(["--check", "--root", str(root), "--only", "pkg.mod.x_check__mutmut_1"]) == 0
    assert main(["--check", "--root", str(root), "--only", "pkg.mod.x_check*"]) == 1


def test_review_notes_name_killed_and_stale_equivalents() -> None:
    identity = _identity_of("x > limit", "x >= limit")
    listed = load_equivalents(
        EQUIVALENT.format(identity=identity)
        + '\n[[equivalent]]\nmodule = "m"\nfunction = "gone"\nmutant = "abc"\nreason = "r"\n'
    )
    killed = classify(
        module="m",
        name="m.x_check__mutmut_1",
        exit_code=1,
        original=function(ORIGINAL),
        mutated=mutated("x > limit", "x >= limit"),
        equivalents=listed,
    )
    assert review_notes([killed], listed, complete=True) == [
        f"Listed equivalent but killed, remove it: m check {identity}",
        "Listed equivalent but not generated any more: m gone abc",
    ]
    assert review_notes([killed], listed, complete=False) == [
        f"Listed equivalent but killed, remove it: m check {identity}"
    ]
