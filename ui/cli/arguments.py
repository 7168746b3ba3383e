"""Option values of the ``mar-desktop`` commands, checked while the command line is read.

A value that does not parse is refused by argparse (exit 2, its message on stderr) before any
command runs: before a database is created, before a password or authenticator code is asked
for. Pure functions; no I/O.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

from mar_desktop.clock import parse_utc
from mar_desktop.errors import ValidationError

T = TypeVar("T")


def add_data_dir(
    parser: argparse.ArgumentParser, default: str | None = argparse.SUPPRESS
) -> None:
    """``--data-dir`` on ``parser``. The top-level parser gives ``default=None``; a command's
    parser leaves the attribute unset unless the option follows the command, so
    ``mar-desktop --data-dir DIR verify`` and ``mar-desktop verify --data-dir DIR`` both use
    DIR (a command's own default would silently replace the one given before it)."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=default,
        help="folder holding the encrypted database (default: the platform's user data folder)",
    )


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number ≥ ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, not {value}")
        return value

    return parse


def checked(parse: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a parser of ours that raises ``ValidationError`` or
    ``ValueError``: the value is refused with that parser's own words."""

    def check(text: str) -> T:
        try:
            return parse(text)
        except (ValidationError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return check


def day(text: str) -> date:
    """``YYYY-MM-DD``. Raises ``ValidationError``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{text!r} is not a date (YYYY-MM-DD).") from None


def window_end(text: str) -> date | datetime:
    """A ``--from``/``--to`` value: a bare date (the facility's midnight, once the facility is
    known) or an aware time, as UTC. Raises ``ValidationError``."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else parse_utc(text)
    except ValueError:
        raise ValidationError(
            f"{text!r} is not a date (YYYY-MM-DD) or a time with a zone.") from None
