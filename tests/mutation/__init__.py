"""Mutation testing of the safety core: the runner, the report and the equivalent list."""
