"""Reads mutmut's results for the safety core and classifies every mutant.

``python -m tests.mutation.report`` prints one table row per module (mutants, killed, survived,
message-only, equivalent, score) and lists each surviving mutant with its class:

- ``behaviour``: the mutant changes what the code does; a test should kill it.
- ``message``: the mutant changes only the text of a raised exception (or of a call listed in
  ``MESSAGE_CALLS``); wording is checked by the UI and CLI tests, so it is left out of the score.
- ``equivalent``: listed in ``tests/mutation/equivalent.toml`` with the reason it cannot
  change behaviour.

The score of a module is killed / (mutants - message-only - equivalent), in per cent. A mutant
is named by its module, its function and a hash of the lines it changes
(:func:`mutant_identity`), which stays the same across runs while those lines do, unlike
mutmut's own numbering.

``--check`` exits 1 when a mutant that ran survived and is neither message-only nor listed
equivalent (the CI step); ``--only PATTERN…`` limits the report to mutmut names matching
those patterns. Reads ``mutants/`` of the repository (``--root``); writes nothing.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import fnmatch
import hashlib
import json
import sys
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[2]
EQUIVALENT_FILE = Path(__file__).with_name("equivalent.toml")

# Calls whose positional arguments are text for a person, not behaviour: the core's exceptions
# and the helper that builds one to raise later. Arguments of a call in a ``raise`` statement
# count as well, whatever it calls.
MESSAGE_CALLS = frozenset(
    {"_unreadable", "RuleViolation", "ValidationError", "PermissionDenied", "ValueError"}
)
# Keyword arguments that carry text for a person in any call (an alert's ``detail``).
MESSAGE_KEYWORDS = frozenset({"detail"})

_KILLED_CODES = frozenset({1, 3, 24, -24, 152, 255, 36, 37})  # failed, error, timeout, type check
_SURVIVED_CODES = frozenset({0, 5, 33})  # passed, or no test reached it


class Status(StrEnum):
    KILLED = "killed"
    SURVIVED = "survived"
    NOT_RUN = "not run"


class Kind(StrEnum):
    BEHAVIOUR = "behaviour"
    MESSAGE = "message"
    EQUIVALENT = "equivalent"


def status_of(exit_code: int | None) -> Status:
    """mutmut's exit code of a mutant's test run as a status: ``None`` (never run) is NOT_RUN;
    a failing, erroring or timed-out run KILLED; a passing run, or no test, SURVIVED; anything
    else (a crash of the worker) counts as KILLED, as mutmut's "suspicious"."""
    if exit_code is None:
        return Status.NOT_RUN
    if exit_code in _SURVIVED_CODES:
        return Status.SURVIVED
    return Status.KILLED


@dataclass(frozen=True, slots=True)
class Change:
    """The source lines a mutant removes and adds (unparsed, so formatting does not count), and
    the unchanged line just before them (two ``continue`` -> ``break`` mutants of one function
    differ only there)."""

    removed: tuple[str, ...]
    added: tuple[str, ...]
    context: str = ""

    def describe(self) -> str:
        return "\n".join(
            [*(f"- {line}" for line in self.removed), *(f"+ {line}" for line in self.added)]
        )


def change_between(original: ast.FunctionDef, mutant: ast.FunctionDef) -> Change:
    """The differing lines of two versions of one function, names and docstrings aside."""
    old = ast.unparse(_body(original)).splitlines()
    new = ast.unparse(_body(mutant)).splitlines()
    removed: list[str] = []
    added: list[str] = []
    context = ""
    for line in difflib.ndiff(old, new):
        if line.startswith("- "):
            removed.append(line[2:].strip())
        elif line.startswith("+ "):
            added.append(line[2:].strip())
        elif line.startswith("  ") and not removed and not added:
            context = line[2:].strip()
    return Change(tuple(removed), tuple(added), context)


def _body(function: ast.FunctionDef) -> ast.Module:
    return ast.Module(body=function.body, type_ignores=[])


