"""``mar-desktop check-export FOLDER``: checks a surveyor export's files against its manifest.

No sign-in and no database: the manifest's signature (by one of the ``--trusted-key`` device
keys, when given) and every file's digest. Prints the check's summary; exit 0 when everything
matches, 5 otherwise.
"""

from __future__ import annotations

import argparse

from mar_desktop.reports.export import check_export


def run(args: argparse.Namespace) -> int:
    result = check_export(args.folder, trusted_keys=args.trusted_key)
    print(result.summary())
    return 0 if result.ok else 5
