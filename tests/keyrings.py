"""In-memory keyring backends for tests and benchmark child processes.

No pytest here: the memory benchmark's child imports this, and importing ``tests.conftest``
would load pytest (~15 MB) into the process being measured."""

from __future__ import annotations

from keyring.backend import KeyringBackend


class MemoryKeyring(KeyringBackend):
    """An in-memory keyring backend for tests. Honest about its priority: it is not secure."""

    priority = 0.1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


class SecureMemoryKeyring(MemoryKeyring):
    """The same, claiming the priority of an OS keyring (to test the secure path)."""

    priority = 5  # type: ignore[assignment]
