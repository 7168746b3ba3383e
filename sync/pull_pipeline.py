"""The pull's pipeline: fetch feed page N+2 and verify page N+1 while page N is stored.

- :class:`PagePrefetcher` fetches feed pages on its own thread (``mar-pull-fetch``), at most
  ``depth`` pages ahead, until a page says there is no more. It is the only user of the
  :class:`~sync.client.ServerClient` while it runs. A fetch error (SyncError, TransportRefused,
  DeviceRevoked…) is raised on the consuming thread by :meth:`PagePrefetcher.next_page`.
- :func:`checked_pages` hands each page's entries, in chunks, to a pool for
  :func:`sync.feed_verify.verify_chunk` (canonical envelope, facility, device, signature) one
  page ahead of the consumer, and yields each page with its verdicts in feed order. The pool is
  :func:`verifier_pool` (worker processes: both cores, outside this process's GIL) for a long
  pull, or :class:`InlineExecutor` for a short one.

Threads: the consumer is the engine's sync thread; :meth:`PagePrefetcher.close` stops the
fetch thread (it ends after an in-flight request returns or fails) and may be called from the
consumer at any time. Nothing here writes the database.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor
from typing import Any, TypeVar

from sync import protocol as p
from sync.client import ServerClient
from sync.feed_verify import Verdict, verify_chunk

log = logging.getLogger(__name__)
T = TypeVar("T")

CHUNK = 250
"""Entries per verification task (a page is split so both worker processes take part)."""

_Item = tuple[str, p.FeedPage | BaseException | None]


class PagePrefetcher:
    """Fetches feed pages after ``after`` ahead of the consumer (see module doc)."""

    def __init__(self, client: ServerClient, after: int, page_size: int, depth: int = 2) -> None:
        self._client = client
        self._after = after
        self._page_size = page_size
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="mar-pull-fetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        after = self._after
        try:
            while not self._stop.is_set():
                page = self._client.feed(after, self._page_size)
                self._put(("page", page))
                if not page.items or not page.more:
                    break
                after = page.next
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(("error", exc))
        finally:
            self._put(("end", None))

    def _put(self, item: _Item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def next_page(self) -> p.FeedPage | None:
        """The next page, or None after the last; raises the fetch thread's error."""
        if self._done:
            return None
        kind, value = self._queue.get()
        if kind == "page":
            assert isinstance(value, p.FeedPage)
            return value
        self._done = True
        if isinstance(value, BaseException):
            raise value
        return None

    def close(self, timeout: float = 10.0) -> None:
        """Stops fetching and waits (up to ``timeout``) for the fetch thread to end."""
        self._stop.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout)


class InlineExecutor(Executor):
    """Runs each task at once on the calling thread (a short pull: no pool to start)."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed over like a pool would
            future.set_exception(exc)
        return future


def verifier_pool(workers: int) -> Executor:
    """A process pool for :func:`sync.feed_verify.verify_chunk` (forkserver where available:
    never a fork of this multi-threaded process), or inline checking if none can start."""
    methods = multiprocessing.get_all_start_methods()
    method = "forkserver" if "forkserver" in methods else "spawn"
    context = multiprocessing.get_context(method)
    if method == "forkserver":
        context.set_forkserver_preload(["sync.feed_verify"])
    try:
        return ProcessPoolExecutor(max_workers=workers, mp_context=context)
    except (OSError, ValueError, NotImplementedError):
        log.warning("no verifier processes could start; checking on the sync thread")
        return InlineExecutor()


Judged = tuple[int, bytes, Verdict]
"""(feed position, raw bytes, verdict of :func:`sync.feed_verify.verify_chunk`)."""


def checked_pages(
    pages: PagePrefetcher,
    pool_for: Callable[[p.FeedPage], Executor],
    keys: Mapping[str, bytes],
    facility_id: str,
) -> Iterator[tuple[p.FeedPage, list[Judged]]]:
    """Yields (page, its entries judged, in feed order), judging one page ahead on the pool
    ``pool_for`` gives for that page. If the pool breaks (a worker process died or could not
    start, e.g. in a frozen build), the pages are judged inline from then on: same checks."""
    ahead: deque[tuple[p.FeedPage, list[bytes], list[Future[list[Verdict]]]]] = deque()
    inline = InlineExecutor()
    broken = False
    try:
        while True:
            page = pages.next_page()
            if page is not None:
                raws = [item.entry.encode("utf-8") for item in page.items]
                pool = inline if broken else pool_for(page)
                futures = [
                    pool.submit(verify_chunk, raws[i : i + CHUNK], keys, facility_id)
                    for i in range(0, len(raws), CHUNK)
                ]
                ahead.append((page, raws, futures))
            if not ahead:
                return
            if page is not None and len(ahead) < 2:
                continue
            done, raws, futures = ahead.popleft()
            try:
                verdicts = [v for future in futures for v in future.result()]
            except BrokenExecutor:
                if not broken:
                    log.warning("verifier processes failed; checking on the sync thread")
                broken = True
                verdicts = verify_chunk(raws, keys, facility_id)
            yield (
                done,
                [
                    (item.pos, raw, verdict)
                    for item, raw, verdict in zip(done.items, raws, verdicts, strict=True)
                ],
            )
    finally:
        for _, _, futures in ahead:
            for future in futures:
                future.cancel()
