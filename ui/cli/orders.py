"""``mar-desktop orders pending|verify|return``: order verification from the command line.

Signs the person in first (:mod:`ui.cli.session`), then goes through
:class:`~mar_desktop.services.verification.VerificationService` (permission, unit scope, never
the author, audited). ``pending`` prints each item awaiting verification with the source's
values beside ours (``*`` marks a difference); ``verify ENTRY`` and ``return ENTRY --reason``
act on one item by the id ``pending`` prints and say whether the decision is signed by the
person's own key (see :mod:`mar_desktop.clinical.decision_signature`). Exit 0 on success.
"""

from __future__ import annotations

import argparse

from mar_desktop.services.verification import VerificationService
from ui.cli.session import SignedIn, signed_in


def run(args: argparse.Namespace) -> int:
    with signed_in(args.data_dir, args.user) as session:
        service = VerificationService(
            session.ports, user_key=session.user_key, held_keys=session.held_keys
        )
        if args.action == "verify":
            decided = service.verify(session.principal, args.entry, args.note or "")
            print(f"Verified {args.entry}. {_signed(service, session, decided.id)}")
            return 0
        if args.action == "return":
            decided = service.return_order(session.principal, args.entry, args.reason or "")
            print(f"Returned {args.entry}. {_signed(service, session, decided.id)}")
            return 0
        items = service.pending(session.principal)
    for item in items:
        order = item.pending.state.order
        print(f"{item.target_entry_id}  {item.what}: {order.drug} for room {item.resident.room}"
              f" (entered by {item.author_name})")
        if item.pending.reason:
            print(f"    reason: {item.pending.reason}")
        for row in item.rows:
            if row.source or row.transcribed:
                mark = "*" if row.differs else " "
                print(f"  {mark} {row.field:<20} source: {row.source:<30} ours: {row.transcribed}")
        if not item.may_verify:
            print(f"    {item.why_not}")
    print(f"{len(items)} awaiting verification.")
    return 0


def _signed(service: VerificationService, session: SignedIn, decision_entry_id: str) -> str:
    """How the stored decision is signed, in words ("Signed by <name>'s own key" only when
    the signature checks)."""
    return service.decision_signature(session.principal, decision_entry_id).words + "."
