"""Benchmarks for the budgets of docs/architecture.md#performance-budgets (``make bench``).
Not collected as tests."""
