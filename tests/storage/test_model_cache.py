"""The read model's parsed-model cache stays bounded (memory budget,
docs/architecture.md#performance-budgets) and keeps the entries in use when many others pass
through it."""

from __future__ import annotations

from storage.read_model import ModelCache


def test_the_cache_never_holds_more_than_its_limit() -> None:
    cache = ModelCache(limit=100)
    for i in range(1_000):
        assert cache.get(("administration", i), lambda i=i: f"record {i}") == f"record {i}"
        assert len(cache) <= 100


def test_entries_in_use_survive_a_large_read_passing_through() -> None:
    cache = ModelCache(limit=100)
    built: list[int] = []

    def build(i: int) -> str:
        built.append(i)
        return f"record {i}"

    for i in range(10):
        cache.get(("hot", i), lambda i=i: build(i))
    for batch in range(25):  # 1,000 other records pass through, the bedside view between
        for i in range(batch * 40, batch * 40 + 40):  # fewer than limit // 2 at a time
            cache.get(("cold", i), lambda: "cold")
        for i in range(10):
            cache.get(("hot", i), lambda i=i: build(i))
    assert built == list(range(10))  # each hot entry parsed once


def test_a_hit_returns_the_same_object() -> None:
    cache = ModelCache()
    first = cache.get(("order", "o1", 1), lambda: ["parsed"])
    assert cache.get(("order", "o1", 1), lambda: ["again"]) is first
