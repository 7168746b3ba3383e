"""``mar-desktop check-export FOLDER``: checks a surveyor export's (or an access report's)
files against its manifest.

No sign-in and no database: every file's digest, the manifest's signature, and whether that
signature is by one of the facility's device keys (``--facility-keys FILE``, the file
``mar-desktop facility-keys`` writes, and/or ``--trusted-key HEX``). Prints the check's summary.
Exit 0 when everything matches and the signer is one of the facility's keys; 5 when a file or
the manifest does not match (or the signer is not among the keys given); 6 when the export is
intact but no facility key was given, so who signed it was not checked.
"""

from __future__ import annotations

import argparse

from mar_desktop.reports.export import check_export, load_facility_keys

UNCHECKED_ORIGIN = 6


def run(args: argparse.Namespace) -> int:
    keys: list[str] | None = None
    if args.trusted_key or args.facility_keys:
        keys = list(args.trusted_key or [])
        for path in args.facility_keys or []:
            keys += load_facility_keys(path)
    result = check_export(args.folder, trusted_keys=keys)
    print(result.summary())
    if not result.ok:
        return 5
    return 0 if result.trusted_origin else UNCHECKED_ORIGIN
