"""The people services' world on a real store (defined in ``test_people_on_store.py``), shared
with the offline-limit tests."""

from tests.mar_desktop.people.test_people_on_store import world

__all__ = ["world"]