def mutant_identity(function: str, change: Change) -> str:
    """A name for a mutant that stays stable while its function's changed lines do: 12 hex
    digits of the SHA-256 of the function's name and the change."""
    text = "\n".join([function, change.context, *change.removed, "=>", *change.added])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def is_message_only(original: ast.FunctionDef, mutant: ast.FunctionDef) -> bool:
    """Whether every difference between the two versions lies in message text: inside a
    positional argument of a call made in a ``raise`` statement (or of a ``MESSAGE_CALLS``
    call), in the list of those arguments itself (an argument dropped), or inside a
    ``MESSAGE_KEYWORDS`` keyword argument. A function without any difference is not
    message-only."""
    differences = list(_differences(_body(original), _body(mutant), in_message=False))
    return bool(differences) and all(differences)


def _differences(old: ast.AST, new: ast.AST, *, in_message: bool) -> Iterator[bool]:
    """Yields, for each place where ``new`` differs from ``old``, whether it is message text."""
    if type(old) is not type(new):
        yield in_message
        return
    if isinstance(old, ast.Constant) and isinstance(new, ast.Constant):
        if type(old.value) is not type(new.value) or old.value != new.value:
            yield in_message
        return
    raised = isinstance(old, ast.Raise)
    for name, old_value in ast.iter_fields(old):
        new_value = getattr(new, name, None)
        inside = in_message or (name == "args" and isinstance(old, ast.Call) and _message_call(old))
        if name == "keywords" and isinstance(old_value, list) and isinstance(new_value, list):
            yield from _keyword_differences(old_value, new_value, in_message=in_message)
        elif isinstance(old_value, list) and isinstance(new_value, list):
            if len(old_value) != len(new_value):
                yield inside
                continue
            for old_item, new_item in zip(old_value, new_value, strict=True):
                yield from _pair(old_item, new_item, inside=inside)
        elif raised and name == "exc" and isinstance(old_value, ast.Call):
            yield from _raised_call(old_value, new_value, in_message=in_message)
        else:
            yield from _pair(old_value, new_value, inside=in_message)


def _keyword_differences(
    old: list[ast.keyword], new: list[ast.keyword], *, in_message: bool
) -> Iterator[bool]:
    """A ``MESSAGE_KEYWORDS`` argument changed or dropped is message text; the others pair up
    in order."""
    old_text = [k for k in old if k.arg in MESSAGE_KEYWORDS]
    new_text = [k for k in new if k.arg in MESSAGE_KEYWORDS]
    if len(old_text) != len(new_text):
        yield True
    else:
        yield from _pair_lists(old_text, new_text, inside=True)
    yield from _pair_lists(
        [k for k in old if k.arg not in MESSAGE_KEYWORDS],
        [k for k in new if k.arg not in MESSAGE_KEYWORDS],
        inside=in_message,
    )


def _pair(old: object, new: object, *, inside: bool) -> Iterator[bool]:
    if isinstance(old, ast.AST) and isinstance(new, ast.AST):
        yield from _differences(old, new, in_message=inside)
    elif old != new:
        yield inside


def _raised_call(old: ast.Call, new: object, *, in_message: bool) -> Iterator[bool]:
    """Differences in the exception call of a ``raise``: its positional arguments are text."""
    if not isinstance(new, ast.Call):
        yield in_message
        return
    yield from _pair(old.func, new.func, inside=in_message)
    yield from _keyword_differences(old.keywords, new.keywords, in_message=in_message)
    yield from _pair_lists(old.args, new.args, inside=True)


def _pair_lists(old: Sequence[ast.AST], new: Sequence[ast.AST], *, inside: bool) -> Iterator[bool]:
    if len(old) != len(new):
        yield inside
        return
    for old_item, new_item in zip(old, new, strict=True):
        yield from _differences(old_item, new_item, in_message=inside)


def _message_call(call: ast.Call) -> bool:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id in MESSAGE_CALLS
    return isinstance(func, ast.Attribute) and func.attr in MESSAGE_CALLS


@dataclass(frozen=True, slots=True)
class Equivalent:
    module: str
    function: str
    mutant: str
    reason: str


