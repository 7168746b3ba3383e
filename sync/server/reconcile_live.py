"""Clinical reconciliation after a push, once its receipt is sent, with a read barrier.

A push is acknowledged once its entries are verified and committed (docs/architecture.md#push);
checking them against the facility's history (:class:`~sync.server.reconciliation.Reconciler`) is
derived work that used to run before the receipt went out — about a fifth of a 1000-entry push. The
push endpoint now calls :meth:`LiveReconciliation.begin` (cheap: takes a ticket) and runs
:meth:`LiveReconciliation.run` as the response's background task, which the ASGI server runs after
the receipt is on the wire: the reconciliation of one batch overlaps the tablet reading the receipt
and sending — and the server verifying — the next one.

Nothing is lost or seen early: the alerts are the same ``alert.raised`` entries, raised by the
same code from the same feed. :meth:`LiveReconciliation.settle` is the read barrier: the
endpoints a device reads alerts or server entries through (cursor, feed, alerts) call it first.
If a push of the facility has been acknowledged but not yet reconciled, it does (or waits for)
that catch-up itself, so a read made after a push's receipt always sees that push's alerts, as
before — even if the background task never ran (a client that hung up). While a facility's
index is first being rebuilt from the whole feed (the first push after a start, tens of seconds
for a large facility) there is nothing to wait for and reads are not held up, as before.

Several server processes: each keeps its own index, derived from the shared feed, so a read
through one process of a push another process took also waits for that push's alerts: the
barrier compares the facility's feed head with what this process has looked at. Clock skew is
judged by the process that received the push (it knows the receive time); the alert itself is
raised once whichever process gets there first (``alert_keys``, :mod:`.reconciliation`).

Threads: any request thread. Never raises; failures are logged (without PHI) and retried on
the next push or read.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import datetime

from sync.server.checker import DoseBody
from sync.server.reconciliation import Reconciler


class LiveReconciliation:
    """See the module docstring. One per app (``app.state.live_reconciliation``)."""

    def __init__(self, reconciler: Reconciler) -> None:
        self._reconciler = reconciler
        self._guard = threading.Lock()
        self._issued: dict[str, int] = {}
        self._done: dict[str, int] = {}
        self._running: set[str] = set()
        self._again: set[str] = set()

    def begin(
        self,
        facility_id: str,
        received_at: datetime | None,
        doses: Mapping[str, DoseBody] | None = None,
    ) -> int:
        """Records that a push of the facility committed new entries (received at
        ``received_at``, for the clock-skew rule; ``doses``: what its check read from their
        administration bodies, by digest); returns the ticket to :meth:`run`."""
        self._reconciler.remember_checked(doses or {})
        self._reconciler.note_received(facility_id, received_at)
        with self._guard:
            ticket = self._issued[facility_id] = self._issued.get(facility_id, 0) + 1
        return ticket

    def run(self, facility_id: str, ticket: int) -> None:
        """Reconciles everything committed before ``ticket`` was taken (background task).

        At most one call per facility works (or waits for the index) at a time: one that finds
        another at work asks it to go round once more and returns, so a burst of pushes never
        parks more than one server worker thread per facility here."""
        with self._guard:
            if facility_id in self._running:
                self._again.add(facility_id)
                return
            self._running.add(facility_id)
        try:
            while True:
                with self._guard:
                    self._again.discard(facility_id)
                    covered = self._issued.get(facility_id, ticket)
                self._reconciler.catch_up_waiting(facility_id)
                with self._guard:
                    self._done[facility_id] = max(self._done.get(facility_id, 0), covered)
                    if facility_id not in self._again:  # decided under the guard: none lost
                        self._running.discard(facility_id)
                        return
        except BaseException:
            with self._guard:
                self._running.discard(facility_id)
            raise

    def settle(self, facility_id: str) -> None:
        """Returns once every push acknowledged before this call has been reconciled: the
        pushes this process took and, through :meth:`Reconciler.behind` (one indexed query),
        those another process took, whose entries are already in the feed."""
        with self._guard:
            target = self._issued.get(facility_id, 0)
            mine_done = self._done.get(facility_id, 0) >= target
        if mine_done and not self._reconciler.behind(facility_id):
            return
        if not self._reconciler.built(facility_id):
            return  # the first rebuild is still reading the feed: nothing to wait for yet
        self._reconciler.catch_up_waiting(facility_id)  # does the work, or waits for it
        with self._guard:
            self._done[facility_id] = max(self._done.get(facility_id, 0), target)
