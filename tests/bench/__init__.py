"""Benchmarks for the DESIGN §6 budgets (``make bench``). Not collected as tests."""