def load_equivalents(text: str) -> dict[tuple[str, str, str], Equivalent]:
    """The checked-in list of equivalent mutants, keyed by (module, function, identity).

    Each ``[[equivalent]]`` table needs ``module``, ``function``, ``mutant`` (the identity) and
    a non-blank ``reason``; ``change`` is for the reader. Raises ``ValueError`` otherwise."""
    listed: dict[tuple[str, str, str], Equivalent] = {}
    for entry in tomllib.loads(text).get("equivalent", []):
        try:
            item = Equivalent(
                module=str(entry["module"]),
                function=str(entry["function"]),
                mutant=str(entry["mutant"]),
                reason=str(entry["reason"]),
            )
        except KeyError as missing:
            raise ValueError(f"equivalent mutant without {missing}: {entry}") from None
        if not item.reason.strip():
            raise ValueError(f"equivalent mutant without a reason: {entry}")
        listed[(item.module, item.function, item.mutant)] = item
    return listed


@dataclass(frozen=True, slots=True)
class Mutant:
    module: str
    function: str
    name: str  # mutmut's, for `mutmut show NAME`; not stable across runs
    identity: str
    change: Change
    status: Status
    kind: Kind
    reason: str = ""


def classify(
    *,
    module: str,
    name: str,
    exit_code: int | None,
    original: ast.FunctionDef,
    mutated: ast.FunctionDef,
    equivalents: Mapping[tuple[str, str, str], Equivalent],
) -> Mutant:
    """One mutant's status and kind: EQUIVALENT when listed, else MESSAGE when only message
    text changes, else BEHAVIOUR."""
    function = function_name(name)
    change = change_between(original, mutated)
    identity = mutant_identity(function, change)
    listed = equivalents.get((module, function, identity))
    if listed is not None:
        kind, reason = Kind.EQUIVALENT, listed.reason
    elif is_message_only(original, mutated):
        kind, reason = Kind.MESSAGE, ""
    else:
        kind, reason = Kind.BEHAVIOUR, ""
    return Mutant(module, function, name, identity, change, status_of(exit_code), kind, reason)


def function_name(mutant_name: str) -> str:
    """``pkg.mod.xǁClassǁmethod__mutmut_3`` -> ``Class.method``; ``pkg.mod.x_func__mutmut_3``
    -> ``func``."""
    mangled = mutant_name.rpartition(".")[2].partition("__mutmut_")[0]
    if "ǁ" in mangled:
        _, cls, method = mangled.split("ǁ")
        return f"{cls}.{method}"
    return mangled.removeprefix("x_")


def _generated_name(mutant_name: str) -> tuple[str, str]:
    short = mutant_name.rpartition(".")[2]
    return short.partition("__mutmut_")[0] + "__mutmut_orig", short


def mutants_of(
    module_path: str, root: Path, equivalents: Mapping[tuple[str, str, str], Equivalent]
) -> list[Mutant]:
    """Every mutant of one source file (``mar_desktop/x.py``) that mutmut generated under
    ``root / "mutants"``, classified; empty when mutmut has not generated them."""
    source = root / "mutants" / module_path
    meta = source.with_name(source.name + ".meta")
    if not meta.exists():
        return []
    exit_codes: dict[str, int | None] = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
    functions = {
        node.name: node
        for node in ast.walk(ast.parse(source.read_text("utf-8")))
        if isinstance(node, ast.FunctionDef)
    }
    module = module_path.removesuffix(".py").replace("/", ".")
    found: list[Mutant] = []
    for name, code in sorted(exit_codes.items()):
        original, mutated = _generated_name(name)
        found.append(
            classify(
                module=module,
                name=name,
                exit_code=code,
                original=functions[original],
                mutated=functions[mutated],
                equivalents=equivalents,
            )
        )
    return found


class Row(NamedTuple):
    """One module's line of the table: counts of its mutants by status and kind."""

    module: str
    mutants: int
    killed: int
    survived: int
    message: int
    equivalent: int
    not_run: int
    behaviour_survived: int

    @property
    def counted(self) -> int:
        """Mutants in the score: those that ran, less message-only and equivalent ones."""
        return self.mutants - self.not_run - self.message - self.equivalent

    @property
    def behaviour_killed(self) -> int:
        return self.counted - self.behaviour_survived

    @property
    def score(self) -> float | None:
        """Per cent of counted mutants killed; ``None`` when none counts."""
        return None if self.counted == 0 else 100.0 * self.behaviour_killed / self.counted


