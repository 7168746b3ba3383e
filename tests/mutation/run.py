"""Runs mutmut over the safety core, module by module, then prints the classified report.

``python -m tests.mutation.run`` (``make mutate``): every mutant of every module listed in
``[tool.mutmut] only_mutate`` of ``pyproject.toml``, re-run each time; results are kept in
``mutants/`` for the report. ``--module mar_desktop/permissions.py`` (repeatable) limits the
run to those modules.

``python -m tests.mutation.run --ci`` (the step in ``make test``): the fixed selection
``CI_SELECTION``, a few functions of each core module, re-run every time; exits 1 if one of its
mutants survives and is neither message-only nor listed equivalent.

mutmut's own output goes to ``mutants/mutmut-run.log``; a failing mutmut run prints its tail.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tests.mutation.report import ROOT, core_modules
from tests.mutation.report import main as report

# Functions whose mutants CI runs on every change (about 300 mutants, one or more functions of
# each core module): PRN limits, dose statuses and windows, product matching, the dose against
# the order, scope of practice, unit scope, the canonical fast path and the chain link. mutmut
# names a function ``x_name`` and a method ``xǁClassǁname``.
CI_SELECTION: tuple[str, ...] = (
    "mar_desktop.clinical.rules.x_check_prn_limits*",
    "mar_desktop.clinical.rules.x_prn_next_allowed_at*",
    "mar_desktop.clinical.schedule.x_deciding_record*",
    "mar_desktop.clinical.schedule.x_due_now_lookback*",
    "mar_desktop.clinical.windows.x_in_window*",
    "mar_desktop.clinical.windows.x_half_width_minutes*",
    "mar_desktop.clinical.barcodes.x_ndcs_match*",
    "mar_desktop.clinical.barcodes.x_scan_matches_order*",
    "mar_desktop.clinical.allergies.x__phrase*",
    "mar_desktop.clinical.reconcile.x_clock_skew*",
    "mar_desktop.clinical.dose.x_check_dose*",
    "mar_desktop.clinical.routes.x_same_route*",
    "mar_desktop.clinical.scope.x_check_scope*",
    "mar_desktop.permissions.x_allowed*",
    "mar_desktop.permissions.xǁPrincipalǁunit_scope*",
    "mar_desktop.canonical.x__plain_json*",
    "mar_desktop.envelope.x_signed_part*",
    "mar_desktop.envelope.x_chain_of*",
    "mar_desktop.chain.x_check_link*",
)

LOG = Path("mutants") / "mutmut-run.log"


def module_pattern(path: str) -> str:
    """mutmut's name pattern for every mutant of a source file: ``a/b.py`` -> ``a.b.*``."""
    return path.removesuffix(".py").replace("/", ".") + ".*"


def run_mutmut(root: Path, patterns: Sequence[str], *, max_children: int) -> None:
    """``mutmut run`` for the mutants matching ``patterns`` (re-run even if they have a
    result). Raises ``SystemExit`` if mutmut fails."""
    mutmut = Path(sys.executable).with_name("mutmut")
    command = [str(mutmut), "run", "--max-children", str(max_children), *patterns]
    log = root / LOG
    log.parent.mkdir(exist_ok=True)
    started = time.monotonic()
    with log.open("a", encoding="utf-8") as out:
        done = subprocess.run(command, cwd=root, stdout=out, stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - started
    print(f"mutmut run {' '.join(patterns)}: {seconds:.0f} s", flush=True)
    if done.returncode != 0:
        tail = log.read_text("utf-8", errors="replace").replace("\r", "\n").splitlines()[-40:]
        print("\n".join(tail), file=sys.stderr)
        raise SystemExit(f"mutmut exited with {done.returncode}; see {log}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mutation testing of the safety core.")
    parser.add_argument("--ci", action="store_true", help="the fixed selection; fail on survivors")
    parser.add_argument("--module", action="append", default=[], help="a source file to mutate")
    parser.add_argument("--max-children", type=int, default=2)
    args = parser.parse_args(argv)
    if args.ci:
        run_mutmut(ROOT, CI_SELECTION, max_children=args.max_children)
        return report(["--check", "--only", *CI_SELECTION])
    modules = args.module or core_modules(ROOT / "pyproject.toml")
    for path in modules:
        run_mutmut(ROOT, [module_pattern(path)], max_children=args.max_children)
    return report([])


if __name__ == "__main__":
    raise SystemExit(main())
