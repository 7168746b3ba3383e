"""``mar-desktop facility-keys --out FILE``: the facility's device public keys, for a surveyor.

Writes the device keys this tablet holds (its own and every device the server announced) as
JSON ``{"facility_id": ..., "devices": [{"device_id", "public_key"}, ...]}``, the file
``mar-desktop check-export --facility-keys FILE`` checks an export's signer against. Public
keys only: no PHI, no secret. Refuses to overwrite a file (exit 2). Writes nothing else.
"""

from __future__ import annotations

import argparse

from mar_desktop.canonical import canonical_bytes
from mar_desktop.errors import ValidationError
from mar_desktop.private_files import write_private
from storage.sync_state import SyncState
from ui.cli.store import open_store


def run(args: argparse.Namespace) -> int:
    if args.out.exists():
        raise ValidationError(f"{args.out} already exists; choose a new file.")
    with open_store(args.data_dir) as store:
        state = SyncState(store.connect_reader)
        try:
            keys = state.device_keys()
        finally:
            state.close()
        facility_id = store.facility_id
    devices = [{"device_id": d, "public_key": k} for d, k in sorted(keys.items())]
    write_private(args.out, canonical_bytes({"facility_id": facility_id, "devices": devices}))
    print(f"Wrote {len(devices)} device keys of facility {facility_id} to {args.out}.")
    return 0