def summarise(module: str, mutants: Iterable[Mutant]) -> Row:
    """One module's row. Message-only and equivalent mutants are counted whatever their status;
    the score counts only the behaviour mutants that ran."""
    items = list(mutants)
    ran = [m for m in items if m.status is not Status.NOT_RUN]
    return Row(
        module=module,
        mutants=len(items),
        killed=sum(m.status is Status.KILLED for m in ran),
        survived=sum(m.status is Status.SURVIVED for m in ran),
        message=sum(m.kind is Kind.MESSAGE for m in ran),
        equivalent=sum(m.kind is Kind.EQUIVALENT for m in ran),
        not_run=len(items) - len(ran),
        behaviour_survived=sum(
            m.kind is Kind.BEHAVIOUR and m.status is Status.SURVIVED for m in ran
        ),
    )


def render_table(rows: Sequence[Row]) -> str:
    """The Markdown table printed by the report and recorded in ``docs/testing.md``."""
    lines = [
        "| module | mutants | killed | survived | message only | equivalent | score |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        score = "—" if row.score is None else f"{row.score:.1f} %"
        pending = f" ({row.not_run} not run)" if row.not_run else ""
        lines.append(
            f"| `{row.module}` | {row.mutants}{pending} | {row.killed} | {row.survived} | "
            f"{row.message} | {row.equivalent} | {score} |"
        )
    return "\n".join(lines)


def render_survivors(mutants: Iterable[Mutant]) -> str:
    """Each survivor: kind, module, function, identity, mutmut's name and the change."""
    blocks = []
    for m in mutants:
        if m.status is not Status.SURVIVED:
            continue
        head = f"[{m.kind}] {m.module} {m.function} {m.identity} ({m.name})"
        if m.reason:
            head += f"\n  reason: {m.reason}"
        blocks.append(
            head + "\n" + "\n".join(f"    {line}" for line in m.change.describe().splitlines())
        )
    return "\n".join(blocks)


def review_notes(
    mutants: Sequence[Mutant],
    equivalents: Mapping[tuple[str, str, str], Equivalent],
    *,
    complete: bool,
) -> list[str]:
    """Entries of the equivalent list to look at again: a listed mutant that a test killed
    (so it was not equivalent), and, when ``mutants`` are every mutant of the core
    (``complete``), a listed one that no longer exists (its code changed)."""
    notes = [
        f"Listed equivalent but killed, remove it: {m.module} {m.function} {m.identity}"
        for m in mutants
        if m.kind is Kind.EQUIVALENT and m.status is Status.KILLED
    ]
    if complete:
        seen = {(m.module, m.function, m.identity) for m in mutants}
        notes += [
            f"Listed equivalent but not generated any more: {module} {function} {identity}"
            for (module, function, identity) in equivalents
            if (module, function, identity) not in seen
        ]
    return notes


def core_modules(pyproject: Path) -> list[str]:
    """The safety-core source files: ``[tool.mutmut] only_mutate`` of ``pyproject.toml``."""
    config = tomllib.loads(pyproject.read_text("utf-8"))
    return [str(path) for path in config["tool"]["mutmut"]["only_mutate"]]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="exit 1 on a behaviour survivor")
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument(
        "--only", nargs="*", default=[], help="mutmut name patterns to report (default: all)"
    )
    args = parser.parse_args(argv)
    equivalents = load_equivalents(EQUIVALENT_FILE.read_text("utf-8"))
    rows: list[Row] = []
    everything: list[Mutant] = []
    for path in core_modules(args.root / "pyproject.toml"):
        found = [
            m
            for m in mutants_of(path, args.root, equivalents)
            if not args.only or any(fnmatch.fnmatchcase(m.name, p) for p in args.only)
        ]
        everything.extend(found)
        rows.append(summarise(path.removesuffix(".py").replace("/", "."), found))
    print(render_table(rows))
    survivors = render_survivors(everything)
    if survivors:
        print("\nSurviving mutants (`mutmut show NAME` shows one in full):")
        print(survivors)
    for note in review_notes(everything, equivalents, complete=not args.only):
        print(note)
    failing = [m for m in everything if m.kind is Kind.BEHAVIOUR and m.status is Status.SURVIVED]
    if args.check and failing:
        print(f"\n{len(failing)} behaviour-changing mutant(s) survived.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
